from django.contrib.admin.apps import AdminConfig


class FreeSportAdminConfig(AdminConfig):
    """``django.contrib.admin`` with the project's site (``freesport.admin.FreeSportAdminSite``)."""

    default_site = "freesport.admin.FreeSportAdminSite"
