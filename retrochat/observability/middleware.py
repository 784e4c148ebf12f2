"""Request id, HTTP metrics and one access line per HTTP request served by Django.

The request id is the incoming ``X-Request-ID`` header when it looks like one (a proxy's id,
letters, digits, ``.-_:``, at most 64 characters), else a new random one; it is echoed in the
response's ``X-Request-ID`` and carried by every log line written while the request is served.
The access line (logger ``retrochat.http``) has method, path (never the query string), status,
duration and the user id when the request was authenticated; health and metrics probes are
logged at DEBUG only. The ``route`` label of the metrics is the URL pattern, so ids in paths do
not multiply the series.

Long-polling and WebSocket traffic (``/socket.io/``) never reaches Django: the realtime metrics
cover it.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from contextvars import Token
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from retrochat.observability import context, metrics

logger = logging.getLogger("retrochat.http")

_INCOMING_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/"})

GetResponse = Callable[[HttpRequest], Any]


def _request_id(request: HttpRequest) -> str:
    incoming = request.headers.get("X-Request-ID", "")
    return incoming if _INCOMING_ID.match(incoming) else secrets.token_hex(8)


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return "/" + str(match.route or match.view_name or "unmatched").lstrip("^").rstrip("$")


def _user_id(request: HttpRequest) -> str | None:
    """The user of an API request (django-ninja's ``request.auth``), or the bound one."""
    auth = getattr(request, "auth", None)
    user = getattr(auth, "user", None)
    uid = getattr(user, "pk", None)
    return str(uid) if uid is not None else context.user_id.get()


class RequestMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self._acall(request)
        tokens, started = self._begin(request)
        try:
            response: HttpResponseBase = self.get_response(request)
            self._end(request, response, started)
            return response
        finally:
            self._reset(tokens)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        tokens, started = self._begin(request)
        try:
            response: HttpResponseBase = await self.get_response(request)
            self._end(request, response, started)
            return response
        finally:
            self._reset(tokens)

    @staticmethod
    def _begin(request: HttpRequest) -> tuple[tuple[Token[str | None], Token[str | None]], float]:
        rid = _request_id(request)
        request.request_id = rid  # type: ignore[attr-defined]
        return (context.request_id.set(rid), context.user_id.set(None)), time.perf_counter()

    @staticmethod
    def _reset(tokens: tuple[Token[str | None], Token[str | None]]) -> None:
        context.request_id.reset(tokens[0])
        context.user_id.reset(tokens[1])

    @staticmethod
    def _end(request: HttpRequest, response: HttpResponseBase, started: float) -> None:
        seconds = time.perf_counter() - started
        method = request.method or "GET"
        metrics.http_request(method, _route(request), response.status_code, seconds)
        response["X-Request-ID"] = getattr(request, "request_id", "")
        uid = _user_id(request)
        if uid:
            context.user_id.set(uid)
        level = logging.DEBUG if request.path in _QUIET_PATHS else logging.INFO
        if logger.isEnabledFor(level):
            duration_ms = round(seconds * 1000, 1)
            logger.log(
                level,
                "%s %s %d %.1fms",
                method,
                request.path,
                response.status_code,
                duration_ms,
                extra={
                    "fields": {
                        "method": method,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": duration_ms,
                    }
                },
            )
