"""Shared by the ops commands: find a user by id or e-mail."""

from __future__ import annotations

from django.core.management.base import CommandError

from chat.models import User


def find_user(key: str) -> User:
    user = User.objects.select_related("profile").filter(pk=key).first()
    if user is None and "@" in key:
        user = User.objects.select_related("profile").filter(email=key.strip().lower()).first()
    if user is None:
        raise CommandError(f"no user with id or e-mail {key!r}")
    return user
