"""`manage.py delete_user <id|email> --yes`: erase one person (see `chat.services.accounts.user_delete`)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chat.management.commands._lookup import find_user
from chat.models.accounts import is_ai_user_id
from chat.services.accounts import user_delete


class Command(BaseCommand):
    help = (
        "Delete a user with their sessions, profile, friendships, requests, style profile, every direct message "
        "they sent or received and the group messages they sent; they leave their groups (admins promoted, "
        "members told) and groups they created pass to the oldest remaining admin. Needs --yes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", help="user id or e-mail address")
        parser.add_argument("--yes", action="store_true", help="really delete (without it, nothing happens)")

    def handle(self, *args: Any, **options: Any) -> None:
        user = find_user(options["user"])
        if is_ai_user_id(user.pk):
            raise CommandError("AI users cannot be deleted by hand (they belong to the AI friend or to a group)")
        if not options["yes"]:
            raise CommandError(f"this would delete {user.email} ({user.pk}) and their messages; add --yes")
        removed = user_delete(user=user)
        details = ", ".join(f"{count} {name}" for name, count in sorted(removed.items()))
        self.stdout.write(self.style.SUCCESS(f"deleted {user.email}: {details}"))
