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
    {"type": "rt.batch", "messages": [<rt.emit or rt.disconnect>, ...]}

Routing: an event for one user goes to that user's layer group (`user.<id>`, only workers holding
a socket of that user receive it); an event for several users goes once to the all-workers group
and each worker picks its local sockets of those users — one layer message per event, not one
per recipient. Several messages published together (a batched round of sends, see
`collect_published`) travel as ONE ``rt.batch`` to the all-workers group, so a round costs one
layer round trip whatever its size; each worker applies them in order. `emit_to_everyone`
(operator notices) goes to the all-workers group and reaches every authenticated socket.

With the in-memory layer every subscriber lives in this process, so a publisher running on the
serving event loop hands its messages straight to this worker's hub (same order, same
per-socket rules) instead of queueing them through the layer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

from retrochat.observability import metrics
from retrochat.realtime.addressing import WORKERS_GROUP, room_group, user_group
from retrochat.realtime.hub import current_hub
from retrochat.realtime.sio import EncodedJson, dumps

__all__ = [
    "WORKERS_GROUP",
    "broadcast_many_on_commit",
    "broadcast_on_commit",
    "collect_published",
    "disconnect_on_commit",
    "disconnect_users",
    "emit_to_everyone",
    "emit_to_room",
    "emit_to_users",
    "encode_event",
    "publish",
    "room_group",
    "user_group",
]

LayerMessage = dict[str, Any]


def encode_event(event: str, *args: Any) -> str:
    """Socket.IO EVENT packet (namespace "/") in compact JSON that keeps key order (as the codec
    writes it: numbers and unpaired surrogates the way JavaScript's ``JSON.stringify`` does)."""
    return "2" + dumps([event, *args])


def _emit_message(event: str, args: tuple[Any, ...], *, packet: str | None = None, **target: Any) -> LayerMessage:
    if packet is None:
        packet = encode_event(event, *args)
    return {"type": "rt.emit", "event": event, "packet": packet, "ts": time.time(), **target}


def _to_users(
    event: str, args: tuple[Any, ...], users: list[str], exclude_sid: str | None = None, *, packet: str | None = None
) -> LayerMessage:
    return _emit_message(event, args, packet=packet, users=users, room=None, exclude_sid=exclude_sid)


def _disconnect_message(users: list[str], auth_session_id: str | None, reason: str) -> LayerMessage:
    return {"type": "rt.disconnect", "users": users, "auth_session_id": auth_session_id, "reason": reason}


def _route(message: LayerMessage) -> str:
    """The narrowest layer group that reaches every worker that may hold a recipient."""
    if message["type"] == "rt.emit" and not message.get("everyone"):
        if message.get("room"):
            return room_group(message["room"])
        users: list[str] = message.get("users") or []
        if len(users) == 1:
            return user_group(users[0])
    return WORKERS_GROUP


async def publish(messages: Sequence[LayerMessage]) -> None:
    """Send layer messages to every worker, in this order (one layer message whatever their number)."""
    if not messages:
        return
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS is not configured"
    hub = current_hub() if isinstance(layer, InMemoryChannelLayer) else None
    if hub is not None:
        for message in messages:
            hub.handle(message)
        return
    if len(messages) == 1:
        group, message = _route(messages[0]), messages[0]
    else:
        group, message = WORKERS_GROUP, {"type": "rt.batch", "messages": list(messages)}
    try:
        await layer.group_send(group, message)
    except Exception:
        metrics.layer_failure("group_send")
        raise


async def emit_to_users(event: str, *args: Any, user_ids: Iterable[str], exclude_sid: str | None = None) -> None:
    """Emit to every socket of each user, on every worker, once each."""
    users = list(dict.fromkeys(user_ids))
    if users:
        await publish([_to_users(event, args, users, exclude_sid)])


async def emit_to_room(room: str, event: str, *args: Any, exclude_sid: str | None = None) -> None:
    """Emit to every socket that joined ``room`` (see `Socket.join`), on every worker."""
    room_group(room)  # validates the name before anything is sent
    await publish([_emit_message(event, args, users=None, room=room, exclude_sid=exclude_sid)])


async def emit_to_everyone(event: str, *args: Any) -> None:
    """Emit to every authenticated socket on every worker (operator notices: ``manage.py broadcast``)."""
    await publish([_emit_message(event, args, users=None, room=None, exclude_sid=None, everyone=True)])


async def disconnect_users(user_ids: Iterable[str], *, auth_session_id: str | None = None, reason: str) -> None:
    """Close the sockets of these users (only those of one auth session if given), on every worker."""
    users = list(dict.fromkeys(user_ids))
    if users:
        await publish([_disconnect_message(users, auth_session_id, reason)])


# ---------------------------------------------------------------------- from services, after COMMIT

_collecting = threading.local()


@contextmanager
def collect_published() -> Iterator[list[LayerMessage]]:
    """Inside this block, on this thread, what services publish after a COMMIT is appended to the
    yielded list (in order) instead of being sent; the caller sends it with `publish`.

    A batched round (`chat.services.batching.Batcher`) runs its services inside this block on the
    database thread and publishes on the event loop, so the database thread never waits for the
    event loop or the channel layer, and a whole round leaves as one layer message.
    """
    previous = getattr(_collecting, "sink", None)
    sink: list[LayerMessage] = []
    _collecting.sink = sink
    try:
        yield sink
    finally:
        _collecting.sink = previous


def _publish_on_commit(messages: list[LayerMessage], using: str | None) -> None:
    sink: list[LayerMessage] | None = getattr(_collecting, "sink", None)
    if sink is not None:
        transaction.on_commit(partial(sink.extend, messages), using=using)
    else:
        transaction.on_commit(partial(async_to_sync(publish), messages), using=using)


def broadcast_on_commit(
    event: str, *args: Any, user_ids: Iterable[str], exclude_sid: str | None = None, using: str | None = None
) -> None:
    """From a service: after the current transaction commits, emit ``event`` to these users."""
    users = list(dict.fromkeys(user_ids))
    if users:
        _publish_on_commit([_to_users(event, args, users, exclude_sid)], using)


def broadcast_many_on_commit(emits: Iterable[tuple[str, Any, list[str]]], *, using: str | None = None) -> None:
    """From a batched service: after commit, emit every ``(event, payload, user_ids)`` in this order.

    A payload object emitted under several events (``message:receive`` and ``message:sent`` of one
    message) is encoded to JSON once; an `EncodedJson` payload is used as it is."""
    encoded: dict[int, str] = {}
    messages: list[LayerMessage] = []
    for event, payload, users in emits:
        if not users:
            continue
        body = payload.text if isinstance(payload, EncodedJson) else encoded.get(id(payload))
        if body is None:
            body = encoded[id(payload)] = dumps(payload)
        packet = f"2[{dumps(event)},{body}]"
        messages.append(_to_users(event, (payload,), list(dict.fromkeys(users)), packet=packet))
    if messages:
        _publish_on_commit(messages, using)


def disconnect_on_commit(
    user_ids: Iterable[str], *, auth_session_id: str | None = None, reason: str, using: str | None = None
) -> None:
    """From a service: after commit, close these users' sockets (sign-out, deactivation)."""
    users = list(dict.fromkeys(user_ids))
    if users:
        _publish_on_commit([_disconnect_message(users, auth_session_id, reason)], using)
