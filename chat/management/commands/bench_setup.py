"""`manage.py bench_setup`: the users, friendships, group and sessions the benchmark suite logs in.

Creates (idempotently) ``--users`` people ``bench-00000`` … with a profile each; users ``2k`` and
``2k+1`` are friends (the ``pairs`` scenario sends along these friendships); the first
``--group-size`` users form the group ``Bench Crew`` (created by the groups service, so the group
AI member exists as in production). Every run opens one fresh session per user (older sessions of
bench users are deleted) and writes the raw tokens to ``--out`` as JSON, which the load generator
(`bench/loadgen.py`) and the reference servers (`bench/peers/`) read::

    {"users": [{"id": "bench-00000", "token": "..."}, ...], "friends": {"bench-00000": ["bench-00001"]},
     "group": {"id": "<uuid>", "members": ["bench-00000", ...]}}

``--reset-messages`` deletes the direct and group messages of bench users, so repeated runs do
not grow the tables they write to. Bench users never mix with real ones: their ids, e-mails
(``@bench.retrochat.test``) and usernames carry the ``bench`` prefix. The password of every bench
user is ``--password`` (hashed once and shared, so creating 10,000 users takes seconds).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from chat.models import AuthSession, DirectMessage, Friendship, Profile, User
from chat.services.ai_users import ensure_ai_friend
from chat.sessions import hash_token, new_token
from groups.models import Group, GroupMember, GroupMessage
from groups.services import group_create

PREFIX = "bench-"
EMAIL_DOMAIN = "bench.retrochat.test"
GROUP_NAME = "Bench Crew"
DEFAULT_PASSWORD = "BenchPassword123!"  # noqa: S105 - documented password of the bench users
BATCH = 2000


def bench_user_id(index: int) -> str:
    return f"{PREFIX}{index:05d}"


class Command(BaseCommand):
    help = "Create the benchmark users, friendships, group and sessions; write their tokens to a JSON file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=10_000, help="number of bench users (even, >= 2)")
        parser.add_argument("--group-size", type=int, default=50, help="members of the bench group (>= 4)")
        parser.add_argument("--out", default="bench/var/fixture.json", help="where to write ids and tokens")
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="password of newly created bench users")
        parser.add_argument("--reset-messages", action="store_true", help="delete the messages of bench users")

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["users"]
        group_size: int = options["group_size"]
        if count < 2 or count % 2:
            raise CommandError("--users must be an even number >= 2")
        if not 4 <= group_size <= count:
            raise CommandError("--group-size must be between 4 and --users")
        ensure_ai_friend()
        ids = [bench_user_id(i) for i in range(count)]
        created = self._users(ids, password=options["password"])
        friends = self._friendships(ids)
        group_id, members = self._group(ids[:group_size])
        if options["reset_messages"]:
            bench = Q(from_user_id__in=User.objects.filter(id__startswith=PREFIX).values("id"))
            dms, _ = DirectMessage.objects.filter(bench).delete()
            gms, _ = GroupMessage.objects.filter(bench).delete()
            self.stdout.write(f"deleted {dms} direct and {gms} group messages of bench users")
        tokens = self._sessions(ids)
        out = Path(options["out"])
        out.parent.mkdir(parents=True, exist_ok=True)
        fixture = {
            "users": [{"id": uid, "token": tokens[uid]} for uid in ids],
            "friends": friends,
            "group": {"id": group_id, "members": members},
        }
        out.write_text(json.dumps(fixture))
        self.stdout.write(
            f"{count} bench users ({created} new), {count // 2} friendships, group of {len(members)}: {out}"
        )

    def _users(self, ids: list[str], *, password: str) -> int:
        existing = set(User.objects.filter(id__in=ids).values_list("id", flat=True))
        missing = [uid for uid in ids if uid not in existing]
        if not missing:
            return 0
        password_hash = make_password(password)
        now = timezone.now()
        with transaction.atomic():
            for start in range(0, len(missing), BATCH):
                chunk = missing[start : start + BATCH]
                User.objects.bulk_create(
                    User(
                        id=uid,
                        name=f"Bench {uid[len(PREFIX) :]}",
                        email=f"{uid}@{EMAIL_DOMAIN}",
                        email_verified=True,
                        password=password_hash,
                        created_at=now,
                    )
                    for uid in chunk
                )
                Profile.objects.bulk_create(
                    Profile(user_id=uid, username=uid.replace("-", ""), display_name=f"Bench {uid[len(PREFIX) :]}")
                    for uid in chunk
                )
        return len(missing)

    def _friendships(self, ids: list[str]) -> dict[str, list[str]]:
        pairs = [(ids[i], ids[i + 1]) for i in range(0, len(ids), 2)]
        existing = set(
            Friendship.objects.filter(user1_id__in=ids[0::2], user2_id__in=ids[1::2]).values_list(
                "user1_id", "user2_id"
            )
        )
        with transaction.atomic():
            Friendship.objects.bulk_create(
                (Friendship(user1_id=a, user2_id=b) for a, b in pairs if (a, b) not in existing), batch_size=BATCH
            )
        friends: dict[str, list[str]] = {}
        for a, b in pairs:
            friends[a] = [b]
            friends[b] = [a]
        return friends

    def _group(self, member_ids: list[str]) -> tuple[str, list[str]]:
        creator, others = member_ids[0], member_ids[1:]
        group = Group.objects.filter(name=GROUP_NAME, created_by_id=creator).order_by("created_at").first()
        if group is not None:
            current = set(GroupMember.objects.filter(group=group).values_list("user_id", flat=True))
            if not set(member_ids) <= current:
                group.delete()
                group = None
        if group is None:
            detail = group_create(creator_id=creator, name=GROUP_NAME, member_ids=others)
            return str(detail.group.id), member_ids
        return str(group.id), member_ids

    def _sessions(self, ids: list[str]) -> dict[str, str]:
        now = timezone.now()
        tokens = {uid: new_token() for uid in ids}
        with transaction.atomic():
            AuthSession.objects.filter(user_id__in=User.objects.filter(id__startswith=PREFIX).values("id")).delete()
            AuthSession.objects.bulk_create(
                (
                    AuthSession(
                        user_id=uid,
                        token_hash=hash_token(token),
                        expires_at=now + timedelta(days=1),
                        created_at=now,
                        updated_at=now,
                        user_agent="retrochat-bench",
                    )
                    for uid, token in tokens.items()
                ),
                batch_size=BATCH,
            )
        return tokens
