"""Reads of the AI features: style profiles, counted messages (aggregates) and recent texts (bounded).

"Counted" messages are what a style is learned from (contract §5.3): for the AI friend, the
user's own non-AI direct messages (those to `kirhost` included) and own non-AI group messages;
for a group, every non-AI message of the group. Only messages from the last reset on count.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from aifriend.models import StyleProfile
from chat.models import DirectMessage, Profile
from groups.models import Group, GroupMessage, GroupStyleProfile


def style_profile(user_id: str) -> StyleProfile | None:
    return StyleProfile.objects.filter(user_id=user_id).first()


def group_style_profile(group_id: uuid.UUID) -> GroupStyleProfile | None:
    return GroupStyleProfile.objects.filter(group_id=group_id).first()


def group(group_id: uuid.UUID) -> Group | None:
    return Group.objects.filter(id=group_id).first()


def friend_counted_messages(user_id: str, *, since: datetime | None = None) -> int:
    """How many messages the user's style is learned from (two COUNT queries)."""
    direct = DirectMessage.objects.filter(from_user_id=user_id, is_ai_generated=False)
    grouped = GroupMessage.objects.filter(from_user_id=user_id, is_ai_generated=False)
    if since is not None:
        direct = direct.filter(timestamp__gte=since)
        grouped = grouped.filter(timestamp__gte=since)
    return direct.count() + grouped.count()


def friend_recent_texts(user_id: str, *, since: datetime | None = None, limit: int) -> list[str]:
    """The user's ``limit`` most recent counted messages, oldest first (two bounded queries)."""
    direct = DirectMessage.objects.filter(from_user_id=user_id, is_ai_generated=False)
    grouped = GroupMessage.objects.filter(from_user_id=user_id, is_ai_generated=False)
    if since is not None:
        direct = direct.filter(timestamp__gte=since)
        grouped = grouped.filter(timestamp__gte=since)
    rows = [
        *direct.order_by("-timestamp", "-id").values_list("timestamp", "content")[:limit],
        *grouped.order_by("-timestamp", "-id").values_list("timestamp", "content")[:limit],
    ]
    rows.sort(key=lambda row: row[0])
    return [content for _ts, content in rows[-limit:]] if limit > 0 else []


def group_counted_messages(group_id: uuid.UUID, *, since: datetime | None = None) -> int:
    qs = GroupMessage.objects.filter(group_id=group_id, is_ai_generated=False)
    if since is not None:
        qs = qs.filter(timestamp__gte=since)
    return qs.count()


def group_recent_messages(group_id: uuid.UUID, *, since: datetime | None = None, limit: int) -> list[tuple[str, str]]:
    """``(sender id, text)`` of the group's ``limit`` most recent counted messages, oldest first."""
    qs = GroupMessage.objects.filter(group_id=group_id, is_ai_generated=False)
    if since is not None:
        qs = qs.filter(timestamp__gte=since)
    rows = list(qs.order_by("-timestamp", "-id").values_list("from_user_id", "content")[:limit])
    rows.reverse()
    return rows


def group_contributions(group_id: uuid.UUID, *, since: datetime | None = None) -> dict[str, int]:
    """Counted messages per sender (one GROUP BY query), biggest contributor first."""
    from django.db.models import Count

    qs = GroupMessage.objects.filter(group_id=group_id, is_ai_generated=False)
    if since is not None:
        qs = qs.filter(timestamp__gte=since)
    rows = qs.order_by().values("from_user_id").annotate(n=Count("id")).order_by("-n", "from_user_id")
    return {row["from_user_id"]: row["n"] for row in rows}


def display_names(user_ids: list[str]) -> dict[str, str]:
    """user id -> display name, for the ids that have a profile (one query)."""
    return dict(Profile.objects.filter(user_id__in=user_ids).values_list("user_id", "display_name"))
