"""Presence: online while at least one socket is alive anywhere; changes go to friends only.

Unlike the other services these are coroutines: presence lives in the presence store (Redis or
in-process, see `chat.presence_store`), not in a database transaction. The database is read
through `database_sync_to_async`, once per call.

Events (contract §4.4, with the fixes of §8.1):

- ``user:status`` ``{userId, status}`` → every socket of each FRIEND, when the user's first socket
  arrives ("online") and when the last one goes or its worker dies ("offline");
  also, right after two people become friends, each one who is online → the other;
- ``user:status-batch`` ``{statuses: [{userId, status}]}`` → the new socket on connect (all its
  friends), and the asking socket for ``user:check-status`` (non-friends always "offline").

``user:check-status`` reads the asker's friends from this worker's `friend_cache` (filled at
connect, dropped when a friendship of the user changes and when one of their sockets here goes),
so a status request costs no database query.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Iterable, Sequence

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.db import transaction

from chat.presence_store import get_presence_store
from chat.schemas.presence import Status, StatusBatchOut
from chat.selectors.friends import friend_ids_of_many
from chat.services.batching import Batcher
from chat.services.friend_cache import friend_cache
from retrochat.realtime.broadcast import emit_to_users
from retrochat.realtime.types import Socket

logger = logging.getLogger(__name__)

_heartbeats: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[None]] = weakref.WeakKeyDictionary()


def status_batch_out(user_ids: Iterable[str], online: set[str]) -> StatusBatchOut:
    return {
        "statuses": [{"userId": uid, "status": "online" if uid in online else "offline"} for uid in user_ids],
    }


async def announce(user_ids: Iterable[str], status: Status) -> None:
    """Tell each user's friends (every socket of each friend) the user's new status."""
    users = list(dict.fromkeys(user_ids))
    if not users:
        return
    friends = await database_sync_to_async(friend_ids_of_many)(user_ids=users)
    for user_id in users:
        if friends.get(user_id):
            await emit_to_users("user:status", {"userId": user_id, "status": status}, user_ids=friends[user_id])


async def presence_connect(socket: Socket) -> None:
    """A socket of an authenticated user arrived: register it, tell friends if it is the first one,
    and give the new socket the status of every friend."""
    user_id = socket.user_id
    if user_id is None:
        return
    store = get_presence_store()
    came_online = await store.connect(user_id, socket.sid)
    if store.shared:
        ensure_heartbeat()
    epoch = friend_cache.epoch()
    friends = await _load_friend_ids(user_id)
    friend_cache.put(user_id, friends, epoch=epoch)
    if came_online and friends:
        await emit_to_users("user:status", {"userId": user_id, "status": "online"}, user_ids=friends)
    online = await store.online(friends)
    await socket.emit("user:status-batch", status_batch_out(friends, online))


async def presence_disconnect(socket: Socket) -> None:
    """A socket went away: forget it; if it was the user's last one, tell the friends."""
    user_id = socket.user_id
    if user_id is None:
        return
    # This worker may stop receiving the user's events: never keep their friend set without a socket.
    friend_cache.invalidate([user_id])
    if await get_presence_store().disconnect(user_id, socket.sid):
        await announce([user_id], "offline")


def _friend_ids_many(user_ids: Sequence[str]) -> list[list[str]]:
    friends = friend_ids_of_many(user_ids=user_ids)
    return [friends[user_id] for user_id in user_ids]


# Connects and cache misses arriving together share one query per round.
_friend_ids: Batcher[str, list[str]] = Batcher(_friend_ids_many, name="friend-ids")


async def _load_friend_ids(user_id: str) -> list[str]:
    return await _friend_ids.submit(user_id)


async def presence_status_batch(*, user_id: str, user_ids: Iterable[str]) -> StatusBatchOut:
    """Statuses for ``user:check-status``: real ones for friends, "offline" for everybody else."""
    wanted = list(dict.fromkeys(user_ids))
    friends = await friend_cache.friends_of(user_id, _load_friend_ids)
    online = await get_presence_store().online([uid for uid in wanted if uid in friends])
    return status_batch_out(wanted, online)


async def presence_share(*, user_id: str, other_id: str) -> None:
    """Two people just became friends: each one who is online is shown online to the other.

    (The frontend adds a new friend as "offline" and does not ask again.)
    """
    online = await get_presence_store().online([user_id, other_id])
    for uid, other in ((user_id, other_id), (other_id, user_id)):
        if uid in online:
            await emit_to_users("user:status", {"userId": uid, "status": "online"}, user_ids=[other])


def presence_share_on_commit(*, user_id: str, other_id: str) -> None:
    """From a service: `presence_share` after the current transaction commits (best effort)."""

    def share() -> None:
        try:
            async_to_sync(presence_share)(user_id=user_id, other_id=other_id)
        except Exception:
            logger.exception("presence: could not share statuses of new friends %s and %s", user_id, other_id)

    transaction.on_commit(share)


async def presence_tick() -> None:
    """One heartbeat of this process: refresh its sockets' entries, expire dead ones everywhere."""
    store = get_presence_store()
    back = await store.refresh_local()
    gone = await store.sweep()
    await announce(back, "online")
    await announce(gone, "offline")


async def _heartbeat_loop(interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await presence_tick()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("presence heartbeat failed; retrying in %.1f s", interval)


def ensure_heartbeat() -> None:
    """Start this process's presence heartbeat on the running loop (once per loop)."""
    loop = asyncio.get_running_loop()
    task = _heartbeats.get(loop)
    if task is None or task.done():
        store = get_presence_store()
        interval = getattr(store, "interval_seconds", 6.0)
        _heartbeats[loop] = loop.create_task(_heartbeat_loop(interval), name="presence-heartbeat")


def stop_heartbeat() -> None:
    """Cancel the heartbeat of the running loop, if any (tests; a worker shutting down)."""
    task = _heartbeats.pop(asyncio.get_running_loop(), None)
    if task is not None:
        task.cancel()
