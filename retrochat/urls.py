"""URL map: the REST API under /api/, the admin, health and metrics endpoints and (optionally) media."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path

import aifriend.api
import chat.api
import chat.auth_views
import groups.api
from retrochat import health
from retrochat.api import api, not_found
from retrochat.observability.views import metrics_view

api.add_router("", chat.api.router)
api.add_router("", groups.api.router)
api.add_router("", aifriend.api.router)

urlpatterns: list[URLPattern | URLResolver] = [
    path("", health.index, name="index"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    # Better-auth's endpoints speak their own error dialect; they must come before the REST API.
    path("api/auth/", include(chat.auth_views.urlpatterns)),
    path("api/", api.urls),
    # Unknown /api paths answer JSON like the rest of the API (NestJS: "Cannot GET /api/x").
    re_path(r"^api/", not_found),
    path("admin/", admin.site.urls),
]

if settings.SERVE_MEDIA:
    from django.http import HttpRequest, HttpResponseBase
    from django.views.static import serve

    def media(request: HttpRequest, path: str) -> HttpResponseBase:
        """Uploaded files (profile pictures) from MEDIA_ROOT, read at request time."""
        return serve(request, path, document_root=str(settings.MEDIA_ROOT))

    def static_files(request: HttpRequest, path: str) -> HttpResponseBase:
        """The admin's CSS/JS after `collectstatic` (the Docker image runs it)."""
        return serve(request, path, document_root=str(settings.STATIC_ROOT))

    urlpatterns.append(path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", media, name="media"))
    if not settings.DEBUG:
        urlpatterns.append(path(f"{settings.STATIC_URL.strip('/')}/<path:path>", static_files, name="static"))

if settings.DEBUG:
    # The admin's CSS/JS under daphne in development (production: collectstatic + a web server/CDN).
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
