"""`manage.py seed_demo`: demo people, friendships, a group and some history (idempotent).

Everything is written through the same services the API uses, so the data obeys every rule.
Running it again changes nothing: existing users, friendships, groups and histories are kept.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from chat.models import DirectMessage, User
from chat.services.ai_users import ensure_ai_friend
from chat.services.auth import user_sign_up
from chat.services.friends import friend_request_accept, friend_request_send
from chat.services.messages import message_send
from chat.services.profiles import profile_setup
from groups.models import Group, GroupMessage
from groups.services import group_create, group_message_send
from retrochat.errors import Conflict, DomainError

DEMO_PASSWORD = "RetroChat123!"  # noqa: S105 - documented demo password
DEMO_GROUP = "Retro Crew"
# (e-mail, name, username, display name, status)
PEOPLE = (
    ("alice@retrochat.test", "Alice Archer", "alice", "Alice ✨", "brb, making tea ☕"),
    ("bob@retrochat.test", "Bob Baker", "bob", "Bob the Builder", "can we fix it? yes we can!"),
    ("carol@retrochat.test", "Carol Chen", "carol", "Carol", None),
    ("dave@retrochat.test", "Dave Diaz", "dave", "dave 🎸", "on tour"),
)
FRIENDS = (("alice", "bob"), ("alice", "carol"), ("bob", "carol"), ("carol", "dave"))
DIRECT_HISTORY = (
    ("alice", "bob", "hey bob! 👋 did you see the new retro theme?"),
    ("bob", "alice", "lol yes, it's awesome!! feels like 2004 again"),
    ("alice", "bob", "omg right?! brb grabbing tea ☕"),
    ("bob", "alice", "haha ok, ttyl"),
    ("carol", "alice", "Are we still on for Friday?"),
    ("alice", "carol", "yes!! can't wait 🎉"),
)
GROUP_HISTORY = (
    ("alice", "welcome to the Retro Crew 🎉"),
    ("bob", "yay! who's up for a game night?"),
    ("carol", "count me in, as long as there are snacks"),
    ("alice", "@bob bring the board games pls 😄"),
)


class Command(BaseCommand):
    help = f"Create demo users (password {DEMO_PASSWORD!r}), friendships, the group {DEMO_GROUP!r} and some history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default=DEMO_PASSWORD, help="password of newly created demo users")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._seed(options["password"])
        except DomainError as exc:  # e.g. a --password the sign-up rules refuse
            raise CommandError(exc.message) from exc

    def _seed(self, password: str) -> None:
        ensure_ai_friend()
        users = {row[2]: self._person(row, password=password) for row in PEOPLE}
        created_friendships = sum(self._befriend(users[a], users[b]) for a, b in FRIENDS)
        self.stdout.write(f"friendships: {created_friendships} created")
        self._direct_history(users)
        self._group(users)
        self.stdout.write(self.style.SUCCESS(f"demo ready: sign in as alice@retrochat.test / {password}"))

    def _person(self, row: tuple[str, str, str, str, str | None], *, password: str) -> User:
        email, name, username, display_name, status = row
        user = User.objects.filter(email=email).first()
        if user is not None:
            self.stdout.write(f"user {email}: exists")
            return user
        user = user_sign_up(name=name, email=email, password=password).user
        profile_setup(user=user, username=username, display_name=display_name, status_message=status)
        self.stdout.write(f"user {email}: created")
        return user

    def _befriend(self, a: User, b: User) -> int:
        try:
            request = friend_request_send(from_user_id=a.pk, to_user_id=b.pk)
        except Conflict:
            return 0  # already friends (or a request is pending: leave it to them)
        friend_request_accept(request_id=request["id"], user_id=b.pk)
        return 1

    def _direct_history(self, users: dict[str, User]) -> None:
        pairs = {frozenset((users[a].pk, users[b].pk)) for a, b, _ in DIRECT_HISTORY}
        sent = 0
        for pair in pairs:
            x, y = tuple(pair)
            if DirectMessage.objects.filter(Q(from_user_id=x, to_user_id=y) | Q(from_user_id=y, to_user_id=x)).exists():
                continue
            for a, b, text in DIRECT_HISTORY:
                if {users[a].pk, users[b].pk} == {x, y}:
                    message_send(sender_id=users[a].pk, to_user_id=users[b].pk, content=text)
                    sent += 1
        self.stdout.write(f"direct messages: {sent} created")

    def _group(self, users: dict[str, User]) -> None:
        group = Group.objects.filter(name=DEMO_GROUP, created_by=users["alice"]).first()
        group_id: uuid.UUID
        if group is None:
            detail = group_create(
                creator_id=users["alice"].pk,
                name=DEMO_GROUP,
                member_ids=[users["bob"].pk, users["carol"].pk],
                description="The demo group",
            )
            group_id = detail.group.pk
            self.stdout.write(f"group {DEMO_GROUP!r}: created")
        else:
            group_id = group.pk
            self.stdout.write(f"group {DEMO_GROUP!r}: exists")
        if GroupMessage.objects.filter(group_id=group_id).exists():
            return
        for username, text in GROUP_HISTORY:
            group_message_send(group_id=group_id, user_id=users[username].pk, content=text)
        self.stdout.write(f"group messages: {len(GROUP_HISTORY)} created")
