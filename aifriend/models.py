"""The AI friend's learned picture of how one user writes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class StyleProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="style_profile"
    )
    message_count = models.IntegerField(default=0)
    common_phrases = models.JSONField(null=True, blank=True)
    emoji_usage = models.JSONField(null=True, blank=True)
    average_message_length = models.FloatField(null=True, blank=True)
    tone_indicators = models.JSONField(null=True, blank=True)
    style_prompt = models.TextField(null=True, blank=True)
    last_updated = models.DateTimeField(default=timezone.now)
    # Messages before this instant no longer count (set by "reset"; contract §8 item 21).
    reset_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "style_profiles"

    def __str__(self) -> str:
        return f"style of {self.user_id}"
