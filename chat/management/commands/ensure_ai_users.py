"""`manage.py ensure_ai_users`: recreate missing AI users (kirhost, and each group's AI member)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from chat.models import User
from chat.services.ai_users import ensure_ai_friend, ensure_group_ai_user, group_ai_user_id
from groups.models import Group, GroupMember


class Command(BaseCommand):
    help = "Create the AI friend `kirhost` and every group's AI user and membership if missing (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        existed = User.objects.filter(pk="kirhost").exists()
        ensure_ai_friend()
        self.stdout.write(f"kirhost: {'ok' if existed else 'created'}")
        repaired = 0
        for group_id in Group.objects.values_list("pk", flat=True).iterator():
            ai_id = group_ai_user_id(group_id)
            with transaction.atomic():
                missing_user = not User.objects.filter(pk=ai_id).exists()
                ai = ensure_group_ai_user(group_id)
                _, joined = GroupMember.objects.get_or_create(group_id=group_id, user=ai, defaults={"is_admin": False})
            if missing_user or joined:
                repaired += 1
                self.stdout.write(
                    f"group {group_id}: AI user {'created' if missing_user else 'ok'}, "
                    f"membership {'created' if joined else 'ok'}"
                )
        self.stdout.write(self.style.SUCCESS(f"AI users checked; {repaired} group(s) repaired."))
