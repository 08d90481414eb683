from django.apps import AppConfig


class OnecExchangeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.onec_exchange"
    verbose_name = "Обмен с 1С"
