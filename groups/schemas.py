"""Typed shapes of the groups app, shared by REST and Socket.IO (contract §3.2, §3.7, §4.4).

Inputs are pydantic/ninja schemas that word their refusals like the original's class-validator
DTOs. Outputs are plain JSON-safe dicts (TypedDicts), built by the ``*_out`` functions below, so
the very same value can be returned by a REST endpoint, sent as an ack and pushed through the
channel layer.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypeVar

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError, field_validator
from typing_extensions import TypedDict

from chat.models import Profile, User
from groups.models import Group, GroupMember, GroupMessage, GroupStyleProfile
from retrochat.errors import BadRequest
from retrochat.timefmt import iso_z

MIN_OTHER_MEMBERS = 2
CLIENT_MESSAGE_ID_MAX_LENGTH = 64

# --- REST inputs ------------------------------------------------------------------------------


class GroupCreateIn(Schema):
    """``POST /api/groups``: ``description`` is optional (contract §3.8 #1); nothing else is allowed."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(min_length=1, max_length=50)
    description: StrictStr | None = Field(default=None, max_length=200)
    memberIds: list[str]  # noqa: N815 (wire name)

    @field_validator("memberIds", mode="before")
    @classmethod
    def _member_ids(cls, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError("memberIds must be an array")
        if not all(isinstance(item, str) for item in value):
            raise ValueError("each value in memberIds must be a string")
        if len(value) < MIN_OTHER_MEMBERS:
            raise ValueError("Groups must have at least 3 members including the creator")
        return value


class GroupUpdateIn(Schema):
    """``PATCH /api/groups/:id``: any of the three keys; only the keys sent change."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr | None = Field(default=None, max_length=50)
    description: StrictStr | None = Field(default=None, max_length=200)
    aiEnabled: StrictBool | None = None  # noqa: N815


class AddMemberIn(Schema):
    """``POST /api/groups/:id/members``."""

    model_config = ConfigDict(extra="forbid")

    userId: StrictStr = Field(min_length=1)  # noqa: N815


class ToggleAiIn(Schema):
    """``PATCH /api/groups/:id/ai/toggle``: ``aiEnabled`` must be present and a boolean."""

    aiEnabled: Any = Field(default=None, validate_default=True)  # noqa: N815

    @field_validator("aiEnabled", mode="before")
    @classmethod
    def _boolean(cls, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError("aiEnabled must be a boolean value")
        return value


# --- socket inputs ----------------------------------------------------------------------------


class GroupMessageSendIn(BaseModel):
    """``group:message:send`` ``{groupId, content, clientMessageId?}`` (unknown keys ignored)."""

    groupId: StrictStr  # noqa: N815
    content: StrictStr
    clientMessageId: StrictStr | None = Field(default=None, min_length=1, max_length=CLIENT_MESSAGE_ID_MAX_LENGTH)  # noqa: N815


class GroupTypingIn(BaseModel):
    """``group:typing`` ``{groupId}``."""

    groupId: StrictStr  # noqa: N815


M = TypeVar("M", bound=BaseModel)


def parse_payload(model: type[M], payload: object) -> M:
    """Validate a socket payload; a refusal names the first offending key."""
    if not isinstance(payload, dict):
        raise BadRequest("Payload must be an object")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "payload"
        raise BadRequest(f"Invalid {where}: {first.get('msg', 'invalid value')}") from None


# --- outputs ----------------------------------------------------------------------------------


class UserCard(TypedDict):
    """The sender card on a group message (contract §3.8 #3)."""

    id: str
    username: str
    displayName: str
    profilePictureUrl: str | None


class MemberUser(UserCard):
    """The user inside a GroupMember; ``statusMessage`` is the additive fix of contract §3.8 #4."""

    statusMessage: str | None


class GroupMemberOut(TypedDict):
    id: str
    userId: str
    isAdmin: bool
    joinedAt: str
    notificationsMuted: bool
    user: MemberUser


class GroupOut(TypedDict):
    id: str
    name: str
    description: str | None
    createdBy: str
    createdAt: str
    updatedAt: str
    aiEnabled: bool
    members: list[GroupMemberOut]


class GroupMessageOut(TypedDict):
    id: str
    groupId: str
    fromUserId: str
    content: str
    timestamp: str
    isAIGenerated: bool
    mentionedUserIds: list[str]
    fromUser: UserCard
    clientMessageId: NotRequired[str]


class GroupStyleProfileOut(TypedDict):
    groupId: str
    messageCount: int
    memberContributions: dict[str, int]
    commonPhrases: list[str]
    emojiUsage: dict[str, int]
    averageMessageLength: int
    toneIndicators: dict[str, int]
    stylePrompt: str | None
    lastUpdated: str


class MessageOut(TypedDict):
    message: str


class UnreadCountOut(TypedDict):
    unreadCount: int


def _profile_of(user: User) -> Profile | None:
    try:
        return user.profile
    except Profile.DoesNotExist:
        return None


def card(user_id: str, username: str | None, display_name: str | None, picture_url: str | None) -> UserCard:
    """A sender card from loose values; a missing profile gives empty names (contract §3.2)."""
    return {
        "id": user_id,
        "username": username or "",
        "displayName": display_name or "",
        "profilePictureUrl": picture_url,
    }


def user_card(user: User) -> UserCard:
    profile = _profile_of(user)
    if profile is None:
        return card(user.id, None, None, None)
    return card(user.id, profile.username, profile.display_name, profile.profile_picture_url)


def member_out(member: GroupMember) -> GroupMemberOut:
    """GroupMember (contract §3.2); needs ``user__profile`` loaded."""
    profile = _profile_of(member.user)
    return {
        "id": str(member.id),
        "userId": member.user_id,
        "isAdmin": member.is_admin,
        "joinedAt": iso_z(member.joined_at),
        "notificationsMuted": member.notifications_muted,
        "user": {
            "id": member.user_id,
            "username": profile.username if profile else "",
            "displayName": profile.display_name if profile else "",
            "profilePictureUrl": profile.profile_picture_url if profile else None,
            "statusMessage": profile.status_message if profile else None,
        },
    }


def group_out(group: Group, members: list[GroupMember]) -> GroupOut:
    """Group (contract §3.2); ``members`` with users and profiles loaded."""
    return {
        "id": str(group.id),
        "name": group.name,
        "description": group.description,
        "createdBy": group.created_by_id,
        "createdAt": iso_z(group.created_at),
        "updatedAt": iso_z(group.updated_at),
        "aiEnabled": group.ai_enabled,
        "members": [member_out(m) for m in members],
    }


def message_out(message: GroupMessage, sender: UserCard | None = None) -> GroupMessageOut:
    """GroupMessage (contract §3.2) plus ``fromUser``; ``sender`` defaults to ``from_user__profile``."""
    out: GroupMessageOut = {
        "id": str(message.id),
        "groupId": str(message.group_id),
        "fromUserId": message.from_user_id,
        "content": message.content,
        "timestamp": iso_z(message.timestamp),
        "isAIGenerated": message.is_ai_generated,
        "mentionedUserIds": list(message.mentioned_user_ids or []),
        "fromUser": sender if sender is not None else user_card(message.from_user),
    }
    if message.client_message_id:
        out["clientMessageId"] = message.client_message_id
    return out


def style_profile_out(profile: GroupStyleProfile, live_message_count: int) -> GroupStyleProfileOut:
    """GroupStyleProfile (contract §3.2) with the live count of counted messages."""
    tone = profile.tone_indicators or {}
    return {
        "groupId": str(profile.group_id),
        "messageCount": live_message_count,
        "memberContributions": dict(profile.member_contributions or {}),
        "commonPhrases": list(profile.common_phrases or []),
        "emojiUsage": dict(profile.emoji_usage or {}),
        "averageMessageLength": int(profile.average_message_length or 0),
        "toneIndicators": {
            "casual": int(tone.get("casual", 0)),
            "formal": int(tone.get("formal", 0)),
            "enthusiastic": int(tone.get("enthusiastic", 0)),
        },
        "stylePrompt": profile.style_prompt,
        "lastUpdated": iso_z(profile.last_updated),
    }
