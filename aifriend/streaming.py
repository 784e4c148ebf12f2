"""Streamed AI replies: the AI friend (to the asking socket) and the group AI (to every member).

The socket handlers call `start_friend_reply` / `start_group_reply`. Each checks the request
(content, access, rate, one reply in flight), stores what has to be stored first, then runs the
reply as a task owned by the asking socket (`Socket.spawn`), so it is cancelled when that socket
disconnects.

Rules worth knowing (docs/AI.md has the long version):

- One reply in flight per user for the AI friend and one per group for the group AI; a second
  request while one streams is refused (``ai-friend:error`` / ``group:ai:error``), not queued.
- Chunks are numbered (``index`` from 0); ``fullResponse`` is everything so far.
- What is stored is exactly the last ``fullResponse`` sent; it is stored once, after the stream.
- A provider failure before any text gives the "Oops" text (contract §6.6); after some text, the
  reply ends there and that text is what is stored. An empty model answer gives the "Sorry" text.
- Disconnect (cancellation) while generating: nothing of the reply is stored (the prompt is).
  Group members other than the asker are sent ``group:ai:error`` with ``groupId`` so their
  "typing" state clears. If the reply was already being saved, it is saved whole.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import Any, TypedDict

from channels.db import database_sync_to_async

from aifriend import background, conf, limits, services
from aifriend.providers import ProviderError, get_provider
from aifriend.services import ReplyPlan
from chat.schemas.messages import MessageOut
from retrochat.errors import Conflict, DomainError, Forbidden, RateLimited
from retrochat.observability import metrics
from retrochat.realtime.broadcast import emit_to_users
from retrochat.realtime.types import Socket

logger = logging.getLogger(__name__)

ChunkSink = Callable[[str, str, int], Awaitable[None]]
"""``async sink(chunk, full_response, index)``."""


class Exchange(TypedDict):
    userMessage: MessageOut
    aiResponse: MessageOut


async def produce_reply(plan: ReplyPlan, sink: ChunkSink | None = None, *, target: str = "") -> str:
    """Run the plan: a fixed text as one chunk, or the provider's stream. Returns the full reply."""
    started = time.monotonic()

    async def send(chunk: str, full: str, index: int) -> None:
        if sink is not None:
            await sink(chunk, full, index)

    if plan.fixed_text is not None or plan.request is None:
        text = plan.fixed_text or conf.EMPTY_REPLY_TEXT
        await send(text, text, 0)
        logger.info("AI reply for %s: fixed text (%d chars)", target, len(text))
        return text

    provider = get_provider()
    full = ""
    index = 0
    outcome = "ok"
    stream = metrics.AiStream(provider.name)
    result = "ok"
    try:
        async with asyncio.timeout(conf.reply_deadline()):
            async with aclosing(provider.stream(plan.request)) as chunks:  # type: ignore[type-var]
                async for chunk in chunks:
                    if not chunk:
                        continue
                    full += chunk
                    await send(chunk, full, index)
                    index += 1
    except (ProviderError, TimeoutError) as exc:
        outcome = f"failed ({exc!r})"
        result = "timeout" if isinstance(exc, TimeoutError) else "failed"
    except Exception as exc:  # a provider bug must not become a stuck stream
        logger.exception("AI provider %s raised unexpectedly", provider.name)
        outcome = f"failed ({exc!r})"
        result = "failed"
    except asyncio.CancelledError:
        result = "cancelled"
        raise
    finally:
        stream.finish(result)
    if not full:
        full = conf.FAILURE_TEXT if outcome != "ok" else conf.EMPTY_REPLY_TEXT
        await send(full, full, 0)
    logger.info(
        "AI reply for %s served by provider %s: %s, %d chunk(s), %d chars in %.2fs",
        target,
        provider.name,
        outcome,
        max(index, 1),
        len(full),
        time.monotonic() - started,
    )
    return full


async def _admit(user_id: str, slot_key: str, busy_message: str) -> str:
    """Rate limit, then the reply slot; returns the slot token or raises."""
    if not await limits.allow(user_id):
        metrics.rate_limited("ai")
        raise RateLimited(conf.RATE_LIMITED, retry_after=limits.WINDOW)
    token = await limits.acquire_slot(slot_key)
    if token is None:
        raise Conflict(busy_message)
    return token


def _user_id(socket: Socket) -> str:
    if not socket.user_id:
        raise Forbidden("Unauthorized")
    return socket.user_id


def _field(payload: object, name: str) -> object:
    return payload.get(name) if isinstance(payload, dict) else None


# --- the AI friend ----------------------------------------------------------------------------


async def start_friend_reply(socket: Socket, payload: object) -> MessageOut:
    """``ai-friend:message`` ``{content}``: store the prompt, confirm it, stream the reply (spawned)."""
    user_id = _user_id(socket)
    content = services.clean_prompt(_field(payload, "content"))
    slot_key = f"user:{user_id}"
    token = await _admit(user_id, slot_key, conf.REPLY_IN_PROGRESS)
    try:
        prompt_message: MessageOut = await database_sync_to_async(services.ai_friend_prompt_store)(
            user_id=user_id, content=content
        )
        await socket.emit("ai-friend:user-message-sent", prompt_message)
        task = socket.spawn(
            _friend_reply(socket, user_id, content, prompt_message["id"], slot_key, token),
            name=f"ai-friend-reply:{user_id}",
        )
        if task is None:  # the socket is going away: the reply never starts
            await limits.release_slot(slot_key, token)
    except BaseException:
        await limits.release_slot(slot_key, token)
        raise
    return prompt_message


