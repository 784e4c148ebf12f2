"""Reads of profiles: one user's profile, and the user search."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, Value, When
from django.db.models.functions import Lower

from chat.models import Profile, User
from chat.models.accounts import AI_FRIEND_ID, GROUP_AI_PREFIX
from retrochat.errors import NotFound

SEARCH_LIMIT = 20
SEARCH_QUERY_MAX_LENGTH = 254


def profile_of_user(*, user_id: str) -> Profile:
    """The profile with its user; 404 texts of the original (no user / no profile row)."""
    if len(user_id) > 64:
        raise NotFound(f"User with ID {user_id} not found")
    profile = Profile.objects.select_related("user").filter(user_id=user_id).first()
    if profile is not None:
        return profile
    if User.objects.filter(pk=user_id).exists():
        raise NotFound(f"User profile for user {user_id} not found")
    raise NotFound(f"User with ID {user_id} not found")


def users_search(*, query: str, viewer_id: str, limit: int = SEARCH_LIMIT) -> list[Profile]:
    """People whose username or e-mail contains ``query`` (case-insensitive, ``%``/``_`` literal).

    Excludes the viewer, AI users and deactivated accounts; users without a profile row cannot
    match. Order: exact username, then username prefix, then the rest, alphabetically.
    """
    text = query.strip()
    if not text or len(text) > SEARCH_QUERY_MAX_LENGTH:
        return []
    # icontains escapes LIKE wildcards itself, so "%" and "_" match only themselves.
    rank = Case(
        When(username__iexact=text, then=Value(0)),
        When(username__istartswith=text, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    rows = (
        Profile.objects.select_related("user")
        .filter(Q(username__icontains=text) | Q(user__email__icontains=text))
        .filter(user__is_active=True)
        .exclude(user_id=viewer_id)
        .exclude(user_id=AI_FRIEND_ID)
        .exclude(user__id__startswith=GROUP_AI_PREFIX)
        .annotate(rank=rank)
        .order_by("rank", Lower("username"))
    )
    return list(rows[:limit])
