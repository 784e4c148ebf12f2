"""The public face of a user: username, display name, status line and picture."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower

from chat.models.accounts import User


class Profile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="profile")
    username = models.CharField(max_length=50)
    display_name = models.CharField(max_length=100)
    status_message = models.CharField(max_length=200, null=True, blank=True)
    profile_picture_url = models.TextField(null=True, blank=True)
    # Storage name of the uploaded picture, so the previous file can be deleted on replacement.
    profile_picture_name = models.CharField(max_length=255, null=True, blank=True)

    class Meta:
        db_table = "user_profile"
        constraints = (models.UniqueConstraint(Lower("username"), name="user_profile_username_ci_unique"),)

    def __str__(self) -> str:
        return self.username
