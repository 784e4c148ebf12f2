"""REST endpoints: groups (contract §3.7). Thin: parse → one service or selector → serialize."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status

from groups import selectors, services
from groups.schemas import (
    AddMemberIn,
    GroupCreateIn,
    GroupMemberOut,
    GroupMessageOut,
    GroupOut,
    GroupStyleProfileOut,
    GroupUpdateIn,
    MessageOut,
    ToggleAiIn,
    UnreadCountOut,
    group_out,
    member_out,
    message_out,
    style_profile_out,
)
from groups.selectors import GROUP_NOT_FOUND, NOT_A_MEMBER
from retrochat.api import current
from retrochat.errors import BadRequest, Forbidden, NotFound

router = Router(tags=["groups"])

PAGE_DEFAULT = 50
PAGE_MAX = 100


def _me(request: HttpRequest) -> str:
    return current(request).user.id


def _limit(raw: str | None) -> int:
    """``limit`` query value: an integer clamped to 1..100, default 50."""
    if raw is None or not raw.strip():
        return PAGE_DEFAULT
    try:
        value = int(raw.strip())
    except ValueError:
        raise BadRequest("limit must be an integer") from None
    return max(1, min(PAGE_MAX, value))


@router.post("/groups", response={201: GroupOut})
def create_group(request: HttpRequest, payload: GroupCreateIn) -> Status[GroupOut]:
    detail = services.group_create(
        creator_id=_me(request), name=payload.name, description=payload.description, member_ids=payload.memberIds
    )
    return Status(201, group_out(detail.group, detail.members))


@router.get("/groups", response=list[GroupOut])
def list_groups(request: HttpRequest) -> list[GroupOut]:
    return [group_out(d.group, d.members) for d in selectors.groups_for_user(_me(request))]


# Declared before /groups/{groupId} so that "unread" is never taken for a group id.
@router.get("/groups/unread", response=UnreadCountOut)
def unread_count(request: HttpRequest) -> UnreadCountOut:
    return {"unreadCount": selectors.unread_count(_me(request))}


@router.get("/groups/{groupId}", response=GroupOut)
def get_group(request: HttpRequest, groupId: str) -> GroupOut:  # noqa: N803 (path name)
    detail = selectors.group_with_members(groupId)
    if detail is None:
        raise NotFound(GROUP_NOT_FOUND)
    if not any(m.user_id == _me(request) for m in detail.members):
        raise Forbidden(NOT_A_MEMBER)
    return group_out(detail.group, detail.members)


@router.patch("/groups/{groupId}", response=GroupOut)
def update_group(request: HttpRequest, groupId: str, payload: GroupUpdateIn) -> GroupOut:  # noqa: N803
    sent = payload.model_fields_set
    detail = services.group_update(
        group_id=groupId,
        user_id=_me(request),
        name=payload.name if "name" in sent else services.UNSET,
        description=payload.description if "description" in sent else services.UNSET,
        ai_enabled=payload.aiEnabled if "aiEnabled" in sent else services.UNSET,
    )
    return group_out(detail.group, detail.members)


@router.delete("/groups/{groupId}", response=MessageOut)
def delete_group(request: HttpRequest, groupId: str) -> MessageOut:  # noqa: N803
    services.group_delete(group_id=groupId, user_id=_me(request))
    return {"message": "Group deleted successfully"}


@router.post("/groups/{groupId}/members", response={201: MessageOut})
def add_member(request: HttpRequest, groupId: str, payload: AddMemberIn) -> Status[MessageOut]:  # noqa: N803
    services.group_member_add(group_id=groupId, actor_id=_me(request), user_id=payload.userId)
    return Status(201, {"message": "Member added successfully"})


@router.delete("/groups/{groupId}/members/{userId}", response=MessageOut)
def remove_member(request: HttpRequest, groupId: str, userId: str) -> MessageOut:  # noqa: N803
    services.group_member_remove(group_id=groupId, actor_id=_me(request), user_id=userId)
    return {"message": "Member removed successfully"}


@router.post("/groups/{groupId}/leave", response={201: MessageOut})
def leave_group(request: HttpRequest, groupId: str) -> Status[MessageOut]:  # noqa: N803
    services.group_leave(group_id=groupId, user_id=_me(request))
    return Status(201, {"message": "Left group successfully"})


@router.get("/groups/{groupId}/members", response=list[GroupMemberOut])
def list_members(request: HttpRequest, groupId: str) -> list[GroupMemberOut]:  # noqa: N803
    return [member_out(m) for m in selectors.members_for_member(groupId, _me(request))]


@router.get("/groups/{groupId}/messages", response=list[GroupMessageOut])
def list_messages(
    request: HttpRequest,
    groupId: str,  # noqa: N803
    limit: str | None = None,
    before: str | None = None,
    after: str | None = None,
) -> list[GroupMessageOut]:
    """Newest ``limit`` messages older than ``before`` (a message id or ISO date), oldest first.

    ``after`` (a message id or ISO date) asks for the oldest ``limit`` messages newer than it
    instead (catch-up after a reconnect).
    """
    page_size = _limit(limit)
    member = selectors.require_member(groupId, _me(request))
    gid = member.group_id
    before_cursor = selectors.parse_cursor(gid, before, name="before") if before else None
    after_cursor = selectors.parse_cursor(gid, after, name="after") if after else None
    page = selectors.message_page(gid, limit=page_size, before=before_cursor, after=after_cursor)
    return [message_out(m) for m in page]


@router.post("/groups/{groupId}/messages/read", response={201: MessageOut})
def mark_read(request: HttpRequest, groupId: str) -> Status[MessageOut]:  # noqa: N803
    services.group_messages_mark_read(group_id=groupId, user_id=_me(request))
    return Status(201, {"message": "Messages marked as read"})


@router.get("/groups/{groupId}/ai/profile", response=GroupStyleProfileOut)
def ai_profile(request: HttpRequest, groupId: str) -> GroupStyleProfileOut:  # noqa: N803
    selectors.require_member(groupId, _me(request))
    profile = selectors.style_profile_with_live_count(groupId)
    if profile is None:
        raise BadRequest("Group AI profile not found")
    return style_profile_out(profile, profile.live_message_count)  # type: ignore[attr-defined]


@router.post("/groups/{groupId}/ai/reset", response={201: MessageOut})
def ai_reset(request: HttpRequest, groupId: str) -> Status[MessageOut]:  # noqa: N803
    services.group_ai_reset(group_id=groupId, user_id=_me(request))
    return Status(201, {"message": "Group AI style reset successfully"})


@router.patch("/groups/{groupId}/ai/toggle", response=GroupOut)
def ai_toggle(request: HttpRequest, groupId: str, payload: ToggleAiIn | None = None) -> GroupOut:  # noqa: N803
    if payload is None:  # no body at all
        raise BadRequest("aiEnabled must be a boolean value")
    detail = services.group_ai_toggle(group_id=groupId, user_id=_me(request), ai_enabled=payload.aiEnabled)
    return group_out(detail.group, detail.members)
