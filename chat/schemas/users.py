"""The small user card embedded in friend requests, members and group messages."""

from __future__ import annotations

from typing import TypedDict

from chat.models import Profile


class UserSummary(TypedDict):
    id: str
    username: str
    displayName: str
    profilePictureUrl: str | None


def user_summary(profile: Profile) -> UserSummary:
    """`{id, username, displayName, profilePictureUrl}` from a profile row (contract §3.2)."""
    return {
        "id": profile.user_id,
        "username": profile.username,
        "displayName": profile.display_name,
        "profilePictureUrl": profile.profile_picture_url,
    }
