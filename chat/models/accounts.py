"""Users and their server-side sessions (Better-auth compatible on the wire)."""

from __future__ import annotations

import secrets
import string
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

AI_FRIEND_ID = "kirhost"
GROUP_AI_PREFIX = "group-ai-"
_ID_ALPHABET = string.ascii_letters + string.digits


def new_opaque_id(length: int = 32) -> str:
    """Better-auth style id: random letters and digits."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def is_ai_user_id(user_id: str) -> bool:
    return user_id == AI_FRIEND_ID or user_id.startswith(GROUP_AI_PREFIX)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        user = self.model(email=email.strip().lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        fields.setdefault("name", email.split("@")[0])
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> User:
        """Admin login: e-mails are stored lower-cased, so match them case-insensitively."""
        return self.get(email=(username or "").strip().lower())

    def humans(self) -> models.QuerySet[User]:
        """Every user that is not an AI user (`kirhost`, `group-ai-*`)."""
        return self.get_queryset().exclude(id=AI_FRIEND_ID).exclude(id__startswith=GROUP_AI_PREFIX)


class User(AbstractBaseUser, PermissionsMixin):
    """A person (or one of the AI users) — the Better-auth `user` table."""

    id = models.CharField(primary_key=True, max_length=64, default=new_opaque_id, editable=False)
    name = models.TextField()
    email = models.EmailField(max_length=254, unique=True)
    email_verified = models.BooleanField(default=False)
    image = models.TextField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["name"]

    class Meta:
        db_table = "user"
        ordering = ("created_at",)

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    @property
    def is_ai(self) -> bool:
        return is_ai_user_id(self.id)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


class AuthSession(models.Model):
    """One signed-in browser. Only a SHA-256 of the token is stored; the cookie carries the token."""

    id = models.CharField(primary_key=True, max_length=64, default=new_opaque_id, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_sessions")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    ip_address = models.TextField(null=True, blank=True)
    user_agent = models.TextField(null=True, blank=True)

    class Meta:
        db_table = "session"
        indexes = (models.Index(fields=("user", "expires_at"), name="session_user_expires"),)

    def __str__(self) -> str:
        return f"session {self.id} of {self.user_id}"

    def is_expired(self, now: Any = None) -> bool:
        return self.expires_at <= (now or timezone.now())
