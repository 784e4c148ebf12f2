"""The special AI users (contract §5.2): `kirhost` and one `group-ai-<groupId>` per group."""

from __future__ import annotations

from django.db import transaction

from chat.models import Profile, User
from chat.models.accounts import AI_FRIEND_ID, GROUP_AI_PREFIX


def _ensure_ai_user(*, user_id: str, name: str, display_name: str, status_message: str) -> User:
    """Create the AI user (no usable password: nobody can sign in as it) and its profile if missing."""
    with transaction.atomic():
        user, created = User.objects.get_or_create(
            id=user_id,
            defaults={"name": name, "email": f"{user_id}@retrochat.app", "email_verified": True},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        Profile.objects.get_or_create(
            user=user,
            defaults={"username": user_id, "display_name": display_name, "status_message": status_message},
        )
    return user


def ensure_ai_friend() -> User:
    """Create `kirhost` and its profile if missing (idempotent; a data migration does it at install)."""
    return _ensure_ai_user(
        user_id=AI_FRIEND_ID,
        name="kirhost",
        display_name="🤖 kirhost",
        status_message="I learn from you and chat like you! 👻",
    )


def group_ai_user_id(group_id: object) -> str:
    return f"{GROUP_AI_PREFIX}{group_id}"


def ensure_group_ai_user(group_id: object) -> User:
    """Create the group's AI user and profile if missing."""
    return _ensure_ai_user(
        user_id=group_ai_user_id(group_id),
        name="Group AI",
        display_name="🤖 Group AI",
        status_message="Learning from the group!",
    )
