"""WebSocket transport, as a Channels consumer.

A WebSocket without ``sid`` opens a new Engine.IO session; one with the sid of a polling session
is an upgrade probe (see `session.EngineSession.attach_probe`); one with any other sid is
refused. Bad queries and foreign origins are refused before the handshake completes (HTTP 403).

Frames are handed to the session synchronously (no await), so a ``5`` is applied before any HTTP
request that arrives after it. Writes go through `WsLink`, a small ordered outbox drained by one
short-lived task, so any code may send without awaiting and frames keep their order.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from channels.exceptions import StopConsumer

from retrochat.realtime import limits as limits_module
from retrochat.realtime.origin import origin_allowed
from retrochat.realtime.session import EngineApp, EngineSession, HandshakeError, lookup
from retrochat.realtime.transports.common import DirectConsumer, check_query, handshake_from_scope, log_refusal

logger = logging.getLogger("retrochat.realtime")

Send = Any


class _Close:
    __slots__ = ("code",)

    def __init__(self, code: int) -> None:
        self.code = code


class WsLink:
    """One accepted WebSocket as the session writes to it.

    Close codes: the server (autobahn under daphne) only lets an application send 1000 or
    3000-4999, so every server-side close of an accepted WebSocket uses 1000.
    """

    __slots__ = ("_out", "_send", "_writer", "closing", "gone")

    def __init__(self, send: Send) -> None:
        self._send = send
        self._out: deque[str | bytes | _Close] = deque()
        self._writer: asyncio.Task[None] | None = None
        self.closing = False
        self.gone = False

    def write(self, frame: str | bytes) -> None:
        if self.closing or self.gone:
            return
        self._out.append(frame)
        self._kick()

    def close(self, code: int = 1000) -> None:
        if self.closing or self.gone:
            return
        self.closing = True
        self._out.append(_Close(code))
        self._kick()

    def _kick(self) -> None:
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain(), name="websocket writer")

    async def _drain(self) -> None:
        try:
            while self._out and not self.gone:
                item = self._out.popleft()
                if isinstance(item, _Close):
                    self._out.clear()
                    await self._send({"type": "websocket.close", "code": item.code})
                elif isinstance(item, str):
                    await self._send({"type": "websocket.send", "text": item})
                else:
                    await self._send({"type": "websocket.send", "bytes": item})
        except Exception:
            logger.debug("websocket write failed", exc_info=True)
            self.gone = True
        finally:
            self._writer = None
            if self.gone:
                self._out.clear()


class WebSocketConsumer(DirectConsumer):
    def __init__(self, *, app: EngineApp) -> None:
        self.app = app
        self.session: EngineSession | None = None
        self.link: WsLink | None = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "websocket.receive":
            self.receive(message)
        elif kind == "websocket.connect":
            await self.connect()
        elif kind == "websocket.disconnect":
            self.disconnected()
            raise StopConsumer

    async def connect(self) -> None:
        handshake = handshake_from_scope(self.scope)
        if not origin_allowed(handshake.origin):
            log_refusal(f"origin {handshake.origin} is not allowed", handshake)
            await self.send({"type": "websocket.close", "code": 1008})
            return
        try:
            transport = check_query(handshake.query)
        except HandshakeError as error:
            log_refusal(error, handshake)
            await self.send({"type": "websocket.close", "code": 1008})
            return
        if transport != "websocket":
            log_refusal("Bad request", handshake)
            await self.send({"type": "websocket.close", "code": 1008})
            return
        sid = handshake.query.get("sid")
        if sid:
            session = lookup(sid)
            if session is None:
                log_refusal("Session ID unknown", handshake)
                await self.send({"type": "websocket.close", "code": 1008})
                return
            await self.send({"type": "websocket.accept"})
            self.link = WsLink(self.base_send)
            if session.attach_probe(self.link):
                self.session = session
            else:
                self.link.close(1000)
            return
        await self.send({"type": "websocket.accept"})
        self.link = WsLink(self.base_send)
        self.session = EngineSession(
            app=self.app, limits=limits_module.current(), handshake=handshake, transport="websocket"
        )
        self.session.open(ws=self.link)

    def receive(self, message: dict[str, Any]) -> None:
        if self.session is None or self.link is None:
            return
        text = message.get("text")
        frame: str | bytes = text if text is not None else (message.get("bytes") or b"")
        self.session.frame(self.link, frame)

    def disconnected(self) -> None:
        if self.link is not None:
            self.link.gone = True
            if self.session is not None:
                self.session.link_closed(self.link)
