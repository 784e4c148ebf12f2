"""The worker hub: this process's single door to the channel layer, and its local rooms.

One hub per worker process (per event loop) owns ONE channel-layer channel and one receive loop.
Consumers never create channels of their own. The hub

- always belongs to the layer group ``rt.workers`` (events for several users, disconnects);
- belongs to ``rt.user.<id>`` while it holds at least one socket of that user, and to
  ``rt.<room>`` while it holds a socket that joined ``<room>`` (reference counted: the layer group
  is joined by the first local member and left after the last one);
- re-adds its group memberships every ``Limits.group_refresh_s`` (layer groups expire);
- writes each received ``rt.emit`` packet — encoded once by the publisher, see `broadcast` — to
  every matching local socket, once per socket even if it matches several ways, honouring
  ``users``, ``room``, ``everyone`` (every authenticated socket) and ``exclude_sid``;
  ``rt.disconnect`` closes the matching sockets (optionally only those of one auth session);
  ``rt.batch`` carries several of those, applied in order;
  ``rt.stats`` is answered with `server.engine_stats` on the ``reply_to`` channel (the
  ``online`` command asks every worker, see `stats`).

Rooms are plain names built by helpers (``user.<id>``, ``group.<id>``); `addressing.room_group`
validates them. Local membership changes are synchronous; joining awaits the layer group_add so
that an event published after `Socket.join` returns is delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from channels.layers import get_channel_layer

from retrochat.observability import metrics
from retrochat.realtime import limits as limits_module
from retrochat.realtime.addressing import WORKERS_GROUP, room_group

logger = logging.getLogger("retrochat.realtime.hub")

USER_ROOM_PREFIX = "user."


class Member(Protocol):
    """What the hub needs from a socket (`retrochat.realtime.socket.Socket` is one)."""

    sid: str
    auth_session_id: str | None

    def deliver(self, packet: str) -> None: ...

    def server_disconnect(self, reason: str) -> None: ...


def user_room(user_id: str) -> str:
    """The room every socket of ``user_id`` joins (see `addressing.user_group`)."""
    return f"{USER_ROOM_PREFIX}{user_id}"


EventObserver = Callable[[list[str]], None]
_observers: dict[str, list[EventObserver]] = {}


def observe_event(event: str, observer: EventObserver) -> None:
    """Call ``observer(user_ids)`` when an ``rt.emit`` of ``event`` addressed to users reaches this
    worker, before it is written to their sockets (e.g. to drop a cache those users' requests read)."""
    observers = _observers.setdefault(event, [])
    if observer not in observers:
        observers.append(observer)


class Hub:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.rooms: dict[str, set[Member]] = {}
        self.layer: Any = get_channel_layer()
        self.channel: str | None = None
        self._held: set[str] = set()  # layer groups this worker is a member of
        self._locks: dict[str, asyncio.Lock] = {}
        self._started: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.received = 0
        self.delivered = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> asyncio.Task[None]:
        """Start (once; again if the last attempt failed) and return the start-up task."""
        task = self._started
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = self._started = self.loop.create_task(self._start(), name="realtime-hub-start")
        return task

    async def ready(self) -> None:
        await asyncio.shield(self.start())

    async def _start(self) -> None:
        if self.layer is None:
            logger.warning("no channel layer configured: realtime events stay inside this process")
            return
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(WORKERS_GROUP, self.channel)
        self._held.add(WORKERS_GROUP)
        self._spawn(self._receive_loop(), "realtime-hub-receive")
        self._spawn(self._refresh_loop(), "realtime-hub-refresh")

    def _spawn(self, coro: Any, name: str) -> None:
        task = self.loop.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Leave every layer group and stop the loops (graceful shutdown, tests)."""
        for task in list(self._tasks):
            task.cancel()
        if self.layer is not None and self.channel is not None:
            for group in list(self._held):
                with contextlib.suppress(Exception):
                    await self.layer.group_discard(group, self.channel)
        self._held.clear()

    # ------------------------------------------------------------------ rooms

    async def join(self, socket: Member, room: str) -> None:
        group = room_group(room)  # validates the name
        self.rooms.setdefault(room, set()).add(socket)
        await self.ready()
        await self._sync(room, group)

    async def leave(self, socket: Member, room: str) -> None:
        self._remove(socket, room)
        await self._sync(room, room_group(room))

    def leave_all(self, socket: Member, rooms: Iterable[str]) -> None:
        """Drop ``socket`` from ``rooms`` now; layer groups left empty are discarded in the background."""
        for room in list(rooms):
            self._remove(socket, room)
            if room not in self.rooms and room_group(room) in self._held:
                self._spawn(self._sync(room, room_group(room)), "realtime-hub-leave")

    def _remove(self, socket: Member, room: str) -> None:
        members = self.rooms.get(room)
        if members is not None:
            members.discard(socket)
            if not members:
                del self.rooms[room]

    async def _sync(self, room: str, group: str) -> None:
        """Make the layer membership of ``group`` match whether ``room`` has local members."""
        if self.layer is None or self.channel is None:
            return
        lock = self._locks.get(room)
        if lock is None:
            lock = self._locks[room] = asyncio.Lock()
        try:
            async with lock:
                wanted = room in self.rooms
                held = group in self._held
                if wanted and not held:
                    await self.layer.group_add(group, self.channel)
                    self._held.add(group)
                elif not wanted and held:
                    self._held.discard(group)
                    await self.layer.group_discard(group, self.channel)
        finally:
            if room not in self.rooms and not lock.locked() and self._locks.get(room) is lock:
                del self._locks[room]

    def members(self, room: str) -> set[Member]:
        return self.rooms.get(room, set())

    def user_sockets(self, user_id: str) -> set[Member]:
        return self.members(user_room(user_id))

    # ------------------------------------------------------------------ layer traffic

    async def _receive_loop(self) -> None:
        assert self.channel is not None
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                metrics.layer_failure("receive")
                logger.exception("channel layer receive failed; retrying")
                await asyncio.sleep(1.0)
                # The layer may have lost our memberships (e.g. Redis restarted): add them back.
                await self._readd_groups()
                continue
            self.received += 1
            try:
                self.handle(message)
            except Exception:
                logger.exception("could not handle a channel layer message of type %r", message.get("type"))

    async def _refresh_loop(self) -> None:
        interval = limits_module.current().group_refresh_s
        while True:
            await asyncio.sleep(interval)
            await self._readd_groups()

    async def _readd_groups(self) -> None:
        if self.channel is None:
            return
        for group in list(self._held):
            try:
                await self.layer.group_add(group, self.channel)
            except Exception:
                metrics.layer_failure("group_add")
                logger.exception("could not refresh layer group %s", group)
                return

    def handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "rt.emit":
            self._emit(message)
        elif kind == "rt.batch":
            for item in message["messages"]:
                self.handle(item)
        elif kind == "rt.disconnect":
            self._disconnect(message)
        elif kind == "rt.stats":
            self._spawn(self._send_stats(message), "realtime-hub-stats")
        else:
            logger.warning("unknown channel layer message type %r", kind)

    def _targets(self, users: Iterable[str] | None, room: str | None, everyone: bool = False) -> set[Member]:
        targets: set[Member] = set()
        if everyone:
            for name, members in self.rooms.items():
                if name.startswith(USER_ROOM_PREFIX):
                    targets.update(members)
            return targets
        if room:
            targets.update(self.rooms.get(room, ()))
        if users:
            for user_id in users:
                targets.update(self.rooms.get(user_room(user_id), ()))
        return targets

    def _emit(self, message: dict[str, Any]) -> None:
        packet = message["packet"]
        observers = _observers.get(message.get("event") or "")
        if observers and message.get("users"):
            for observer in observers:
                try:
                    observer(list(message["users"]))
                except Exception:
                    logger.exception("observer of %s failed", message.get("event"))
        exclude = message.get("exclude_sid")
        delivered = self.delivered
        for socket in self._targets(message.get("users"), message.get("room"), bool(message.get("everyone"))):
            if exclude is not None and socket.sid == exclude:
                continue
            socket.deliver(packet)
            self.delivered += 1
        if self.delivered != delivered:
            metrics.event_sent(str(message.get("event") or "unknown"), self.delivered - delivered)
            metrics.fanout(message.get("ts"))

    async def _send_stats(self, message: dict[str, Any]) -> None:
        reply_to = message.get("reply_to")
        if not isinstance(reply_to, str) or self.layer is None:
            return
        from retrochat.realtime.server import engine_stats

        reply = {"type": "rt.stats.reply", "nonce": message.get("nonce"), "pid": os.getpid(), **engine_stats()}
        try:
            await self.layer.send(reply_to, reply)
        except Exception:
            metrics.layer_failure("send")
            logger.warning("could not answer a stats request", exc_info=True)

    def _disconnect(self, message: dict[str, Any]) -> None:
        auth_session_id = message.get("auth_session_id")
        reason = message.get("reason") or "server disconnect"
        for socket in self._targets(message.get("users"), None):
            if auth_session_id is None or socket.auth_session_id == auth_session_id:
                socket.server_disconnect(reason)


_hub: Hub | None = None


def get_hub() -> Hub:
    """This process's hub (a new one if the running event loop changed, e.g. between tests)."""
    global _hub
    loop = asyncio.get_running_loop()
    if _hub is None or _hub.loop is not loop:
        _hub = Hub(loop)
    return _hub


def current_hub() -> Hub | None:
    """This event loop's hub if one exists (unlike `get_hub`, never creates one)."""
    hub = _hub
    return hub if hub is not None and hub.loop is asyncio.get_running_loop() else None
