"""Reads of direct messages: conversation pages (with cursors) and the unread count."""

from __future__ import annotations

import uuid

from django.db.models import Q

from chat.models import DirectMessage
from retrochat.errors import BadRequest, NotFound

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100


def conversation(user_id: str, other_id: str) -> Q:
    """Messages between the two users, in either direction."""
    return Q(from_user_id=user_id, to_user_id=other_id) | Q(from_user_id=other_id, to_user_id=user_id)


def parse_message_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except (ValueError, AttributeError, TypeError):
        return None


def message_not_found(raw: str) -> NotFound:
    return NotFound(f"Message with ID {raw} not found")


def clamp_limit(raw: str | None) -> int:
    """``limit`` query value: default 50, integers only (else 400), clamped to 1..100."""
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    text = raw.strip()
    sign, digits = (text[0], text[1:]) if text[:1] in "+-" else ("", text)
    if not digits.isascii() or not digits.isdigit() or len(digits) > 12:
        raise BadRequest("limit must be an integer number")
    value = int(sign + digits)
    return max(1, min(MAX_PAGE_SIZE, value))


def conversation_page(
    *,
    user_id: str,
    other_id: str,
    limit: int = DEFAULT_PAGE_SIZE,
    before: str | None = None,
    after: str | None = None,
) -> list[DirectMessage]:
    """One page of the conversation, oldest first, in ``(timestamp, id)`` order.

    - no cursor: the newest ``limit`` messages;
    - ``before=<id>``: the newest ``limit`` messages older than that message (scrolling up);
    - ``after=<id>``: the oldest ``limit`` messages newer than that message (catching up after a
      reconnect; repeat with the last id received until a page is shorter than ``limit``).

    A cursor must be a message of this very conversation; anything else is "not found", exactly
    like an id that does not exist. One query without a cursor, two with one.
    """
    if before is not None and after is not None:
        raise BadRequest("Use either before or after, not both")
    pair = conversation(user_id, other_id)
    messages = DirectMessage.objects.filter(pair)
    cursor_raw = before if before is not None else after
    if cursor_raw is None:
        newest = messages.order_by("-timestamp", "-id")[:limit]
        return list(reversed(newest))

    cursor_id = parse_message_id(cursor_raw)
    if cursor_id is None:
        raise message_not_found(cursor_raw)
    cursor = messages.filter(id=cursor_id).values_list("timestamp", "id").first()
    if cursor is None:
        raise message_not_found(cursor_raw)
    ts, mid = cursor
    if before is not None:
        older = messages.filter(Q(timestamp__lt=ts) | Q(timestamp=ts, id__lt=mid)).order_by("-timestamp", "-id")
        return list(reversed(older[:limit]))
    newer = messages.filter(Q(timestamp__gt=ts) | Q(timestamp=ts, id__gt=mid)).order_by("timestamp", "id")
    return list(newer[:limit])


def unread_count(*, user_id: str) -> int:
    """Messages addressed to the user and not marked read (AI-friend replies included)."""
    return DirectMessage.objects.filter(to_user_id=user_id, is_read=False).count()
