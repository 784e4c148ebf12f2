"""Reads of the groups app: membership checks, group and member listings, history pages.

Every function here is synchronous and does a fixed number of queries, whatever the number of
groups, members or messages involved (the REST endpoints and the socket services rely on it).
Ids arrive straight from clients, so a malformed group or message id is treated as "no such
row", never as a database error.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from chat.models.accounts import GROUP_AI_PREFIX, is_ai_user_id
from groups.models import Group, GroupMember, GroupMessage, GroupMessageRead, GroupStyleProfile
from retrochat.errors import BadRequest, DomainError, Forbidden, NotFound

NOT_A_MEMBER = "You are not a member of this group"
GROUP_NOT_FOUND = "Group not found"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_uuid(value: object) -> uuid.UUID | None:
    """``value`` as a UUID, or None when it is not one (ids in paths and payloads are untrusted)."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class GroupDetail:
    """A group with its memberships (users and profiles loaded), oldest membership first."""

    group: Group
    members: list[GroupMember]


def _members_queryset() -> QuerySet[GroupMember]:
    return GroupMember.objects.select_related("user__profile").order_by("joined_at", "id")


# --- membership -------------------------------------------------------------------------------


def is_member(group_id: object, user_id: str) -> bool:
    """Whether ``user_id`` currently belongs to the group (one query)."""
    gid = parse_uuid(group_id)
    return gid is not None and GroupMember.objects.filter(group_id=gid, user_id=user_id).exists()


def member_user_ids(group_id: object) -> list[str]:
    """Every current member's user id, the group AI included, oldest membership first (one query)."""
    gid = parse_uuid(group_id)
    if gid is None:
        return []
    return list(GroupMember.objects.filter(group_id=gid).order_by("joined_at", "id").values_list("user_id", flat=True))


def human_user_ids(user_ids: list[str]) -> list[str]:
    """The ids that belong to people (sockets exist only for them)."""
    return [uid for uid in user_ids if not is_ai_user_id(uid)]


def group_for_member(group_id: object, user_id: str) -> Group | None:
    """The group if ``user_id`` is a member of it, else None (one query)."""
    gid = parse_uuid(group_id)
    if gid is None:
        return None
    return Group.objects.filter(id=gid, memberships__user_id=user_id).first()


def membership(group_id: object, user_id: str) -> GroupMember | None:
    """``user_id``'s membership row in the group, with the group loaded (one query)."""
    gid = parse_uuid(group_id)
    if gid is None:
        return None
    return GroupMember.objects.select_related("group").filter(group_id=gid, user_id=user_id).first()


def group_exists(group_id: object) -> bool:
    gid = parse_uuid(group_id)
    return gid is not None and Group.objects.filter(id=gid).exists()


def refuse_non_member(group_id: object) -> DomainError:
    """The error for a user who is not a member: 404 when the group does not exist, else 403."""
    if not group_exists(group_id):
        return NotFound(GROUP_NOT_FOUND)
    return Forbidden(NOT_A_MEMBER)


def require_member(group_id: object, user_id: str) -> GroupMember:
    """``user_id``'s membership (group loaded), or 404 "Group not found" / 403 "You are not a member"."""
    member = membership(group_id, user_id)
    if member is None:
        raise refuse_non_member(group_id)
    return member


# --- groups and members -----------------------------------------------------------------------


def _with_members(groups: QuerySet[Group]) -> list[GroupDetail]:
    prefetched = groups.prefetch_related(Prefetch("memberships", queryset=_members_queryset(), to_attr="member_list"))
    return [GroupDetail(group, group.member_list) for group in prefetched]


def groups_for_user(user_id: str) -> list[GroupDetail]:
    """Every group ``user_id`` belongs to, with members and profiles: two queries in all."""
    return _with_members(Group.objects.filter(memberships__user_id=user_id).order_by("created_at", "id"))


def group_with_members(group_id: object) -> GroupDetail | None:
    """One group with its members (two queries), or None."""
    gid = parse_uuid(group_id)
    if gid is None:
        return None
    found = _with_members(Group.objects.filter(id=gid))
    return found[0] if found else None


def group_detail(group: Group) -> GroupDetail:
    """``group`` with its members (one query)."""
    return GroupDetail(group, members_of(group.id))


def members_of(group_id: object) -> list[GroupMember]:
    """The group's memberships with users and profiles, oldest first (one query)."""
    gid = parse_uuid(group_id)
    if gid is None:
        return []
    return list(_members_queryset().filter(group_id=gid))


def members_for_member(group_id: object, user_id: str) -> list[GroupMember]:
    """The member list, if ``user_id`` is in it (one query on success), else 404/403."""
    members = members_of(group_id)
    if not any(m.user_id == user_id for m in members):
        raise refuse_non_member(group_id)
    return members


def member_cards(group_id: uuid.UUID) -> list[tuple[str, str | None, str | None, str | None]]:
    """``(user_id, username, display_name, picture_url)`` of every member (one query)."""
    return list(
        GroupMember.objects.filter(group_id=group_id)
        .order_by("joined_at", "id")
        .values_list(
            "user_id", "user__profile__username", "user__profile__display_name", "user__profile__profile_picture_url"
        )
    )


