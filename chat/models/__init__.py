"""RetroChat's core tables: accounts and sessions, profiles, friendships, direct messages."""

from chat.models.accounts import AuthSession, User, UserManager
from chat.models.messages import DirectMessage
from chat.models.profiles import Profile
from chat.models.social import FriendRequest, FriendRequestStatus, Friendship

__all__ = [
    "AuthSession",
    "DirectMessage",
    "FriendRequest",
    "FriendRequestStatus",
    "Friendship",
    "Profile",
    "User",
    "UserManager",
]
