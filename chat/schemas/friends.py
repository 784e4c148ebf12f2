"""Friend requests and friends on the wire (contract §3.2 FriendRequest, Friend)."""

from __future__ import annotations

from datetime import datetime
from typing import NotRequired, TypedDict

from django.core.exceptions import ObjectDoesNotExist
from ninja import Schema
from pydantic import ConfigDict, Field

from chat.models import FriendRequest, Profile, User
from chat.schemas.users import UserSummary, user_summary
from retrochat.timefmt import iso_z


class FriendRequestIn(Schema):
    """Body of ``POST /api/friends/request``: exactly ``{"toUserId": <non-empty string>}``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    to_user_id: str = Field(alias="toUserId", min_length=1, max_length=64)


class FriendRequestOut(TypedDict):
    id: str
    fromUserId: str
    toUserId: str
    status: str
    createdAt: str
    fromUser: NotRequired[UserSummary]
    toUser: NotRequired[UserSummary]


class FriendOut(TypedDict):
    id: str
    username: str
    displayName: str
    statusMessage: str | None
    profilePictureUrl: str | None
    friendsSince: str


class FriendRemovedOut(TypedDict):
    userId: str


def profile_of(user: User | None) -> Profile | None:
    """The user's profile if it was loaded (or exists), else None — never raises."""
    if user is None:
        return None
    try:
        return user.profile
    except ObjectDoesNotExist:
        return None


def friend_request_out(
    request: FriendRequest,
    *,
    from_profile: Profile | None = None,
    to_profile: Profile | None = None,
) -> FriendRequestOut:
    """The FriendRequest object; ``fromUser``/``toUser`` only when a profile is given."""
    out: FriendRequestOut = {
        "id": str(request.id),
        "fromUserId": request.from_user_id,
        "toUserId": request.to_user_id,
        "status": request.status,
        "createdAt": iso_z(request.created_at),
    }
    if from_profile is not None:
        out["fromUser"] = user_summary(from_profile)
    if to_profile is not None:
        out["toUser"] = user_summary(to_profile)
    return out


def friend_out(profile: Profile, *, friends_since: datetime) -> FriendOut:
    """A Friend entry of ``GET /api/friends``: the friend's public profile and the friendship date."""
    return {
        "id": profile.user_id,
        "username": profile.username,
        "displayName": profile.display_name,
        "statusMessage": profile.status_message,
        "profilePictureUrl": profile.profile_picture_url,
        "friendsSince": iso_z(friends_since),
    }