def oldest_human_member(group_id: uuid.UUID, *, exclude_user_id: str) -> GroupMember | None:
    """The longest-standing member who is a person (never the group AI), other than ``exclude_user_id``."""
    return (
        GroupMember.objects.filter(group_id=group_id)
        .exclude(user_id=exclude_user_id)
        .exclude(user__id__startswith=GROUP_AI_PREFIX)
        .order_by("joined_at", "id")
        .first()
    )


# --- messages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """A position in a group's history: the (timestamp, id) of a message, or a bare instant."""

    timestamp: datetime
    message_id: uuid.UUID | None = None


def _parse_instant(value: str) -> datetime | None:
    """An ISO-8601 instant; a "+" that arrived unencoded in a query string (as a space) is tolerated."""
    for candidate in (value, value.replace(" ", "+")):
        try:
            return datetime.fromisoformat(candidate)
        except ValueError:
            continue
    return None


def parse_cursor(group_id: uuid.UUID, raw: str, *, name: str) -> Cursor:
    """``before``/``after``: a message id of this group or an ISO-8601 instant (naive = UTC)."""
    value = raw.strip()
    message_id = parse_uuid(value)
    if message_id is not None:
        timestamp = GroupMessage.objects.filter(id=message_id, group_id=group_id).values_list("timestamp", flat=True)
        found = timestamp.first()
        if found is None:
            raise BadRequest(f"{name} must be the id of a message in this group or an ISO 8601 date")
        return Cursor(found, message_id)
    instant = _parse_instant(value)
    if instant is None:
        raise BadRequest(f"{name} must be the id of a message in this group or an ISO 8601 date")
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return Cursor(instant)


def _older_than(cursor: Cursor) -> Q:
    if cursor.message_id is None:
        return Q(timestamp__lt=cursor.timestamp)
    return Q(timestamp__lt=cursor.timestamp) | Q(timestamp=cursor.timestamp, id__lt=cursor.message_id)


def _newer_than(cursor: Cursor) -> Q:
    if cursor.message_id is None:
        return Q(timestamp__gt=cursor.timestamp)
    return Q(timestamp__gt=cursor.timestamp) | Q(timestamp=cursor.timestamp, id__gt=cursor.message_id)


def message_page(
    group_id: uuid.UUID, *, limit: int, before: Cursor | None = None, after: Cursor | None = None
) -> list[GroupMessage]:
    """A page of history, oldest first, ordered by (timestamp, id); senders' profiles joined (one query).

    Without ``after``: the newest ``limit`` messages older than ``before`` (or than now).
    With ``after`` (catch-up): the oldest ``limit`` messages newer than it (and older than ``before``).
    """
    qs = GroupMessage.objects.filter(group_id=group_id).select_related("from_user__profile")
    if before is not None:
        qs = qs.filter(_older_than(before))
    if after is not None:
        qs = qs.filter(_newer_than(after))
        return list(qs.order_by("timestamp", "id")[:limit])
    page = list(qs.order_by("-timestamp", "-id")[:limit])
    page.reverse()
    return page


def unread_count(user_id: str) -> int:
    """Messages in my groups, not sent by me, without a read receipt of mine (one query)."""
    return (
        GroupMessage.objects.filter(group__memberships__user_id=user_id)
        .exclude(from_user_id=user_id)
        .exclude(Exists(GroupMessageRead.objects.filter(message=OuterRef("pk"), user_id=user_id)))
        .count()
    )


def unread_message_ids(group_id: uuid.UUID, user_id: str) -> list[uuid.UUID]:
    """Ids of the group's messages from others that ``user_id`` has no receipt for (one query)."""
    return list(
        GroupMessage.objects.filter(group_id=group_id)
        .exclude(from_user_id=user_id)
        .exclude(Exists(GroupMessageRead.objects.filter(message=OuterRef("pk"), user_id=user_id)))
        .values_list("id", flat=True)
    )


# --- the group AI's style profile ------------------------------------------------------------


def live_message_count(group_id: object, *, since: datetime | None = None) -> int:
    """Messages people sent to the group (AI replies excluded), optionally from ``since`` on."""
    gid = parse_uuid(group_id)
    if gid is None:
        return 0
    qs = GroupMessage.objects.filter(group_id=gid, is_ai_generated=False)
    if since is not None:
        qs = qs.filter(timestamp__gte=since)
    return qs.count()


def style_profile_with_live_count(group_id: object) -> GroupStyleProfile | None:
    """The stored profile, annotated ``live_message_count`` (non-AI messages since the last reset): one query."""
    gid = parse_uuid(group_id)
    if gid is None:
        return None
    counted = (
        GroupMessage.objects.filter(
            group_id=OuterRef("group_id"),
            is_ai_generated=False,
            timestamp__gte=Coalesce(OuterRef("reset_at"), Value(_EPOCH)),
        )
        .order_by()
        .values("group_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return (
        GroupStyleProfile.objects.filter(group_id=gid)
        .annotate(live_message_count=Coalesce(Subquery(counted), Value(0)))
        .first()
    )
