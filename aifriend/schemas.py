"""Typed shapes of the AI friend (contract §3.2 StyleProfile, §3.6), shared by REST and sockets."""

from __future__ import annotations

from typing import Any, TypedDict

from ninja import Schema
from pydantic import ConfigDict, StrictStr, field_validator

from aifriend import conf
from aifriend.models import StyleProfile
from retrochat.timefmt import iso_z


class AIFriendMessageIn(Schema):
    """``POST /api/ai-friend/message`` ``{content}``: trimmed, 1..2000 characters, nothing else."""

    model_config = ConfigDict(extra="forbid")

    content: StrictStr

    @field_validator("content")
    @classmethod
    def _content(cls, value: str) -> str:
        text = value.strip()
        if not text:
            raise ValueError("content should not be empty")
        if len(text) > conf.CONTENT_MAX_LENGTH:
            raise ValueError(f"content must be shorter than or equal to {conf.CONTENT_MAX_LENGTH} characters")
        return text


class StyleProfileOut(TypedDict):
    userId: str
    messageCount: int
    commonPhrases: list[str] | None
    emojiUsage: dict[str, int] | None
    averageMessageLength: float | int | None
    toneIndicators: dict[str, int] | None
    lastUpdated: str
    hasMinimumData: bool


def _emoji_by_use(value: Any) -> dict[str, int] | None:
    """Most used first (PostgreSQL's jsonb does not keep key order)."""
    if not isinstance(value, dict):
        return None
    items = [(str(k), int(v)) for k, v in value.items()]
    return dict(sorted(items, key=lambda item: -item[1]))


def _number(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def style_profile_out(profile: StyleProfile) -> StyleProfileOut:
    """StyleProfile (contract §3.2). ``stylePrompt`` is not exposed (contract §8 item 32)."""
    return {
        "userId": profile.user_id,
        "messageCount": profile.message_count,
        "commonPhrases": list(profile.common_phrases) if isinstance(profile.common_phrases, list) else None,
        "emojiUsage": _emoji_by_use(profile.emoji_usage),
        "averageMessageLength": _number(profile.average_message_length),
        "toneIndicators": dict(profile.tone_indicators) if isinstance(profile.tone_indicators, dict) else None,
        "lastUpdated": iso_z(profile.last_updated),
        "hasMinimumData": profile.message_count >= conf.FRIEND_MIN_MESSAGES,
    }
