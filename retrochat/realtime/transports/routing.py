"""ASGI routing: the realtime endpoints to the transports, everything else to Django."""

from __future__ import annotations

from typing import Any

from retrochat.realtime.limits import conformance_mode
from retrochat.realtime.session import EngineApp
from retrochat.realtime.transports.polling import PollingConsumer
from retrochat.realtime.transports.websocket import WebSocketConsumer

SOCKETIO_PATHS = frozenset({"/socket.io/", "/socket.io"})
ENGINEIO_PATHS = frozenset({"/engine.io/", "/engine.io"})

Scope = dict[str, Any]
ASGIApp = Any

_echo: EngineApp | None = None


def engine_app_for(path: str) -> EngineApp | None:
    """The Engine.IO application served at ``path``, if any."""
    global _echo
    if path in SOCKETIO_PATHS:
        from retrochat.realtime.server import get_server

        return get_server()
    if path in ENGINEIO_PATHS and conformance_mode():
        if _echo is None:
            from retrochat.realtime.conformance import EchoApp

            _echo = EchoApp()
        return _echo
    return None


class RealtimeHttp:
    """HTTP: long-polling for the realtime paths, Django for the rest."""

    def __init__(self, django_app: ASGIApp) -> None:
        self.django_app = django_app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        app = engine_app_for(scope.get("path", ""))
        if app is None:
            await self.django_app(scope, receive, send)
            return
        await PollingConsumer(app=app)(scope, receive, send)


class RealtimeWebSocket:
    """WebSocket: the realtime paths only; anything else is refused."""

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        app = engine_app_for(scope.get("path", ""))
        if app is None:
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 1008})
            return
        await WebSocketConsumer(app=app)(scope, receive, send)
