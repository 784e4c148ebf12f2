"""`manage.py online`: who is online now, with their sockets per user and per worker, across workers.

Two sources, both shared by every worker through Redis:

- the presence store (one entry per live socket, whichever worker holds it): who is online and
  how many sockets each user has;
- the workers themselves, asked over the channel layer (`retrochat.realtime.stats`): each
  running worker answers with what it holds (sessions by transport, sockets, sockets per user).

Sockets that presence knows but no answering worker claims belong to a worker that is busy or
gone; their entries expire within ``PRESENCE_TTL_SECONDS``. Needs ``REDIS_URL``; exits 1 when
Redis is unreachable.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chat.management.commands._realtime import read_presence, require_redis
from chat.models import Profile
from retrochat.realtime.stats import worker_stats


class Command(BaseCommand):
    help = (
        "Show who is online now: users with their number of sockets, per worker, across every worker "
        "(needs REDIS_URL). --json for scripts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
        parser.add_argument(
            "--timeout", type=float, default=1.0, help="seconds to wait for the workers to answer (default 1)"
        )
        parser.add_argument("--limit", type=int, default=100, help="users to list, most sockets first (0 = all)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["timeout"] <= 0:
            raise CommandError("--timeout must be positive")
        if options["limit"] < 0:
            raise CommandError("--limit must be 0 (all) or more")
        store = require_redis("online")
        presence = read_presence(store)
        try:
            workers = asyncio.run(_ask_workers(options["timeout"]))
        except Exception as exc:
            raise CommandError(f"could not ask the workers over the channel layer ({exc.__class__.__name__})") from exc
        report = build_report(presence.sockets_per_user, workers, limit=options["limit"])
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self._print(report)

    def _print(self, report: dict[str, Any]) -> None:
        totals = report["totals"]
        self.stdout.write(
            f"{totals['users']} user(s) online with {totals['sockets']} socket(s); "
            f"{totals['workers']} worker(s) answered"
        )
        if report["users"]:
            self.stdout.write("")
            rows: list[tuple[str, ...]] = [("USER", "NAME", "SOCKETS", "PER WORKER")]
            for user in report["users"]:
                name = f"@{user['username']} ({user['displayName']})" if user["username"] else "-"
                per_worker = " ".join(f"{w}:{n}" for w, n in sorted(user["workers"].items())) or "-"
                rows.append((user["id"], name, str(user["sockets"]), per_worker))
            self._table(rows)
            hidden = totals["users"] - len(report["users"])
            if hidden > 0:
                self.stdout.write(f"... and {hidden} more user(s) (--limit 0 lists all)")
        if report["workers"]:
            self.stdout.write("")
            rows = [("WORKER", "PID", "SESSIONS", "WEBSOCKET", "POLLING", "SOCKETS", "USERS")]
            for w in report["workers"]:
                rows.append(
                    tuple(
                        str(w[key])
                        for key in (
                            "worker",
                            "pid",
                            "sessions",
                            "websocketSessions",
                            "pollingSessions",
                            "sockets",
                            "users",
                        )
                    )
                )
            self._table(rows)
        if report["unclaimedSockets"]:
            self.stdout.write("")
            self.stdout.write(
                self.style.WARNING(
                    f"{report['unclaimedSockets']} socket(s) in presence are not claimed by any answering worker "
                    "(a busy or stopped worker; stale entries expire within PRESENCE_TTL_SECONDS)"
                )
            )

    def _table(self, rows: list[tuple[str, ...]]) -> None:
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


async def _ask_workers(timeout: float) -> list[dict[str, Any]]:
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)  # this command's own, not shared
    try:
        return await worker_stats(timeout=timeout, layer=layer)
    finally:
        close = getattr(layer, "close_pools", None)
        if close is not None:
            await close()


def build_report(sockets_per_user: dict[str, int], workers: list[dict[str, Any]], *, limit: int) -> dict[str, Any]:
    """The JSON document of ``online --json`` (the tables print the same)."""
    per_worker: dict[str, dict[str, int]] = {}
    for worker in workers:
        for user_id, count in (worker.get("sockets_per_user") or {}).items():
            per_worker.setdefault(str(user_id), {})[str(worker.get("worker"))] = int(count)
    ordered = sorted(sockets_per_user.items(), key=lambda item: (-item[1], item[0]))
    shown = ordered if limit == 0 else ordered[:limit]
    profiles: dict[str, dict[str, Any]] = {
        p["user_id"]: dict(p)
        for p in Profile.objects.filter(user_id__in=[uid for uid, _ in shown]).values(
            "user_id", "username", "display_name"
        )
    }
    users = [
        {
            "id": uid,
            "username": profiles.get(uid, {}).get("username"),
            "displayName": profiles.get(uid, {}).get("display_name"),
            "sockets": count,
            "workers": per_worker.get(uid, {}),
        }
        for uid, count in shown
    ]
    claimed = sum(min(count, sum(per_worker.get(uid, {}).values())) for uid, count in sockets_per_user.items())
    return {
        "totals": {"users": len(sockets_per_user), "sockets": sum(sockets_per_user.values()), "workers": len(workers)},
        "users": users,
        "workers": [
            {
                "worker": w.get("worker"),
                "pid": w.get("pid"),
                "sessions": w.get("sessions", 0),
                "websocketSessions": w.get("websocket_sessions", 0),
                "pollingSessions": w.get("polling_sessions", 0),
                "sockets": w.get("sockets", 0),
                "users": len(w.get("sockets_per_user") or {}),
            }
            for w in workers
        ],
        "unclaimedSockets": sum(sockets_per_user.values()) - claimed,
    }
