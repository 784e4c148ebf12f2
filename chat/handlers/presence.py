"""Socket.IO handlers: presence (contract §4.2, §4.3, §8.1).

The connect hook of chat/handlers/connection.py authenticates the socket and runs first (that
module is imported before this one), so ``socket.user_id`` is set when these hooks run.

The socket is recorded as present only once its CONNECT has been answered: the hook spawns the
work as a task of the socket, which starts after the last connect hook (and never if a later
check refuses the connection — then nothing was recorded and nothing needs undoing). That task
also sends the new socket its ``user:status-batch``. Presence problems (e.g. Redis briefly
unreachable) are logged and never refuse or break a connection.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from chat.handlers.messages import socket_user
from chat.schemas.messages import parse_payload
from chat.schemas.presence import StatusBatchOut, StatusCheckIn
from chat.services.friend_cache import FRIENDSHIP_EVENTS, friend_cache
from chat.services.presence import presence_connect, presence_disconnect, presence_status_batch
from retrochat.realtime.hub import observe_event
from retrochat.realtime.router import events
from retrochat.realtime.types import Socket

logger = logging.getLogger(__name__)

_TASK = "presence.connect"

# A friendship change reaching this worker drops the users' cached friend sets before their
# sockets are told (``user:check-status`` reads them).
for _event in FRIENDSHIP_EVENTS:
    observe_event(_event, friend_cache.invalidate)


async def _record_connect(socket: Socket) -> None:
    if not socket.connected:
        return
    try:
        await presence_connect(socket)
    except Exception:
        logger.exception("presence: connect of socket %s (user %s) not recorded", socket.sid, socket.user_id)


@events.on_connect
async def on_connect(socket: Socket, auth: Any) -> None:
    if socket.user_id is None:
        return
    task = socket.spawn(_record_connect(socket), name="presence-connect")
    if task is not None:
        socket.state[_TASK] = task


@events.on_disconnect
async def on_disconnect(socket: Socket, reason: str) -> None:
    task = socket.state.pop(_TASK, None)
    if isinstance(task, asyncio.Task) and not task.done():
        # The engine has cancelled it with the socket; let it unwind before undoing its work.
        await asyncio.wait([task], timeout=5)
    try:
        await presence_disconnect(socket)
    except Exception:
        logger.exception("presence: disconnect of socket %s (user %s) not recorded", socket.sid, socket.user_id)


@events.on("user:check-status")
async def on_check_status(socket: Socket, payload: object = None, *_: object) -> StatusBatchOut:
    """``{userIds}`` → ``user:status-batch`` to this socket (friends: real status, others: offline)."""
    user_id = socket_user(socket)
    data = parse_payload(StatusCheckIn, payload)
    batch = await presence_status_batch(user_id=user_id, user_ids=data.user_ids)
    await socket.emit("user:status-batch", batch)
    return batch


@events.on("user:online")
async def on_user_online(socket: Socket, *_: object) -> None:
    """Sent by the frontend on every connect. Presence follows the sockets themselves: nothing to do."""
