"""URL map: the REST API under /api/, the admin, health endpoints and (optionally) media."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, path

import aifriend.api
import chat.api
import groups.api
from retrochat.api import api

api.add_router("", chat.api.router)
api.add_router("", groups.api.router)
api.add_router("", aifriend.api.router)

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]

if settings.SERVE_MEDIA:
    from django.views.static import serve

    urlpatterns.append(
        path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})
    )
