"""1C calls the site's exchange at a URL set in 1C; both spellings shops use are served."""
from django.urls import path

from . import views

urlpatterns = [
    path("1c/exchange/", views.exchange, name="onec_exchange"),
    path("1c/exchange", views.exchange),  # typed without the slash: a redirect would lose 1C's POST body
    path("bitrix/admin/1c_exchange.php", views.exchange),  # the 1C-Bitrix URL 1C's settings often hold
]
