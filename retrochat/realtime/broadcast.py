"""Publishing events to sockets on every worker, through the channel layer.

Services call `broadcast_on_commit` inside their transaction: the event leaves only after the
COMMIT, so nobody is told about a row that was rolled back. Recipients are explicit user ids
computed by the service from the database at send time.

Wire format on the channel layer (plain msgpack-safe dicts; the worker hub in `hub.py` consumes
them). The Socket.IO packet is encoded ONCE here, by the publisher, and every worker writes the
same text to each local socket::

    {"type": "rt.emit", "packet": '2["message:receive",{...}]',
     "users": ["u1", "u2"] | None, "room": "group.<id>" | None, "exclude_sid": str | None,
     "event": "message:receive", "ts": <publish time, for the fan-out latency metric>,
     "everyone": True (only from `emit_to_everyone`)}
    {"type": "rt.disconnect", "users": ["u1"], "auth_session_id": str | None, "reason": str}

Routing: an event for one user goes to that user's layer group (`user.<id>`, only workers holding
a socket of that user receive it); an event for several users goes once to the all-workers group
and each worker picks its local sockets of those users — one layer message per event, not one
per recipient. `emit_to_everyone` (operator notices) goes to the all-workers group and reaches
every authenticated socket of every worker.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from retrochat.observability import metrics

WORKERS_GROUP = "rt.workers"
_ROOM_NAME = re.compile(r"^[A-Za-z0-9._-]{1,90}$")


def user_group(user_id: str) -> str:
    """Channel-layer group of every worker that holds a socket of ``user_id``."""
    return room_group(f"user.{user_id}")


def room_group(room: str) -> str:
    if not _ROOM_NAME.match(room):
        raise ValueError(f"invalid room name {room!r}")
    return f"rt.{room}"


def encode_event(event: str, *args: Any) -> str:
    """Socket.IO EVENT packet (namespace "/") in compact JSON that keeps key order."""
    return "2" + json.dumps([event, *args], separators=(",", ":"), ensure_ascii=False)


def _emit_message(event: str, args: tuple[Any, ...], **target: Any) -> dict[str, Any]:
    return {"type": "rt.emit", "event": event, "packet": encode_event(event, *args), "ts": time.time(), **target}


async def _group_send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS is not configured"
    try:
        await layer.group_send(group, message)
    except Exception:
        metrics.layer_failure("group_send")
        raise


async def emit_to_users(event: str, *args: Any, user_ids: Iterable[str], exclude_sid: str | None = None) -> None:
    """Emit to every socket of each user, on every worker, once each."""
    users = list(dict.fromkeys(user_ids))
    if not users:
        return
    message = _emit_message(event, args, users=users, room=None, exclude_sid=exclude_sid)
    await _group_send(user_group(users[0]) if len(users) == 1 else WORKERS_GROUP, message)


async def emit_to_room(room: str, event: str, *args: Any, exclude_sid: str | None = None) -> None:
    """Emit to every socket that joined ``room`` (see `Socket.join`), on every worker."""
    await _group_send(room_group(room), _emit_message(event, args, users=None, room=room, exclude_sid=exclude_sid))


async def emit_to_everyone(event: str, *args: Any) -> None:
    """Emit to every authenticated socket on every worker (operator notices: ``manage.py broadcast``)."""
    await _group_send(WORKERS_GROUP, _emit_message(event, args, users=None, room=None, exclude_sid=None, everyone=True))


async def disconnect_users(user_ids: Iterable[str], *, auth_session_id: str | None = None, reason: str) -> None:
    """Close the sockets of these users (only those of one auth session if given), on every worker."""
    users = list(dict.fromkeys(user_ids))
    if not users:
        return
    message = {"type": "rt.disconnect", "users": users, "auth_session_id": auth_session_id, "reason": reason}
    await _group_send(WORKERS_GROUP, message)


def broadcast_on_commit(
    event: str, *args: Any, user_ids: Iterable[str], exclude_sid: str | None = None, using: str | None = None
) -> None:
    """From a service: after the current transaction commits, emit ``event`` to these users."""
    users = list(dict.fromkeys(user_ids))
    if users:
        send = partial(async_to_sync(emit_to_users), event, *args, user_ids=users, exclude_sid=exclude_sid)
        transaction.on_commit(send, using=using)


async def emit_many(emits: Iterable[tuple[str, Any, list[str]]]) -> None:
    """Emit ``(event, payload, user_ids)`` triples in this order."""
    for event, payload, user_ids in emits:
        await emit_to_users(event, payload, user_ids=user_ids)


def broadcast_many_on_commit(emits: list[tuple[str, Any, list[str]]], *, using: str | None = None) -> None:
    """From a batched service: after commit, emit every ``(event, payload, user_ids)`` in order, in one
    hop to the event loop (instead of one hop per event)."""
    if emits:
        transaction.on_commit(partial(async_to_sync(emit_many), emits), using=using)


def room_broadcast_on_commit(room: str, event: str, *args: Any, using: str | None = None) -> None:
    """From a service: after commit, emit ``event`` to a room."""
    transaction.on_commit(partial(async_to_sync(emit_to_room), room, event, *args), using=using)


def disconnect_on_commit(
    user_ids: Iterable[str], *, auth_session_id: str | None = None, reason: str, using: str | None = None
) -> None:
    """From a service: after commit, close these users' sockets (sign-out, deactivation)."""
    users = list(dict.fromkeys(user_ids))
    if users:
        send = partial(async_to_sync(disconnect_users), users, auth_session_id=auth_session_id, reason=reason)
        transaction.on_commit(send, using=using)
