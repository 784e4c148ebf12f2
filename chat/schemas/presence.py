"""Presence and typing on the wire (contract §4.3, §4.4)."""

from __future__ import annotations

from typing import Literal, TypedDict

from pydantic import Field

from chat.schemas.messages import SocketPayload

# A contact list is far smaller; the cap only bounds the work one event can ask for.
MAX_STATUS_QUERY = 1000

Status = Literal["online", "offline"]


class StatusCheckIn(SocketPayload):
    """``user:check-status`` ``{userIds: string[]}``."""

    user_ids: list[str] = Field(alias="userIds", max_length=MAX_STATUS_QUERY)


class TypingIn(SocketPayload):
    """``user:typing`` ``{toUserId}``."""

    to_user_id: str = Field(alias="toUserId", min_length=1, max_length=64)


class UserStatusOut(TypedDict):
    userId: str
    status: Status


class StatusBatchOut(TypedDict):
    statuses: list[UserStatusOut]


class TypingOut(TypedDict):
    fromUserId: str


class TypingAck(TypedDict):
    ok: bool
    throttled: bool
