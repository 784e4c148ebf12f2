"""Reads of the social graph: friendships, friend lists and pending requests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from chat.models import FriendRequest, FriendRequestStatus, Friendship, Profile
from chat.schemas.friends import profile_of


def friendship_pair(user_id: str, other_id: str) -> Q:
    """Rows of the (unordered) pair ``{user_id, other_id}``."""
    return Q(user1_id=user_id, user2_id=other_id) | Q(user1_id=other_id, user2_id=user_id)


def friendships_of(user_id: str) -> QuerySet[Friendship]:
    return Friendship.objects.filter(Q(user1_id=user_id) | Q(user2_id=user_id))


def are_friends(*, user_id: str, other_id: str) -> bool:
    """One indexed query; False for unknown ids and for oneself."""
    if user_id == other_id:
        return False
    return Friendship.objects.filter(friendship_pair(user_id, other_id)).exists()


def friend_ids_of_many(*, user_ids: Iterable[str]) -> dict[str, list[str]]:
    """``{user: [friend ids]}`` for several users in one query, each list oldest friendship first
    (users without friends map to [])."""
    wanted = set(user_ids)
    result: dict[str, list[str]] = {uid: [] for uid in wanted}
    if not wanted:
        return result
    pairs = (
        Friendship.objects.filter(Q(user1_id__in=wanted) | Q(user2_id__in=wanted))
        .order_by("created_at", "id")
        .values_list("user1_id", "user2_id")
    )
    for a, b in pairs:  # one row per pair (friendship_unique_pair): no duplicates to drop
        if a in wanted:
            result[a].append(b)
        if b in wanted:
            result[b].append(a)
    return result


@dataclass(frozen=True)
class FriendRow:
    profile: Profile
    friends_since: datetime


def friend_list(*, user_id: str) -> list[FriendRow]:
    """The user's friends, oldest friendship first, one entry per friend, friends without a profile dropped.

    One query (both sides' profiles joined).
    """
    rows = friendships_of(user_id).select_related("user1__profile", "user2__profile").order_by("created_at", "id")
    seen: set[str] = set()
    friends: list[FriendRow] = []
    for friendship in rows:
        other = friendship.user2 if friendship.user1_id == user_id else friendship.user1
        if other.pk in seen:
            continue
        seen.add(other.pk)
        profile = profile_of(other)
        if profile is not None:
            friends.append(FriendRow(profile=profile, friends_since=friendship.created_at))
    return friends


def incoming_requests(*, user_id: str) -> list[FriendRequest]:
    """Pending requests addressed to the user, oldest first, senders' profiles joined (one query)."""
    return list(
        FriendRequest.objects.filter(to_user_id=user_id, status=FriendRequestStatus.PENDING)
        .select_related("from_user__profile")
        .order_by("created_at", "id")
    )


def outgoing_requests(*, user_id: str) -> list[FriendRequest]:
    """Pending requests the user sent, oldest first, recipients' profiles joined (one query)."""
    return list(
        FriendRequest.objects.filter(from_user_id=user_id, status=FriendRequestStatus.PENDING)
        .select_related("to_user__profile")
        .order_by("created_at", "id")
    )