async def _friend_reply(socket: Socket, user_id: str, prompt: str, message_id: str, slot_key: str, token: str) -> None:
    try:
        await socket.emit("ai-friend:stream-start", {"messageId": message_id})
        plan = await background.run(services.ai_friend_reply_plan, user_id=user_id, prompt=prompt)

        async def sink(chunk: str, full: str, index: int) -> None:
            await socket.emit("ai-friend:stream-chunk", {"chunk": chunk, "fullResponse": full, "index": index})

        full = await produce_reply(plan, sink, target=f"user {user_id}")
        message = await database_sync_to_async(services.ai_friend_reply_store)(user_id=user_id, content=full)
        await socket.emit("ai-friend:stream-end", {"message": message})
    except asyncio.CancelledError:
        logger.info("AI friend reply for %s cancelled (socket gone); partial reply discarded", user_id)
        raise
    except Exception:
        logger.exception("AI friend reply for %s failed", user_id)
        await socket.emit("ai-friend:error", {"error": conf.GENERATION_FAILED})
    finally:
        await limits.release_slot(slot_key, token)


async def reply_once(*, user_id: str, content: str) -> Exchange:
    """``POST /api/ai-friend/message``: the same rules, without streaming."""
    slot_key = f"user:{user_id}"
    token = await _admit(user_id, slot_key, conf.REPLY_IN_PROGRESS)
    try:
        prompt_message: MessageOut = await database_sync_to_async(services.ai_friend_prompt_store)(
            user_id=user_id, content=content
        )
        plan = await background.run(services.ai_friend_reply_plan, user_id=user_id, prompt=prompt_message["content"])
        full = await produce_reply(plan, target=f"user {user_id} (REST)")
        reply: MessageOut = await database_sync_to_async(services.ai_friend_reply_store)(user_id=user_id, content=full)
    finally:
        await limits.release_slot(slot_key, token)
    return {"userMessage": prompt_message, "aiResponse": reply}


# --- the group AI -----------------------------------------------------------------------------


async def start_group_reply(socket: Socket, payload: object) -> dict[str, Any]:
    """``group:ai:mention`` ``{groupId, content}``: checks, then the reply streams to every member.

    Any refusal is sent to the asking socket as ``group:ai:error`` ``{groupId, error}`` and raised
    (so the ack carries it too).
    """
    raw_group_id = _field(payload, "groupId")
    group_id = raw_group_id if isinstance(raw_group_id, str) else ""
    try:
        user_id = _user_id(socket)
        content = services.clean_prompt(_field(payload, "content"))
        mention = await database_sync_to_async(services.group_ai_mention_check)(user_id=user_id, group_id=group_id)
        slot_key = f"group:{mention.group_id}"
        token = await _admit(user_id, slot_key, conf.GROUP_REPLY_IN_PROGRESS)
    except DomainError as exc:
        await socket.emit("group:ai:error", {"groupId": group_id, "error": exc.message})
        raise
    except Exception:
        await socket.emit("group:ai:error", {"groupId": group_id, "error": conf.GENERATION_FAILED})
        raise
    try:
        message_id = f"temp-{int(time.time() * 1000)}"
        task = socket.spawn(
            _group_reply(socket, mention, content, message_id, slot_key, token),
            name=f"group-ai-reply:{mention.group_id}",
        )
        if task is None:
            await limits.release_slot(slot_key, token)
    except BaseException:
        await limits.release_slot(slot_key, token)
        raise
    return {"groupId": str(mention.group_id), "messageId": message_id}


async def _group_reply(
    socket: Socket, mention: services.GroupMention, prompt: str, message_id: str, slot_key: str, token: str
) -> None:
    group_id = str(mention.group_id)
    recipients = mention.recipients
    try:
        await emit_to_users(
            "group:ai:stream-start", {"groupId": group_id, "messageId": message_id}, user_ids=recipients
        )
        plan = await background.run(services.group_ai_reply_plan, group_id=mention.group_id, prompt=prompt)

        async def sink(chunk: str, full: str, index: int) -> None:
            await emit_to_users(
                "group:ai:stream-chunk",
                {"groupId": group_id, "chunk": chunk, "fullResponse": full, "index": index},
                user_ids=recipients,
            )

        full = await produce_reply(plan, sink, target=f"group {group_id}")
        # Stores the message and, after commit, sends group:ai:stream-end to the current members.
        await database_sync_to_async(services.group_ai_reply_store)(group_id=mention.group_id, content=full)
    except asyncio.CancelledError:
        logger.info("Group AI reply in %s cancelled (asking socket gone); partial reply discarded", group_id)
        others = [uid for uid in recipients if uid != socket.user_id]
        await _tell_watchers(group_id, others)
        raise
    except Exception:
        logger.exception("Group AI reply in %s failed", group_id)
        await emit_to_users(
            "group:ai:error", {"groupId": group_id, "error": conf.GENERATION_FAILED}, user_ids=recipients
        )
    finally:
        await limits.release_slot(slot_key, token)


async def _tell_watchers(group_id: str, user_ids: list[str]) -> None:
    """Best effort, from a cancelled task: let the other members' screens leave the streaming state."""
    try:
        await asyncio.shield(
            emit_to_users("group:ai:error", {"groupId": group_id, "error": conf.GENERATION_FAILED}, user_ids=user_ids)
        )
    except (Exception, asyncio.CancelledError):
        logger.warning("Could not tell the members of %s that the group AI reply stopped", group_id)
