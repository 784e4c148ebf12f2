"""`manage.py broadcast "<message>" [--level info|warning|error] [--user <id|email>]`: a system notice.

Emits the additive event ``system:notice`` ``{message, level, timestamp}`` to every
authenticated socket on every worker, or to every socket of one user. It goes through the
channel layer (`retrochat.realtime.broadcast.emit_to_everyone` / `emit_to_users`), so it needs
``REDIS_URL``; clients that are offline do not get it later (it is not stored). The output says
how many sockets were online according to the presence store.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from chat.management.commands._lookup import find_user
from chat.management.commands._realtime import read_presence, require_redis
from retrochat.realtime.broadcast import emit_to_everyone, emit_to_users
from retrochat.timefmt import iso_z

EVENT = "system:notice"
LEVELS = ("info", "warning", "error")
MAX_LENGTH = 1000


def notice(message: str, level: str) -> dict[str, str]:
    """The ``system:notice`` payload."""
    return {"message": message, "level": level, "timestamp": iso_z(timezone.now())}


class Command(BaseCommand):
    help = (
        "Send a system notice (event system:notice {message, level, timestamp}) to every connected user, "
        "or to one user with --user. Needs REDIS_URL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("message", help=f"the text (at most {MAX_LENGTH} characters)")
        parser.add_argument("--level", choices=LEVELS, default="info", help="how the client may style it")
        parser.add_argument("--user", help="only this user (id or e-mail), on every tab")

    def handle(self, *args: Any, **options: Any) -> None:
        message = str(options["message"]).strip()
        if not message:
            raise CommandError("the message is empty")
        if len(message) > MAX_LENGTH:
            raise CommandError(f"the message is {len(message)} characters long; at most {MAX_LENGTH}")
        level = options["level"]
        target = None
        if options["user"]:
            target = find_user(options["user"])
            if target.is_ai:
                raise CommandError("AI users have no sockets: choose a person")
        store = require_redis("broadcast")
        presence = read_presence(store)
        payload = notice(message, level)
        try:
            if target is None:
                asyncio.run(emit_to_everyone(EVENT, payload))
            else:
                asyncio.run(emit_to_users(EVENT, payload, user_ids=[target.pk]))
        except Exception as exc:
            raise CommandError(f"could not publish on the channel layer ({exc.__class__.__name__}: {exc})") from exc
        if target is None:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Sent {EVENT} ({level}) to everyone: {presence.sockets} socket(s) of {presence.users} user(s) "
                    "online"
                )
            )
            return
        sockets = presence.sockets_per_user.get(target.pk, 0)
        if sockets:
            self.stdout.write(self.style.SUCCESS(f"Sent {EVENT} ({level}) to user {target.pk}: {sockets} socket(s)"))
        else:
            self.stdout.write(
                self.style.WARNING(f"Sent {EVENT} ({level}) to user {target.pk}, who is offline: nobody received it")
            )
