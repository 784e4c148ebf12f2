"""Engine.IO v4 sessions: one per client connection, outliving its transports.

A session owns its sid, its outbound queue, its heartbeat and the application state on top of it
(the Socket.IO connection, or the echo endpoint of conformance mode). Transports only *attach*:

- long-polling: each GET takes everything queued (or waits for it), each POST hands packets in;
- WebSocket: frames are written as soon as they are sent;
- upgrade: a WebSocket opened with the sid of a polling session is a *probe* until the client
  sends ``5``; from then on it is the transport and the queue is flushed onto it, in order.

Heartbeat: the server pings every ``pingInterval`` and expects the pong within ``pingTimeout``.
Deadlines are computed from the *scheduled* ping time, so they are exact: `lookup` (run before
every HTTP request is served) finds a session whose pong is overdue dead at that instant, even
if the timer that would close it has not fired yet.

Everything here runs on the event loop thread and never awaits while changing state, so a frame
handled by the WebSocket consumer is fully applied before any later HTTP request for the same sid
is looked at (this is what makes the upgrade race-free).

Sids start with the id of the worker process that owns the session (`WORKER_ID`, 6 characters),
so a load balancer or a peer worker can tell where a polling request belongs (see
docs/PROTOCOL.md, "Several workers").
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import string
from collections.abc import Awaitable
from enum import Enum
from typing import Any, Protocol

from retrochat.observability import metrics
from retrochat.observability.context import connection_id
from retrochat.realtime.eio import (
    CodecError,
    EioPacket,
    EioType,
    decode_packet,
    encode_packet,
    open_packet,
)
from retrochat.realtime.limits import Limits
from retrochat.realtime.types import Handshake

logger = logging.getLogger("retrochat.realtime")

_ALNUM = string.ascii_letters + string.digits
WORKER_ID_LENGTH = 6
WORKER_ID = "".join(secrets.choice(_ALNUM) for _ in range(WORKER_ID_LENGTH))
"""This process's id; every sid it hands out starts with it."""

PING = EioPacket(EioType.PING)
NOOP = EioPacket(EioType.NOOP)
CLOSE = EioPacket(EioType.CLOSE)


def new_sid() -> str:
    """``<worker id><20 random url-safe characters>``."""
    return WORKER_ID + secrets.token_urlsafe(15)


def worker_of(sid: str) -> str:
    """The id of the worker that owns ``sid``."""
    return sid[:WORKER_ID_LENGTH]


class EngineApp(Protocol):
    """What runs on top of Engine.IO: the Socket.IO server, or the conformance echo."""

    def on_open(self, session: EngineSession) -> None: ...

    def on_message(self, session: EngineSession, data: str | bytes) -> Awaitable[Any] | None:
        """A MESSAGE packet arrived. May return an awaitable that settles when the work it
        started has produced its replies (a polling POST waits for it before answering ``ok``)."""

    def on_close(self, session: EngineSession, reason: str) -> None: ...


class Link(Protocol):
    """A WebSocket as the session sees it (see `transports.websocket`)."""

    def write(self, frame: str | bytes) -> None: ...

    def close(self, code: int = 1000) -> None: ...


class State(Enum):
    OPEN = "open"
    CLOSING = "closing"  # server-closed polling session waiting for the GET that fetches CLOSE
    CLOSED = "closed"


