import re

from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from django.views.static import serve


def media(request, path):
    """MEDIA_URL served by Django where ``SERVE_MEDIA`` is on (dev); production serves media elsewhere."""
    if not settings.SERVE_MEDIA:
        raise Http404
    return serve(request, path, document_root=settings.MEDIA_ROOT)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("apps.onec_exchange.urls")),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
if settings.MEDIA_URL.startswith("/") and not settings.MEDIA_URL.startswith("//"):  # not a CDN's URL
    urlpatterns.append(re_path(rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.*)$", media))
