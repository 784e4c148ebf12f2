"""Socket.IO handlers: typing indicators (``user:typing``, contract §4.3)."""

from __future__ import annotations

from chat.handlers.messages import socket_user
from chat.schemas.messages import parse_payload
from chat.schemas.presence import TypingAck, TypingIn
from chat.services.typing import typing_notify
from retrochat.realtime.router import events
from retrochat.realtime.types import Socket


@events.on("user:typing")
async def on_typing(socket: Socket, payload: object = None, *_: object) -> TypingAck:
    """``{toUserId}`` → ``user:typing`` ``{fromUserId}`` to every socket of that friend (rate-limited).

    The ack (for clients that ask) says whether the indicator was dropped by the rate limit.
    """
    user_id = socket_user(socket)
    data = parse_payload(TypingIn, payload)
    delivered = await typing_notify(user_id=user_id, to_user_id=data.to_user_id)
    return {"ok": True, "throttled": not delivered}