class HandshakeError(Exception):
    """An HTTP-level refusal: ``status`` with the JSON body ``{"code", "message"}``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def unknown_transport() -> HandshakeError:
    return HandshakeError(400, 0, "Transport unknown")


def unknown_sid() -> HandshakeError:
    return HandshakeError(400, 1, "Session ID unknown")


def bad_handshake_method() -> HandshakeError:
    return HandshakeError(400, 2, "Bad handshake method")


def bad_request() -> HandshakeError:
    return HandshakeError(400, 3, "Bad request")


def forbidden() -> HandshakeError:
    return HandshakeError(403, 4, "Forbidden")


def unsupported_version() -> HandshakeError:
    return HandshakeError(400, 5, "Unsupported protocol version")


_registry: dict[str, EngineSession] = {}


def lookup(sid: str | None) -> EngineSession | None:
    """The live session ``sid`` of this worker; an overdue pong makes it dead right here."""
    if not sid:
        return None
    session = _registry.get(sid)
    if session is None or not session.check_alive():
        return None
    return session


def sessions() -> list[EngineSession]:
    """Every session of this worker (for diagnostics and shutdown)."""
    return list(_registry.values())


class EngineSession:
    """One Engine.IO connection (see the module docstring)."""

    def __init__(self, *, app: EngineApp, limits: Limits, handshake: Handshake, transport: str) -> None:
        self.sid = new_sid()
        connection_id.set(self.sid)  # log lines of the code that opened the session name it
        self.app = app
        self.limits = limits
        self.handshake = handshake
        self.transport = transport  # "polling" | "websocket"
        self.state = State.OPEN
        self.close_reason: str | None = None
        self.data: Any = None
        """The application's state for this connection (the Socket.IO connection)."""

        self.loop = asyncio.get_running_loop()
        self.ws: Link | None = None
        self.probe: Link | None = None
        self.queue: list[EioPacket] = []
        self._poll: asyncio.Future[list[EioPacket]] | None = None
        self._flush_pending = False
        self._posting = False

        self._ping_at = self.loop.time() + limits.ping_interval
        self._pong_deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._upgrade_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        _registry[self.sid] = self

    # ------------------------------------------------------------------ lifecycle

    def open(self, *, ws: Link | None = None) -> EioPacket:
        """Start the heartbeat and the application; returns the OPEN packet to answer with."""
        if ws is not None:
            self.ws = ws
        packet = open_packet(
            sid=self.sid,
            upgrades=["websocket"] if self.transport == "polling" else [],
            ping_interval=self.limits.ping_interval_ms,
            ping_timeout=self.limits.ping_timeout_ms,
            max_payload=self.limits.max_payload,
        )
        self._timer = self.loop.call_at(self._ping_at, self._ping_due)
        if self.ws is not None:
            self.ws.write(_encode(packet))
        metrics.session_opened(self.transport)
        self.app.on_open(self)
        return packet

    @property
    def is_open(self) -> bool:
        return self.state is State.OPEN

    @property
    def failed(self) -> bool:
        """Closed because the client broke the protocol."""
        return self.state is State.CLOSED and self.close_reason == "parse error"

    def check_alive(self) -> bool:
        if self.state is State.CLOSED:
            return False
        if self._pong_deadline is not None and self.loop.time() >= self._pong_deadline:
            self.close("ping timeout")
            return False
        return True

    def close(self, reason: str, *, client: bool = False) -> None:
        """Close now. A pending GET gets CLOSE (``6`` NOOP when the client itself asked to close)."""
        if self.state is State.CLOSED:
            return
        was_open = self.state is State.OPEN
        self.state = State.CLOSED
        if self.close_reason is None:
            self.close_reason = reason
        _registry.pop(self.sid, None)
        for timer in (self._timer, self._upgrade_timer, self._linger_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._upgrade_timer = self._linger_timer = None
        poll, self._poll = self._poll, None
        if poll is not None and not poll.done():
            if client:
                poll.set_result([NOOP])
            else:
                poll.set_result([*self.queue, CLOSE])
        self.queue = []
        if self.probe is not None:
            self.probe.close()
            self.probe = None
        if self.ws is not None:
            self.ws.close(1000)
        if was_open:
            logger.debug("engine session %s closed: %s", self.sid, reason)
            metrics.session_closed(self.transport)
            self.app.on_close(self, reason)

    def close_gracefully(self, reason: str) -> None:
        """Server-initiated close that still delivers what is queued (then CLOSE over polling)."""
        if self.state is not State.OPEN:
            return
        if self.transport == "websocket" or self._poll is not None:
            self.close(reason)
            return
        # Polling with no GET waiting: the next GET fetches the queue and CLOSE.
        self.state = State.CLOSING
        self.close_reason = reason
        self.queue.append(CLOSE)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pong_deadline = None
        if self.probe is not None:
            self.probe.close()
            self.probe = None
        self._linger_timer = self.loop.call_later(self.limits.close_linger_ms / 1000, self.close, reason)
        metrics.session_closed(self.transport)
        self.app.on_close(self, reason)

    # ------------------------------------------------------------------ heartbeat

    def _ping_due(self) -> None:
        self._timer = None
        if self.state is not State.OPEN:
            return
        self._pong_deadline = self._ping_at + self.limits.ping_timeout
        self.send(PING)
        self._timer = self.loop.call_at(self._pong_deadline, self._pong_overdue)

    def _pong_overdue(self) -> None:
        self._timer = None
        self.check_alive()

    def _pong(self) -> None:
        if self._pong_deadline is None:
            return
        self._pong_deadline = None
        if self._timer is not None:
            self._timer.cancel()
        self._ping_at = self.loop.time() + self.limits.ping_interval
        self._timer = self.loop.call_at(self._ping_at, self._ping_due)

    # ------------------------------------------------------------------ outbound

    def send(self, packet: EioPacket) -> None:
        """Queue or write one packet; dropped once the session is closing."""
        if self.state is not State.OPEN:
            return
        if self.ws is not None and self.transport == "websocket":
            self.ws.write(_encode(packet))
            return
        self.queue.append(packet)
        if self._poll is not None and not self._flush_pending:
            self._flush_pending = True
            self.loop.call_soon(self._flush)

    def send_message(self, data: str | bytes) -> None:
        if type(data) is str and self.ws is not None and self.transport == "websocket" and self.state is State.OPEN:
            self.ws.write("4" + data)  # what `send` would write, without building a packet per frame
            return
        self.send(EioPacket(EioType.MESSAGE, data))

    def _flush(self) -> None:
        self._flush_pending = False
        poll = self._poll
        if poll is not None and self.queue and not poll.done():
            self._poll = None
            packets, self.queue = self.queue, []
            poll.set_result(packets)

    # ------------------------------------------------------------------ inbound

    def receive(self, packet: EioPacket) -> Awaitable[Any] | None:
        """One packet from the active transport."""
        if self.state is not State.OPEN:
            return None
        kind = packet.type
        if kind is EioType.MESSAGE:
            assert packet.data is not None
            return self.app.on_message(self, packet.data)
        if kind is EioType.PONG:
            self._pong()
        elif kind is EioType.CLOSE:
            self.close("transport close", client=True)
        elif kind is EioType.PING or kind is EioType.OPEN:
            # Engine.IO v4 heartbeats are server-initiated; a client PING (or OPEN) is a protocol error.
            self.close("parse error")
        # UPGRADE and NOOP on the active transport carry nothing.
        return None

    # ------------------------------------------------------------------ long-polling

    async def poll(self) -> list[EioPacket]:
        """A GET: everything queued, waiting for it if need be (raises HandshakeError on overlap)."""
        if self._poll is not None:
            first, self._poll = self._poll, None
            if not first.done():
                first.set_result([CLOSE])
            self.close("transport error")
            raise bad_request()
        if self.queue:
            packets, self.queue = self.queue, []
            if self.state is State.CLOSING:
                self.close(self.close_reason or "server disconnect")
            return packets
        if self.state is not State.OPEN:
            raise unknown_sid()
        if self.probe is not None:
            return [NOOP]  # an upgrade is under way: let the polling transport stop
        waiter: asyncio.Future[list[EioPacket]] = self.loop.create_future()
        self._poll = waiter
        try:
            return await waiter
        except asyncio.CancelledError:
            # The client went away while its GET was pending.
            if self._poll is waiter:
                self._poll = None
                self.close("transport close")
            raise

    def begin_post(self) -> bool:
        """Mark a POST in progress; a second concurrent POST closes the session (False)."""
        if self._posting:
            self.close("transport error")
            return False
        self._posting = True
        return True

    def end_post(self) -> None:
        self._posting = False

    def receive_payload(self, packets: list[EioPacket]) -> list[Awaitable[Any]]:
        """The packets of a POST, in order; returns what the POST should wait for."""
        pending: list[Awaitable[Any]] = []
        for packet in packets:
            if self.state is not State.OPEN:
                break
            settled = self.receive(packet)
            if settled is not None:
                pending.append(settled)
        return pending

    # ------------------------------------------------------------------ WebSocket

    def attach_probe(self, link: Link) -> bool:
        """A WebSocket opened with this sid: it may upgrade a polling session, once."""
        if self.state is not State.OPEN or self.transport != "polling" or self.probe is not None:
            return False
        self.probe = link
        self._upgrade_timer = self.loop.call_later(self.limits.upgrade_timeout_ms / 1000, self._upgrade_expired, link)
        return True

    def _upgrade_expired(self, link: Link) -> None:
        if self.probe is link:
            self.probe = None
            self._upgrade_timer = None
            link.close(1000)

    def frame(self, link: Link, frame: str | bytes) -> None:
        """One WebSocket frame from ``link`` (the active transport or the upgrade probe)."""
        if self.state is not State.OPEN:
            link.close(1000)
            return
        if _too_large(frame, self.limits.max_payload):
            logger.info("Connection error: payload too large (session %s)", self.sid)
            if link is self.ws:
                self.ws = None
                link.close(1000)
                self.close("transport error")
            else:
                self._drop_probe(link)
            return
        try:
            packet = decode_packet(frame)
        except CodecError:
            if link is self.probe:
                self._drop_probe(link)
            else:
                self.close("parse error")
            return
        if link is self.probe:
            self._probe_packet(link, packet)
        elif link is self.ws:
            self.receive(packet)
        else:
            link.close(1000)

    def _probe_packet(self, link: Link, packet: EioPacket) -> None:
        if packet.type is EioType.PING and packet.data == "probe":
            link.write(_encode(EioPacket(EioType.PONG, "probe")))
            poll = self._poll
            if poll is not None and not poll.done():
                self._poll = None
                poll.set_result([*self.queue, NOOP] if self.queue else [NOOP])
                self.queue = []
            return
        if packet.type is EioType.UPGRADE:
            if self._upgrade_timer is not None:
                self._upgrade_timer.cancel()
                self._upgrade_timer = None
            self.probe = None
            self.transport = "websocket"
            metrics.session_upgraded()
            self.ws = link
            poll, self._poll = self._poll, None
            if poll is not None and not poll.done():
                poll.set_result([NOOP])
            queued, self.queue = self.queue, []
            for queued_packet in queued:
                link.write(_encode(queued_packet))
            return
        self._drop_probe(link)

    def _drop_probe(self, link: Link, code: int = 1000) -> None:
        if self.probe is link:
            self.probe = None
            if self._upgrade_timer is not None:
                self._upgrade_timer.cancel()
                self._upgrade_timer = None
        link.close(code)

    def link_closed(self, link: Link) -> None:
        """The WebSocket ``link`` went away (client closed it or the network dropped)."""
        if link is self.probe:
            self.probe = None
            if self._upgrade_timer is not None:
                self._upgrade_timer.cancel()
                self._upgrade_timer = None
        elif link is self.ws:
            self.ws = None
            self.close("transport close")


def _encode(packet: EioPacket) -> str | bytes:
    return encode_packet(packet)


def _too_large(frame: str | bytes, limit: int) -> bool:
    size = len(frame)
    if size > limit:
        return True
    if isinstance(frame, str) and size * 4 > limit:
        return len(frame.encode("utf-8")) > limit
    return False
