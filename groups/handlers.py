"""Socket.IO handlers: groups (contract §4.3). Thin: parse → one service call → ack value."""

from __future__ import annotations

import time
from collections.abc import Awaitable

from channels.db import database_sync_to_async

from groups import services
from groups.message_batch import GroupSendRequest, group_message_sender
from groups.schemas import GroupMessageOut, GroupMessageSendIn, GroupTypingIn, parse_payload
from retrochat.errors import Forbidden
from retrochat.realtime.router import events
from retrochat.realtime.types import Socket

# A socket forwards at most one ``group:typing`` per group per this many seconds (the frontend
# sends one per burst of keystrokes and repeats it after 3 s of idleness).
TYPING_MIN_INTERVAL = 1.0
_TYPING_STATE_KEY = "groups.typing_sent_at"


def _clock() -> float:
    return time.monotonic()


def _user_id(socket: Socket) -> str:
    if not socket.user_id:
        raise Forbidden("Unauthorized")
    return socket.user_id


@events.on(
    "group:message:send", error_event="group:message:error", failure_message="Failed to send message", pipelined=True
)
def group_message_send(socket: Socket, payload: object = None, *_: object) -> Awaitable[GroupMessageOut]:
    """``{groupId, content, clientMessageId?}`` → the stored GroupMessage (also sent as ``group:message:sent``).

    Pipelined: queued in arrival order, answered when stored."""
    data = parse_payload(GroupMessageSendIn, payload)
    request = GroupSendRequest(
        sender_id=_user_id(socket), group_id=data.groupId, content=data.content, client_message_id=data.clientMessageId
    )
    # Coalesced with other sends, this socket's next ones included: one transaction and one COMMIT per round.
    return group_message_sender.submit_nowait(request)


@events.on("group:typing")
async def group_typing(socket: Socket, payload: object = None, *_: object) -> dict[str, bool]:
    """``{groupId}`` → ``group:typing`` to the other members, at most once a second per group and socket."""
    data = parse_payload(GroupTypingIn, payload)
    user_id = _user_id(socket)
    sent_at: dict[str, float] = socket.state.setdefault(_TYPING_STATE_KEY, {})
    now = _clock()
    last = sent_at.get(data.groupId)
    if last is not None and now - last < TYPING_MIN_INTERVAL:
        return {"ok": True, "throttled": True}
    sent_at[data.groupId] = now
    if len(sent_at) > 100:  # bound the state of a socket that types in many groups
        for key in sorted(sent_at, key=sent_at.__getitem__)[:50]:
            del sent_at[key]
    await database_sync_to_async(services.group_typing_notify)(group_id=data.groupId, user_id=user_id)
    return {"ok": True, "throttled": False}
