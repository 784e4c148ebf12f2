"""`manage.py purge_messages --older-than 90d`: retention — delete old messages in batches."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.utils import timezone

from chat.models import DirectMessage
from groups.models import GroupMessage

_DURATION = re.compile(r"^(\d+)([dhm]?)$")
_UNITS = {"d": "days", "": "days", "h": "hours", "m": "minutes"}


def parse_age(text: str) -> timedelta:
    """`90d`, `36h`, `15m` or a bare number of days."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) <= 0:
        raise CommandError(f"--older-than must look like 90d, 36h or 15m (got {text!r})")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class Command(BaseCommand):
    help = "Delete direct and/or group messages older than a given age, in batches (short transactions)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", required=True, help="age such as 90d, 36h or 15m (bare number = days)")
        parser.add_argument("--kind", choices=("all", "direct", "group"), default="all")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--dry-run", action="store_true", help="only count what would be deleted")

    def handle(self, *args: Any, **options: Any) -> None:
        cutoff = timezone.now() - parse_age(options["older_than"])
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        models_to_purge: list[type[models.Model]] = []
        if options["kind"] in ("all", "direct"):
            models_to_purge.append(DirectMessage)
        if options["kind"] in ("all", "group"):
            models_to_purge.append(GroupMessage)
        total = 0
        for model in models_to_purge:
            total += self._purge(model, cutoff, options["batch_size"], options["dry_run"])
        verb = "would delete" if options["dry_run"] else "deleted"
        self.stdout.write(self.style.SUCCESS(f"{verb} {total} message(s) older than {cutoff:%Y-%m-%d %H:%M} UTC"))

    def _purge(self, model: type[models.Model], cutoff: Any, batch_size: int, dry_run: bool) -> int:
        old = model._default_manager.filter(timestamp__lt=cutoff)
        label = model._meta.db_table
        if dry_run:
            count = old.count()
            self.stdout.write(f"{label}: {count} to delete")
            return count
        deleted = 0
        while True:
            ids = list(old.order_by("timestamp").values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            with transaction.atomic():
                model._default_manager.filter(pk__in=ids).delete()
            deleted += len(ids)
            self.stdout.write(f"{label}: {deleted} deleted")
        return deleted
