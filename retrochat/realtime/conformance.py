"""Conformance mode: the behaviour the official Engine.IO / Socket.IO test suites expect.

Enabled by ``REALTIME_CONFORMANCE=1`` (``manage.py runserver_conformance`` sets it). It serves

- ``/engine.io/``: a bare Engine.IO endpoint that sends every MESSAGE straight back to the same
  session (text as text, binary as binary);
- ``/socket.io/``: namespaces ``/`` and ``/custom``; on connection each emits ``auth`` with the
  client's CONNECT payload (or ``{}``); in ``/``, ``message`` is answered with ``message-back``
  carrying the same arguments and ``message-with-ack`` is acknowledged with the same arguments.

Heartbeat 300 ms / 200 ms, 1 MB payloads, CORS open to any origin, no authentication and no
RetroChat handlers (see `limits.CONFORMANCE_OVERRIDES` and `origin`).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from retrochat.realtime.router import EventRouter
from retrochat.realtime.session import EngineSession
from retrochat.realtime.types import Socket


class EchoApp:
    """The ``/engine.io/`` endpoint: every message goes back to its sender."""

    def on_open(self, session: EngineSession) -> None:
        return None

    def on_message(self, session: EngineSession, data: str | bytes) -> Awaitable[Any] | None:
        session.send_message(data)
        return None

    def on_close(self, session: EngineSession, reason: str) -> None:
        return None


def _router(namespace: str, *, echo: bool) -> EventRouter:
    router = EventRouter(namespace)

    @router.on_connect
    async def send_auth(socket: Socket, auth: Any) -> None:
        await socket.emit("auth", auth if auth is not None else {})

    if echo:

        @router.on("message", rate_limited=False)
        async def message(socket: Socket, *args: Any) -> None:
            await socket.emit("message-back", *args)

        @router.on("message-with-ack", rate_limited=False)
        async def message_with_ack(socket: Socket, *args: Any) -> tuple[Any, ...]:
            return args

    return router


def conformance_namespaces() -> dict[str, EventRouter]:
    return {"/": _router("/", echo=True), "/custom": _router("/custom", echo=False)}
