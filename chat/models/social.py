"""Friend requests and friendships. Pairs are unordered: (a, b) and (b, a) are the same pair."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from chat.models.accounts import User


class FriendRequestStatus(models.TextChoices):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class FriendRequest(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    from_user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sent_friend_requests")
    to_user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="received_friend_requests")
    status = models.CharField(max_length=16, choices=FriendRequestStatus.choices, default=FriendRequestStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "friend_requests"
        constraints = (
            models.CheckConstraint(condition=~Q(from_user=F("to_user")), name="friend_request_not_self"),
            # At most one pending request per unordered pair.
            models.UniqueConstraint(
                Least("from_user", "to_user"),
                Greatest("from_user", "to_user"),
                condition=Q(status="pending"),
                name="friend_request_one_pending_per_pair",
            ),
        )
        indexes = (models.Index(fields=("to_user", "status", "created_at"), name="friend_request_inbox"),)

    def __str__(self) -> str:
        return f"{self.from_user_id} → {self.to_user_id} ({self.status})"


class Friendship(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Direction is (requester, accepter), as in the original; uniqueness ignores it.
    user1 = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_column="user_id_1")
    user2 = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_column="user_id_2")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "friendships"
        constraints = (
            models.CheckConstraint(condition=~Q(user1=F("user2")), name="friendship_not_self"),
            models.UniqueConstraint(Least("user1", "user2"), Greatest("user1", "user2"), name="friendship_unique_pair"),
        )
        indexes = (
            models.Index(fields=("user1", "user2"), name="idx_friendships_users"),
            models.Index(fields=("user2", "user1"), name="idx_friendships_users_rev"),
        )

    def __str__(self) -> str:
        return f"{self.user1_id} ↔ {self.user2_id}"
