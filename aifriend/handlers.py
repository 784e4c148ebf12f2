"""Socket.IO handlers: the AI friend and the group AI (thin: everything is in `aifriend.streaming`)."""

from __future__ import annotations

from typing import Any

from aifriend import conf, streaming
from chat.schemas.messages import MessageOut
from retrochat.realtime.router import events
from retrochat.realtime.types import Socket


@events.on("ai-friend:message", error_event="ai-friend:error", failure_message=conf.GENERATION_FAILED)
async def ai_friend_message(socket: Socket, payload: object = None) -> MessageOut:
    """``{content}`` → ``ai-friend:user-message-sent``, ``stream-start``, ``stream-chunk``…, ``stream-end``."""
    return await streaming.start_friend_reply(socket, payload)


# No error_event: `start_group_reply` sends group:ai:error itself, because it must carry groupId.
@events.on("group:ai:mention", failure_message=conf.GENERATION_FAILED)
async def group_ai_mention(socket: Socket, payload: object = None) -> dict[str, Any]:
    """``{groupId, content}`` → ``group:ai:stream-start`` / ``-chunk`` / ``-end`` to every member."""
    return await streaming.start_group_reply(socket, payload)
