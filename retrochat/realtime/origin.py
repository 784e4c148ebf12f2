"""The security edge of the realtime endpoints: Origin check and CORS headers.

A browser request (WebSocket handshake or polling request) whose ``Origin`` is not in
``settings.TRUSTED_ORIGINS`` (the frontend allow-list plus the backend's own origin) is refused
before anything else is looked at. Requests without ``Origin`` come from non-browser clients and
are allowed (they still need a valid session at CONNECT). Polling responses echo the exact
origin with credentials, never ``*``. In conformance mode every origin is allowed.
"""

from __future__ import annotations

from django.conf import settings

from retrochat.realtime.limits import conformance_mode


def origin_allowed(origin: str | None) -> bool:
    if origin is None:
        return True
    if conformance_mode():
        return True
    return origin.rstrip("/") in settings.TRUSTED_ORIGINS


def cors_headers(origin: str | None) -> list[tuple[bytes, bytes]]:
    """Headers for a polling response to an allowed request."""
    if origin is None:
        return []
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),
        (b"vary", b"Origin"),
    ]


def preflight_headers(origin: str | None, requested_headers: str | None) -> list[tuple[bytes, bytes]]:
    """Headers for the answer to an OPTIONS preflight."""
    headers = cors_headers(origin)
    headers.append((b"access-control-allow-methods", b"GET, POST, OPTIONS"))
    headers.append((b"access-control-allow-headers", (requested_headers or "content-type").encode("latin-1")))
    headers.append((b"access-control-max-age", b"600"))
    return headers
