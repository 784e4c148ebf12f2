"""The concrete Socket.IO socket: one namespace on one Engine.IO connection.

It satisfies `retrochat.realtime.types.Socket`, the protocol handlers are typed against.

Ordering: a socket handles its CONNECT, its events and its end one at a time, in arrival order,
in a worker task that exists only while there is something to do (so 10 000 idle sockets cost no
task). A ``pipelined`` event (see `router`) is answered beside the worker: the worker calls its
handler in order and moves on, at most `MAX_PIPELINED` answers pending. Long work (an AI reply
stream) belongs in `spawn`, which runs beside the worker and is cancelled when the socket goes
away. Acks from the client are resolved at once, outside the queue, so a handler awaiting
`call` cannot block them.

Outbound packets written while the CONNECT is being handled (the connect hooks' emits, events
delivered to rooms joined in a hook) are held and sent right after the CONNECT reply.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from typing import TYPE_CHECKING, Any

from retrochat.errors import DomainError
from retrochat.observability import metrics
from retrochat.observability.context import current_socket
from retrochat.realtime.hub import USER_ROOM_PREFIX, get_hub
from retrochat.realtime.router import ConnectionRefused, EventRouter, Registration
from retrochat.realtime.sio import CodecError, EncodedJson, SioPacket, SioType, encode
from retrochat.realtime.types import Handshake

if TYPE_CHECKING:
    from retrochat.realtime.server import Connection

logger = logging.getLogger("retrochat.realtime")

MAX_PIPELINED = 64
"""Pending answers of pipelined events per socket before its worker waits for the oldest."""


class Status(Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    CLOSED = "closed"


class SocketClosed(ConnectionError):
    """The socket went away while the server was waiting for something from it."""


@dataclass(slots=True)
class _Item:
    kind: str  # "connect" | "event" | "close"
    settled: asyncio.Future[None] | None = None
    auth: Any = None
    name: str = ""
    args: list[Any] = field(default_factory=list)
    ack_id: int | None = None
    registration: Registration | None = None
    reason: str = ""
    answered_aside: bool = False  # a pipelined event: settled when its answer is sent


def _ack_args(result: Any) -> list[Any]:
    if result is None:
        return []
    if isinstance(result, tuple):
        return list(result)
    return [result]


class Socket:
    """One Socket.IO socket (see the module docstring)."""

    def __init__(self, connection: Connection, router: EventRouter, namespace: str) -> None:
        self.sid = secrets.token_urlsafe(15)
        self.namespace = namespace
        self.handshake: Handshake = connection.session.handshake
        self.user_id: str | None = None
        self.auth_session_id: str | None = None
        self.state: dict[str, Any] = {}
        self.rooms: set[str] = set()
        self.connection = connection
        self.router = router
        self.status = Status.CONNECTING
        self.disconnect_reason: str | None = None
        self._closing = False
        self._held: list[str | bytes] = []
        self._inbox: deque[_Item] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._current: _Item | None = None
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._next_ack = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._answers: set[asyncio.Future[Any]] = set()

    def __repr__(self) -> str:
        return f"<Socket {self.sid} ns={self.namespace} user={self.user_id} {self.status.value}>"

    @property
    def connected(self) -> bool:
        return self.status is Status.CONNECTED and not self._closing

    @property
    def engine_sid(self) -> str:
        return self.connection.session.sid

    # ------------------------------------------------------------------ outbound

    def _write(self, frames: list[str | bytes]) -> None:
        if self.status is Status.CONNECTING:
            self._held.extend(frames)
            return
        if self.status is Status.CLOSED:
            return
        session = self.connection.session
        for frame in frames:
            session.send_message(frame)

    def _packet(self, packet: SioPacket) -> None:
        self._write(encode(packet))

    def emit_now(self, event: str, *args: Any) -> None:
        """Synchronous `emit` (for engine code that cannot await)."""
        self._packet(SioPacket(SioType.EVENT, self.namespace, [event, *args]))
        metrics.event_sent(event)

    async def emit(self, event: str, *args: Any) -> None:
        """Send ``event`` to this socket only."""
        self.emit_now(event, *args)

    def deliver(self, packet: str) -> None:
        """A packet encoded once by a publisher for namespace ``/`` (see `broadcast.encode_event`)."""
        if self.namespace != "/":
            packet = f"{packet[0]}{self.namespace},{packet[1:]}"
        self._write([packet])

    def send_ack(self, ack_id: int, args: list[Any]) -> None:
        if len(args) == 1 and isinstance(args[0], EncodedJson):  # encoded once already: write it as is
            prefix = "" if self.namespace == "/" else f"{self.namespace},"
            self._write([f"3{prefix}{ack_id}[{args[0].text}]"])
            return
        self._packet(SioPacket(SioType.ACK, self.namespace, args, id=ack_id))

    async def call(self, event: str, *args: Any, timeout: float | None = None) -> Any:
        """Emit with an ack id and wait for the client's ack arguments.

        One argument comes back as itself, several as a tuple, none as None. Raises TimeoutError
        after ``timeout`` seconds (default `Limits.call_timeout_s`) and `SocketClosed` if the
        socket goes away first.
        """
        if not self.connected:
            raise SocketClosed("socket is not connected")
        if timeout is None:
            timeout = self.connection.limits.call_timeout_s
        ack_id = self._next_ack
        self._next_ack += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = future
        self._packet(SioPacket(SioType.EVENT, self.namespace, [event, *args], id=ack_id))
        # Waiting on the client: let a polling POST that carried the current event answer now.
        if asyncio.current_task() is self._worker and self._current is not None:
            _settle(self._current)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._acks.pop(ack_id, None)

    def resolve_ack(self, ack_id: int | None, data: Any) -> None:
        if ack_id is None:
            return
        future = self._acks.pop(ack_id, None)
        if future is None or future.done():
            return
        args = list(data or [])
        future.set_result(None if not args else args[0] if len(args) == 1 else tuple(args))

    # ------------------------------------------------------------------ rooms and tasks

    async def join(self, room: str) -> None:
        """Receive events sent to ``room`` (on every worker) until `leave` or disconnect.

        Joining a user room while connecting enforces `Limits.max_sockets_per_user`: one socket too
        many raises `ConnectionRefused("Too many connections")` (before later connect hooks run).
        """
        if self.status is Status.CLOSED:
            return
        hub = get_hub()
        limit = self.connection.limits.max_sockets_per_user
        if (
            self.status is Status.CONNECTING
            and room.startswith(USER_ROOM_PREFIX)
            and len(hub.members(room) - {self}) >= limit
        ):
            raise ConnectionRefused("Too many connections")
        self.rooms.add(room)
        await hub.join(self, room)

    async def leave(self, room: str) -> None:
        self.rooms.discard(room)
        await get_hub().leave(self, room)

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any] | None:
        """Run ``coro`` as a task owned by this socket: cancelled when the socket goes away."""
        if self.status is Status.CLOSED or self._closing:
            coro.close()
            return None
        task = asyncio.get_running_loop().create_task(coro, name=f"{name} [{self.sid}]")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("task %s of socket %s failed", task.get_name(), self.sid, exc_info=task.exception())

    # ------------------------------------------------------------------ inbound (called by Connection)

    def _enqueue(self, item: _Item) -> asyncio.Future[None] | None:
        if self.connection.wants_settle():
            item.settled = asyncio.get_running_loop().create_future()
        self._inbox.append(item)
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._work(), name=f"socket {self.sid}")
        return item.settled

    def pending(self) -> int:
        return len(self._inbox)

    def busy_tasks(self) -> list[asyncio.Future[Any]]:
        """The task working off this socket's queue and the pending results of pipelined events."""
        return [task for task in (self._worker, *self._answers) if task is not None and not task.done()]

    def pending_tasks(self) -> list[asyncio.Future[Any]]:
        """`busy_tasks` and the spawned tasks still running (a draining worker waits for them)."""
        return [*self.busy_tasks(), *(task for task in self._tasks if not task.done())]

    def enqueue_connect(self, auth: Any) -> asyncio.Future[None] | None:
        return self._enqueue(_Item("connect", auth=auth))

    def enqueue_event(
        self, registration: Registration, name: str, args: list[Any], ack_id: int | None
    ) -> asyncio.Future[None] | None:
        return self._enqueue(_Item("event", name=name, args=args, ack_id=ack_id, registration=registration))

    def refuse_event(self, registration: Registration | None, ack_id: int | None, error: DomainError) -> None:
        """Answer an event without running its handler (rate limit)."""
        if ack_id is not None:
            self.send_ack(ack_id, [{"error": error.as_payload()}])
        if registration is not None and registration.error_event:
            self.emit_now(registration.error_event, {"error": error.message})

    # ------------------------------------------------------------------ ending

    def request_close(self, reason: str, *, notify: bool) -> None:
        """Stop taking events; the worker finishes what is queued, then runs the disconnect hooks.

        ``notify`` sends DISCONNECT to the client first (a server-side disconnect).
        """
        if self._closing or self.status is Status.CLOSED:
            return
        self._closing = True
        self.disconnect_reason = reason
        self.connection.forget(self)
        if notify and self.status is Status.CONNECTED:
            self._packet(SioPacket(SioType.DISCONNECT, self.namespace))
        for future in self._acks.values():
            if not future.done():
                future.set_exception(SocketClosed(reason))
        self._acks.clear()
        self._enqueue(_Item("close", reason=reason))

    async def disconnect(self, reason: str = "server namespace disconnect") -> None:
        """Send DISCONNECT for this namespace and forget the socket (hooks run in the background)."""
        self.request_close(reason, notify=True)

    def server_disconnect(self, reason: str) -> None:
        """Disconnect from the server side and close the connection if nothing else uses it."""
        self.request_close(reason, notify=True)
        self.connection.close_if_unused(reason)

    # ------------------------------------------------------------------ the worker

    async def _work(self) -> None:
        current_socket.set(self)  # log lines of this task (and of tasks it spawns) name the socket
        try:
            while self._inbox:
                item = self._inbox.popleft()
                self._current = item
                try:
                    if item.kind == "event":
                        await self._run_event(item)
                    elif item.kind == "connect":
                        await self._run_connect(item)
                    else:
                        await self._finish(item.reason)
                except Exception:
                    logger.exception("socket %s: %s failed", self.sid, item.kind)
                finally:
                    self._current = None
                    if not item.answered_aside:
                        _settle(item)
        finally:
            self._worker = None
            for item in self._inbox:
                _settle(item)

    async def _run_connect(self, item: _Item) -> None:
        if self._closing:
            self.status = Status.CLOSED
            return
        completed = 0
        try:
            for hook in self.router.connect_hooks:
                await hook(self, item.auth)
                completed += 1
        except Exception as exc:
            if isinstance(exc, ConnectionRefused):
                message = exc.message
            else:
                logger.exception("Connection error: %s", exc)
                message = "Internal server error"
            if completed:
                # Hooks that already ran (presence, ...) get their disconnect counterpart.
                await self._run_disconnect_hooks("connect refused")
            self._refuse(message)
            metrics.connect_refused(error=not isinstance(exc, ConnectionRefused))
            return
        self.status = Status.CONNECTED
        metrics.socket_connected()
        self.connection.socket_connected(self)
        held, self._held = self._held, []
        self._packet(SioPacket(SioType.CONNECT, self.namespace, {"sid": self.sid}))
        session = self.connection.session
        for frame in held:
            session.send_message(frame)

    def _refuse(self, message: str) -> None:
        self.status = Status.CLOSED
        self._held = []
        self._drop_resources()
        self.connection.forget(self)
        for item in self._inbox:
            _settle(item)
        self._inbox.clear()
        frames = encode(SioPacket(SioType.CONNECT_ERROR, self.namespace, {"message": message}))
        session = self.connection.session
        for frame in frames:
            session.send_message(frame)

    async def _run_event(self, item: _Item) -> None:
        if self.status is not Status.CONNECTED:
            return
        registration = item.registration
        assert registration is not None
        result: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if not registration.pipelined:
            await self._answers_sent()  # never overtake an earlier pipelined event
            try:  # run here, in the worker (`call` relies on it)
                result.set_result(await registration.handler(self, *item.args))
            except Exception as exc:
                result.set_exception(exc)
            self._answer(item, result)
            return
        if len(self._answers) >= MAX_PIPELINED:
            await asyncio.wait(self._answers, return_when=asyncio.FIRST_COMPLETED)
        try:
            result = asyncio.ensure_future(registration.handler(self, *item.args))
        except Exception as exc:  # a pipelined handler refuses at once; answered like the others
            result.set_exception(exc)
        # Answered when the result is ready (a future's callback: no task per event).
        item.answered_aside = True
        self._answers.add(result)
        result.add_done_callback(partial(self._answer, item))

    async def _answers_sent(self) -> None:
        if self._answers:
            await asyncio.wait(self._answers)

    def _answer(self, item: _Item, result: asyncio.Future[Any]) -> None:
        """Answer an event from its handler's finished result: the ack, or the refusal."""
        self._answers.discard(result)
        if item.answered_aside:
            _settle(item)
        registration = item.registration
        assert registration is not None
        if result.cancelled():
            return
        error = result.exception()
        if isinstance(error, DomainError):
            self.refuse_event(registration, item.ack_id, error)
            return
        if error is not None:
            logger.error(
                "handler for %r failed (socket %s, user %s)", item.name, self.sid, self.user_id, exc_info=error
            )
            message = registration.failure_message or f"Failed to process {item.name}"
            if item.ack_id is not None:
                self.send_ack(item.ack_id, [{"error": {"code": "internal", "message": message}}])
            if registration.error_event:
                self.emit_now(registration.error_event, {"error": message})
            return
        if item.ack_id is not None:
            try:
                self.send_ack(item.ack_id, _ack_args(result.result()))
            except CodecError:
                logger.exception("handler for %r returned an ack value that is not JSON", item.name)
                self.send_ack(item.ack_id, [{"error": {"code": "internal", "message": "Invalid response"}}])

    async def _finish(self, reason: str) -> None:
        await self._answers_sent()
        was_connected = self.status is Status.CONNECTED
        self.status = Status.CLOSED
        self._held = []
        self._drop_resources()
        if was_connected:
            metrics.socket_disconnected(reason)
            await self._run_disconnect_hooks(reason)

    async def _run_disconnect_hooks(self, reason: str) -> None:
        for hook in self.router.disconnect_hooks:
            try:
                await hook(self, reason)
            except Exception:
                logger.exception("disconnect hook %r failed for socket %s", hook, self.sid)

    def _drop_resources(self) -> None:
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        if self.rooms:
            get_hub().leave_all(self, self.rooms)
            self.rooms.clear()


def _settle(item: _Item) -> None:
    if item.settled is not None and not item.settled.done():
        item.settled.set_result(None)
