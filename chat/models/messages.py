"""Direct (one-to-one) messages, including the conversation with the AI friend."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from chat.models.accounts import User


class DirectMessage(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by Meta.indexes only: the default FK indexes (plus PostgreSQL's LIKE variants) would
    # duplicate them and slow every insert down.
    from_user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    to_user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    content = models.TextField()
    timestamp = models.DateTimeField(default=timezone.now)
    is_read = models.BooleanField(default=False)
    is_ai_generated = models.BooleanField(default=False)
    # Optional client-chosen id: a retried send with the same id returns the stored message.
    client_message_id = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        db_table = "messages"
        constraints = (
            models.UniqueConstraint(
                fields=("from_user", "client_message_id"),
                condition=Q(client_message_id__isnull=False),
                name="message_client_id_unique_per_sender",
            ),
        )
        indexes = (
            # Conversation pages: (from, to) in either direction, newest first, (timestamp, id) order.
            # Also serves every lookup by sender (its first column).
            models.Index(fields=("from_user", "to_user", "timestamp", "id"), name="idx_messages_conversation"),
            models.Index(fields=("to_user",), condition=Q(is_read=False), name="idx_messages_unread"),
            models.Index(fields=("to_user",), name="idx_messages_to_user"),
            # What the AI friend learns from: a sender's own messages, newest first, and their count.
            models.Index(
                fields=("from_user", "timestamp"), condition=Q(is_ai_generated=False), name="idx_messages_learned"
            ),
        )

    def __str__(self) -> str:
        return f"{self.from_user_id} → {self.to_user_id} @ {self.timestamp:%Y-%m-%d %H:%M}"
