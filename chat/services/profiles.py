"""Write paths of profiles: the default profile at sign-up, setup, edits and the picture.

Usernames are unique case-insensitively (``user_profile_username_ci_unique``); every write that
sets one checks first for a friendly 409 and still maps a lost race on the constraint to the same
409. A profile row is created whenever one is missing (setup is an upsert, contract §8 item 25).
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from chat.models import Profile, User
from retrochat.errors import Conflict, NotFound

logger = logging.getLogger(__name__)

USERNAME_TAKEN = "Username is already taken"
USERNAME_MAX = 50
DISPLAY_NAME_MAX = 100
PICTURE_FOLDER = "profile-pictures"
_NOT_USERNAME_CHARS = re.compile(r"[^a-z0-9_]+")
_BASE_MAX = 40  # leaves room for the numeric suffix within 50 characters


def username_base(name: str | None, email: str) -> str:
    """The sanitised stem of a default username: ``"José Díaz"`` → ``"josediaz"`` (letters, digits, _)."""
    for source in (name or "", email.split("@", 1)[0]):
        ascii_text = unicodedata.normalize("NFKD", source).encode("ascii", "ignore").decode()
        base = _NOT_USERNAME_CHARS.sub("", ascii_text.lower())[:_BASE_MAX]
        if base:
            return base
    return "user"


def _username_free(username: str, *, exclude_user_id: str | None = None) -> bool:
    taken = Profile.objects.filter(username__iexact=username)
    if exclude_user_id is not None:
        taken = taken.exclude(user_id=exclude_user_id)
    return not taken.exists()


def username_candidates(base: str) -> list[str]:
    """``base`` + 4 random digits (like the original's ``johndoe4821``), then longer suffixes."""
    short = [f"{base}{secrets.randbelow(10_000):04d}" for _ in range(5)]
    long = [f"{base}{secrets.randbelow(100_000_000):08d}" for _ in range(5)]
    return short + long


def profile_create_default(*, user: User) -> Profile:
    """Create the profile of a new user: a free, valid default username and display name = name.

    Must run inside a transaction (each attempt is a savepoint, so a lost race on the username
    only retries that insert).
    """
    base = username_base(user.name, user.email)
    display_name = user.name.strip()[:DISPLAY_NAME_MAX]
    for candidate in username_candidates(base):
        if not _username_free(candidate):
            continue
        try:
            with transaction.atomic():
                return Profile.objects.create(
                    user=user, username=candidate, display_name=display_name or candidate, status_message=None
                )
        except IntegrityError:
            existing = Profile.objects.filter(user=user).first()
            if existing is not None:  # a concurrent request created this user's row
                return existing
            continue  # someone took the username between the check and the insert
    raise RuntimeError(f"no free default username for base {base!r}")  # 10 random suffixes all taken


def profile_ensure(*, user: User) -> Profile:
    """The user's profile, created with defaults if the row is missing (e.g. a superuser)."""
    profile = Profile.objects.filter(user=user).first()
    if profile is not None:
        return profile
    with transaction.atomic():
        return profile_create_default(user=user)


def profile_setup(*, user: User, username: str, display_name: str, status_message: str | None) -> Profile:
    """POST /api/profile/setup: set username, display name and status (creating the row if missing)."""
    if not _username_free(username, exclude_user_id=user.pk):
        raise Conflict(USERNAME_TAKEN)
    try:
        with transaction.atomic():
            profile, _ = Profile.objects.update_or_create(
                user=user,
                defaults={"username": username, "display_name": display_name, "status_message": status_message},
            )
    except IntegrityError as exc:
        raise Conflict(USERNAME_TAKEN) from exc
    return profile


@dataclass(frozen=True)
class ProfileChanges:
    """PATCH /api/profile: only the fields that were sent change (``None`` = not sent)."""

    display_name: str | None = None
    status_message_set: bool = False
    status_message: str | None = None


def profile_update(*, user: User, changes: ProfileChanges) -> Profile:
    with transaction.atomic():
        profile = Profile.objects.select_for_update().filter(user=user).first()
        if profile is None:
            raise NotFound(f"User profile for user {user.pk} not found")
        fields: list[str] = []
        if changes.display_name is not None:
            profile.display_name = changes.display_name
            fields.append("display_name")
        if changes.status_message_set:
            profile.status_message = changes.status_message
            fields.append("status_message")
        if fields:
            profile.save(update_fields=fields)
    return profile


def profile_picture_set(
    *, user: User, content: IO[bytes], extension: str, absolute_url: Callable[[str], str]
) -> Profile:
    """Store a (validated) picture as ``profile-pictures/<uuid>.<ext>`` and point the profile at it.

    The previous picture is deleted once the new one is committed; if the database write fails the
    new file is deleted instead. ``absolute_url`` turns the storage URL into one a browser can load.
    """
    name = default_storage.save(f"{PICTURE_FOLDER}/{uuid.uuid4().hex}.{extension}", File(content))
    try:
        with transaction.atomic():
            profile = Profile.objects.select_for_update().filter(user=user).first()
            if profile is None:
                profile = profile_create_default(user=user)
            previous = profile.profile_picture_name
            profile.profile_picture_name = name
            profile.profile_picture_url = absolute_url(default_storage.url(name))
            profile.save(update_fields=["profile_picture_name", "profile_picture_url"])
            if previous and previous != name:
                transaction.on_commit(lambda: _delete_quietly(previous))
    except BaseException:
        _delete_quietly(name)
        raise
    return profile


def _delete_quietly(name: str) -> None:
    try:
        default_storage.delete(name)
    except OSError:
        logger.warning("could not delete stored picture %s", name, exc_info=True)
