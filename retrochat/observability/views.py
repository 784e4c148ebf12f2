"""``GET /metrics``: the Prometheus text exposition of every worker sharing the metrics directory.

Access: with ``METRICS_TOKEN`` set, only requests with ``Authorization: Bearer <token>`` (401
otherwise); without it, only clients on the loopback interface (403 otherwise — behind a proxy,
daphne's ``--proxy-headers`` makes the client address the real one, so the proxy does not open
it up). ``METRICS_ENABLED=0`` answers 404.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from retrochat.observability import metrics


def _loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address((address or "").strip("[]")).is_loopback
    except ValueError:
        return False


def _bearer(request: HttpRequest) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _plain(status: int, text: str) -> HttpResponse:
    response = HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_ENABLED:
        return _plain(404, "Not Found")
    token: str = settings.METRICS_TOKEN
    if token:
        if not hmac.compare_digest(_bearer(request).encode(), token.encode()):
            response = _plain(401, "Unauthorized")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    elif not _loopback(request.META.get("REMOTE_ADDR")):
        return _plain(403, "Forbidden: set METRICS_TOKEN to scrape from another host")
    body, content_type = metrics.render()
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
