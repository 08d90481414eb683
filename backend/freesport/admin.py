"""The project's admin site: Django's, with the import section first and the import card on the index.

``ImportSession`` belongs to the ``products`` app and the 1C exchanges to ``onec_exchange``, but
administrators come to the admin for imports: ``get_app_list`` gathers them in a section of their
own ("Импорт") at the top of the menu and the dashboard, linking straight to the sessions list. Installed through ``FreeSportAdminConfig``
(``freesport/apps.py``), so ``admin.site`` and ``@admin.register`` are this site.
"""
from __future__ import annotations

from django.contrib import admin

IMPORT_SECTION = {"name": "Импорт", "app_label": "imports"}  # the label is the menu icon's key
IMPORT_SECTION_MODELS = ("products.importsession", "onec_exchange.exchange")  # in this order


class FreeSportAdminSite(admin.AdminSite):
    site_header = site_title = "FreeSport"
    index_title = "Панель управления"

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        if app_label is not None:
            return app_list
        found = {}
        for app in app_list:
            for model in list(app["models"]):
                label = model["model"]._meta.label_lower
                if label in IMPORT_SECTION_MODELS:
                    app["models"].remove(model)
                    found[label] = model
        app_list = [app for app in app_list if app["models"]]
        if not found:
            return app_list
        models = [found[label] for label in IMPORT_SECTION_MODELS if label in found]
        return [{**IMPORT_SECTION, "app_url": models[0]["admin_url"], "has_module_perms": True, "models": models},
                *app_list]

    def index(self, request, extra_context=None):
        from apps.products.dashboard import import_card_context

        return super().index(request, {**import_card_context(request), **(extra_context or {})})
