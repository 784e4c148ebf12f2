"""Socket.IO v5 on top of Engine.IO sessions: packet type → connect / event / ack / disconnect.

`SocketIOServer` is the `EngineApp` of the ``/socket.io/`` endpoint. Each Engine.IO session gets
a `Connection` (the Socket.IO "client"), which decodes packets, reassembles binary attachments,
applies the event rate limit and hands work to the namespace `Socket`s.

Errors: an undecodable packet (unknown type, bad payload, bad ack id or namespace, attachment
mismatch, a binary frame nobody announced) or a CONNECT for a namespace already connected closes
the whole Engine.IO connection at once. An unknown namespace is refused with CONNECT_ERROR
``Invalid namespace``. Events, acks and DISCONNECTs for a namespace that is not connected are
ignored (they race with server-side disconnects). Handler failures never close anything.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Mapping
from typing import Any

from retrochat.errors import RateLimited
from retrochat.observability import metrics
from retrochat.realtime import drain
from retrochat.realtime import limits as limits_module
from retrochat.realtime.hub import get_hub
from retrochat.realtime.limits import Limits
from retrochat.realtime.router import EventRouter
from retrochat.realtime.session import EngineSession
from retrochat.realtime.sio import BinaryAssembler, CodecError, SioPacket, SioType, decode, encode
from retrochat.realtime.socket import Socket

logger = logging.getLogger("retrochat.realtime")


class TokenBucket:
    """Events per second with a burst; refused events add strikes that decay at the same rate."""

    __slots__ = ("burst", "last", "rate", "strikes", "tokens")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.strikes = 0.0
        self.last = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        elapsed = now - self.last
        self.last = now
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.strikes = max(0.0, self.strikes - elapsed * self.rate)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        self.strikes += 1.0
        return False


class Connection:
    """The Socket.IO side of one Engine.IO session."""

    def __init__(self, server: SocketIOServer, session: EngineSession) -> None:
        self.server = server
        self.session = session
        self.limits: Limits = session.limits
        self.sockets: dict[str, Socket] = {}
        self.assembler: BinaryAssembler | None = None
        self.bucket = TokenBucket(self.limits.events_per_second, self.limits.event_burst)
        self.ever_connected = False
        self.closed = False
        self._connect_timer: asyncio.TimerHandle | None = session.loop.call_later(
            self.limits.connect_timeout_ms / 1000, self._connect_timeout
        )

    def wants_settle(self) -> bool:
        """Whether inbound work should report completion (a polling POST waits for it)."""
        return self.session.transport == "polling"

    # ------------------------------------------------------------------ inbound

    def receive(self, data: str | bytes) -> Awaitable[Any] | None:
        try:
            if isinstance(data, str):
                if self.assembler is not None:
                    raise CodecError("a text packet arrived where a binary attachment was expected")
                packet = decode(
                    data,
                    max_ack_id_digits=self.limits.max_ack_id_digits,
                    max_attachments=self.limits.max_attachments,
                )
                if packet.type in (SioType.BINARY_EVENT, SioType.BINARY_ACK):
                    self.assembler = BinaryAssembler(packet)
                    return None
            else:
                if self.assembler is None:
                    raise CodecError("a binary frame arrived that no packet announced")
                complete = self.assembler.add(data)
                if complete is None:
                    return None
                self.assembler = None
                packet = complete
        except CodecError as exc:
            self.protocol_error(str(exc))
            return None
        return self.dispatch(packet)

    def dispatch(self, packet: SioPacket) -> Awaitable[Any] | None:
        kind = packet.type
        namespace = packet.namespace
        socket = self.sockets.get(namespace)
        if kind is SioType.CONNECT:
            if socket is not None:
                self.protocol_error(f"namespace {namespace} is already connected")
                return None
            if drain.draining():
                return None  # the connection is about to be closed: the client reconnects elsewhere
            router = self.server.namespaces.get(namespace)
            if router is None:
                self._send(SioPacket(SioType.CONNECT_ERROR, namespace, {"message": "Invalid namespace"}))
                return None
            socket = Socket(self, router, namespace)
            self.sockets[namespace] = socket
            return socket.enqueue_connect(packet.data)
        if kind is SioType.EVENT or kind is SioType.BINARY_EVENT:
            if socket is None:
                return None
            return self._event(socket, packet)
        if kind is SioType.ACK or kind is SioType.BINARY_ACK:
            if socket is not None:
                socket.resolve_ack(packet.id, packet.data)
            return None
        if kind is SioType.DISCONNECT:
            if socket is not None:
                socket.request_close("client namespace disconnect", notify=False)
            return None
        self.protocol_error(f"unexpected {kind.name} packet from a client")
        return None

    def _event(self, socket: Socket, packet: SioPacket) -> Awaitable[Any] | None:
        name, *args = packet.data
        registration = socket.router.lookup(name)
        metrics.event_received(name if registration is not None else None)
        if drain.draining():
            socket.refuse_event(registration, packet.id, drain.ShuttingDown())
            return None
        limited = self.limits.rate_limited and (registration is None or registration.rate_limited)
        if limited and not self.bucket.take():
            metrics.rate_limited("realtime_events")
            if self.bucket.strikes > self.limits.rate_abuse_limit:
                logger.warning("Connection error: too many events (session %s)", self.session.sid)
                self.session.close("forced close")
                return None
            socket.refuse_event(registration, packet.id, RateLimited())
            return None
        if registration is None:
            return None
        if socket.pending() >= self.limits.max_pending_events:
            logger.warning("Connection error: too many pending events (session %s)", self.session.sid)
            self.session.close("forced close")
            return None
        return socket.enqueue_event(registration, name, args, packet.id)

    def protocol_error(self, reason: str) -> None:
        logger.info("Connection error: %s (session %s)", reason, self.session.sid)
        self.session.close("parse error")

    # ------------------------------------------------------------------ outbound / bookkeeping

    def _send(self, packet: SioPacket) -> None:
        for frame in encode(packet):
            self.session.send_message(frame)

    def forget(self, socket: Socket) -> None:
        if self.sockets.get(socket.namespace) is socket:
            del self.sockets[socket.namespace]

    def socket_connected(self, socket: Socket) -> None:
        self.ever_connected = True
        if self._connect_timer is not None:
            self._connect_timer.cancel()
            self._connect_timer = None

    def close_if_unused(self, reason: str) -> None:
        if not self.sockets and not self.closed:
            self.session.close_gracefully(reason)

    def _connect_timeout(self) -> None:
        self._connect_timer = None
        if not self.ever_connected and not self.closed:
            logger.info("Connection error: connect timeout (session %s)", self.session.sid)
            self.session.close("connect timeout")

    def on_close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.assembler = None
        if self._connect_timer is not None:
            self._connect_timer.cancel()
            self._connect_timer = None
        for socket in list(self.sockets.values()):
            socket.request_close(reason, notify=False)
        self.sockets.clear()


class SocketIOServer:
    """The Socket.IO `EngineApp`: namespaces and their routers."""

    def __init__(self, namespaces: Mapping[str, EventRouter]) -> None:
        self.namespaces = dict(namespaces)

    def on_open(self, session: EngineSession) -> None:
        session.data = Connection(self, session)
        get_hub().start()

    def on_message(self, session: EngineSession, data: str | bytes) -> Awaitable[Any] | None:
        connection: Connection = session.data
        return connection.receive(data)

    def on_close(self, session: EngineSession, reason: str) -> None:
        connection: Connection = session.data
        connection.on_close(reason)


_server: SocketIOServer | None = None


def get_server() -> SocketIOServer:
    """The Socket.IO server of this process: RetroChat's namespace, or the conformance one."""
    global _server
    if _server is None:
        if limits_module.conformance_mode():
            from retrochat.realtime.conformance import conformance_namespaces

            _server = SocketIOServer(conformance_namespaces())
        else:
            from retrochat.realtime.router import events

            _server = SocketIOServer({events.namespace: events})
    return _server


def engine_stats() -> dict[str, Any]:
    """What this worker holds now (for metrics and the ``online`` command): JSON-safe numbers."""
    from retrochat.realtime.hub import USER_ROOM_PREFIX, get_hub
    from retrochat.realtime.session import WORKER_ID, sessions

    live = sessions()
    hub = get_hub()
    users = {
        room[len(USER_ROOM_PREFIX) :]: len(members)
        for room, members in hub.rooms.items()
        if room.startswith(USER_ROOM_PREFIX)
    }
    sockets = sum(len(session.data.sockets) for session in live if isinstance(session.data, Connection))
    return {
        "worker": WORKER_ID,
        "sessions": len(live),
        "websocket_sessions": sum(1 for session in live if session.transport == "websocket"),
        "polling_sessions": sum(1 for session in live if session.transport == "polling"),
        "sockets": sockets,
        "sockets_per_user": users,
        "layer_messages_received": hub.received,
        "local_deliveries": hub.delivered,
    }
