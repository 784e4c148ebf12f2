"""Profiles on the wire (contract §3.2 UserProfile, §3.3, §7).

Validation mirrors the original's class-validator DTOs (unknown properties refused, no type
coercion) with the same messages, e.g. "Username can only contain letters, numbers, and
underscores".

Privacy: ``email`` stays in every UserProfile for shape compatibility, but it holds the address
only when the viewer is the profile's owner; everyone else gets ``""`` (contract §8 item 12).
"""

from __future__ import annotations

import re
from typing import TypedDict

from ninja import Schema
from pydantic import ConfigDict, Field, field_validator

from chat.models import Profile

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")
USERNAME_CHARSET_MESSAGE = "Username can only contain letters, numbers, and underscores"


class ProfileSetupIn(Schema):
    """Body of ``POST /api/profile/setup``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    username: str = Field(min_length=3, max_length=50)
    display_name: str = Field(alias="displayName", min_length=2, max_length=100)
    status_message: str | None = Field(default=None, alias="statusMessage", max_length=200)

    @field_validator("username")
    @classmethod
    def _username_charset(cls, value: str) -> str:
        if not USERNAME_PATTERN.match(value):
            raise ValueError(USERNAME_CHARSET_MESSAGE)
        return value


class ProfileUpdateIn(Schema):
    """Body of ``PATCH /api/profile``: only the fields sent change; ``statusMessage`` may be ``""``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    display_name: str | None = Field(default=None, alias="displayName", min_length=1, max_length=100)
    status_message: str | None = Field(default=None, alias="statusMessage", max_length=200)


class UserProfileOut(TypedDict):
    id: str
    name: str
    email: str
    username: str
    displayName: str
    statusMessage: str | None
    profilePictureUrl: str | None


class PictureOut(TypedDict):
    profilePictureUrl: str
    message: str


def user_profile(profile: Profile, *, viewer_id: str) -> UserProfileOut:
    """UserProfile for ``viewer_id``; needs ``profile.user`` (select_related it)."""
    user = profile.user
    return {
        "id": user.pk,
        "name": user.name,
        "email": user.email if user.pk == viewer_id else "",
        "username": profile.username,
        "displayName": profile.display_name,
        "statusMessage": profile.status_message,
        "profilePictureUrl": profile.profile_picture_url,
    }
