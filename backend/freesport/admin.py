"""The project's admin site: Django's, with the import section first and the import card on the index.

``ImportSession`` belongs to the ``products`` app, but administrators come to the admin for imports:
``get_app_list`` gives it a section of its own ("Импорт") at the top of the menu and the
dashboard, linking straight to the sessions list. Installed through ``FreeSportAdminConfig``
(``freesport/apps.py``), so ``admin.site`` and ``@admin.register`` are this site.
"""
from __future__ import annotations

from django.contrib import admin

IMPORT_SECTION = {"name": "Импорт", "app_label": "imports"}  # the label is the menu icon's key


class FreeSportAdminSite(admin.AdminSite):
    site_header = site_title = "FreeSport"
    index_title = "Панель управления"

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        if app_label is not None:
            return app_list
        from apps.products.models import ImportSession

        section = None
        for app in app_list:
            for model in app["models"]:
                if model["model"] is ImportSession:
                    app["models"].remove(model)
                    section = {**IMPORT_SECTION, "app_url": model["admin_url"], "has_module_perms": True,
                               "models": [model]}
                    break
        app_list = [app for app in app_list if app["models"]]
        return [section, *app_list] if section else app_list

    def index(self, request, extra_context=None):
        from apps.products.dashboard import import_card_context

        return super().index(request, {**import_card_context(request), **(extra_context or {})})
