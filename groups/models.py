"""Group chats: groups, memberships, messages, read receipts and the group's style profile."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Group(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=50)
    description = models.CharField(max_length=200, null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    ai_enabled = models.BooleanField(default=True)

    class Meta:
        db_table = "groups"

    def __str__(self) -> str:
        return self.name

    @property
    def ai_user_id(self) -> str:
        return f"group-ai-{self.id}"


class GroupMember(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="group_memberships")
    is_admin = models.BooleanField(default=False)
    joined_at = models.DateTimeField(default=timezone.now)
    notifications_muted = models.BooleanField(default=False)

    class Meta:
        db_table = "group_members"
        constraints = (models.UniqueConstraint(fields=("group", "user"), name="group_member_unique"),)
        indexes = (models.Index(fields=("user", "group"), name="idx_group_members_user"),)

    def __str__(self) -> str:
        return f"{self.user_id} in {self.group_id}"


class GroupMessage(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by Meta.indexes only (see DirectMessage): no duplicate default FK indexes on inserts.
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="messages", db_index=False)
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    content = models.TextField()
    timestamp = models.DateTimeField(default=timezone.now)
    is_ai_generated = models.BooleanField(default=False)
    mentioned_user_ids = models.JSONField(default=list)
    client_message_id = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        db_table = "group_messages"
        constraints = (
            models.UniqueConstraint(
                fields=("from_user", "client_message_id"),
                condition=Q(client_message_id__isnull=False),
                name="group_message_client_id_unique_per_sender",
            ),
        )
        indexes = (
            models.Index(fields=("group", "timestamp", "id"), name="idx_group_messages_page"),
            # A sender's messages, newest first (what the AI friend learns from; deleting a user).
            models.Index(fields=("from_user", "timestamp"), name="idx_group_messages_sender"),
        )

    def __str__(self) -> str:
        return f"{self.from_user_id} in {self.group_id} @ {self.timestamp:%Y-%m-%d %H:%M}"


class GroupMessageRead(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(
        GroupMessage, on_delete=models.CASCADE, related_name="reads", db_column="group_message_id"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "group_message_reads"
        constraints = (models.UniqueConstraint(fields=("message", "user"), name="group_message_read_unique"),)
        indexes = (models.Index(fields=("user", "message"), name="idx_group_reads_user"),)

    def __str__(self) -> str:
        return f"{self.user_id} read {self.message_id}"


def _default_tone() -> dict[str, int]:
    return {"casual": 0, "formal": 0, "enthusiastic": 0}


class GroupStyleProfile(models.Model):
    group = models.OneToOneField(Group, on_delete=models.CASCADE, primary_key=True, related_name="style_profile")
    message_count = models.IntegerField(default=0)
    member_contributions = models.JSONField(default=dict)
    common_phrases = models.JSONField(default=list)
    emoji_usage = models.JSONField(default=dict)
    average_message_length = models.IntegerField(default=0)
    tone_indicators = models.JSONField(default=_default_tone)
    style_prompt = models.TextField(null=True, blank=True)
    last_updated = models.DateTimeField(default=timezone.now)
    # Messages before this instant no longer count (set by "reset").
    reset_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "group_style_profiles"

    def __str__(self) -> str:
        return f"style of group {self.group_id}"
