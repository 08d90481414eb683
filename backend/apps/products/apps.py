from django.apps import AppConfig


class ProductsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.products"
    verbose_name = "Каталог"

    def ready(self):
        from . import checks  # noqa: F401  (registers the deploy check of the lock's Redis)
