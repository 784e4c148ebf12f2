"""``manage.py online`` and ``manage.py broadcast``: failure paths (no Redis, bad input) and, with
Redis, what they find and send. The worker side is this test's own hub on the shared Redis layer
(sockets are stand-ins that record what they are sent); the command runs in another thread with
its own event loop, as it would in its own process."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.core.management import CommandError, call_command
from django.test import override_settings

from chat.models import Profile, User
from chat.presence_store import RedisPresenceStore, get_presence_store, set_presence_store
from chat.services.ai_users import ensure_ai_friend
from retrochat.realtime import hub as hub_module
from retrochat.realtime.session import WORKER_ID
from tests.realtime.test_engine_unit import FakeSocket

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture(autouse=True)
def _fresh_presence_store() -> Iterator[None]:
    set_presence_store(None)
    yield
    set_presence_store(None)


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def person(tag: str) -> User:
    n = secrets.token_hex(3)
    user = User.objects.create_user(f"{tag}-{n}@example.com", "Secret123!", name=tag.title())
    Profile.objects.create(user=user, username=f"{tag}{n}", display_name=tag.title())
    return user


# --------------------------------------------------------------------------------------- failures


@pytest.mark.parametrize("command", [("online",), ("broadcast", "Hello")])
@override_settings(REDIS_URL="")
def test_without_redis_the_commands_refuse_to_guess(command: tuple[str, ...]) -> None:
    with pytest.raises(CommandError, match="needs REDIS_URL"):
        run(*command)


@pytest.mark.parametrize("command", [("online",), ("broadcast", "Hello")])
@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_unreachable_redis_fails_with_a_clear_message(command: tuple[str, ...]) -> None:
    with pytest.raises(CommandError, match="Redis is unreachable"):
        run(*command)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("broadcast", "   "), "the message is empty"),
        (("broadcast", "x" * 1001), "at most 1000"),
        (("broadcast", "Hi", "--level", "shouting"), "invalid choice"),
        (("broadcast", "Hi", "--user", "nobody@example.com"), "no user"),
        (("broadcast", "Hi", "--user", "kirhost"), "AI users have no sockets"),
        (("online", "--timeout", "0"), "--timeout must be positive"),
        (("online", "--limit", "-1"), "--limit"),
    ],
)
def test_bad_input_is_refused(args: tuple[str, ...], message: str) -> None:
    ensure_ai_friend()
    with pytest.raises(CommandError, match=re.escape(message)):
        run(*args)


# --------------------------------------------------------------------------------------- with Redis


class World:
    """This test's worker: a hub on the Redis layer, stand-in sockets, their presence entries."""

    def __init__(self) -> None:
        self.hub = hub_module.get_hub()
        store = get_presence_store()
        assert isinstance(store, RedisPresenceStore)
        self.store = store
        self.entries: list[tuple[str, str]] = []

    async def connect(self, user_id: str) -> FakeSocket:
        await self.hub.ready()
        socket = FakeSocket(f"s-{secrets.token_hex(4)}")
        await self.hub.join(socket, f"user.{user_id}")
        await self.presence_only(user_id, socket.sid)
        return socket

    async def presence_only(self, user_id: str, sid: str | None = None) -> None:
        """A presence entry no worker claims (a worker that died a moment ago)."""
        sid = sid or f"gone-{secrets.token_hex(4)}"
        await self.store.connect(user_id, sid)
        self.entries.append((user_id, sid))

    async def close(self) -> None:
        for user_id, sid in self.entries:
            await self.store.disconnect(user_id, sid)
        await self.hub.stop()


async def command(*args: str) -> str:
    return await asyncio.to_thread(run, *args)


@pytest.mark.redis
@pytest.mark.usefixtures("needs_redis")
@pytest.mark.django_db(transaction=True)
async def test_online_lists_users_with_their_sockets_per_worker() -> None:
    alice = await database_sync_to_async(person)("alice")
    bob = await database_sync_to_async(person)("bob")
    ghost = await database_sync_to_async(person)("ghost")
    world = World()
    try:
        await world.connect(alice.pk)
        await world.connect(alice.pk)
        await world.connect(bob.pk)
        await world.presence_only(ghost.pk)

        report = json.loads(await command("online", "--json", "--limit", "0"))
        users = {user["id"]: user for user in report["users"]}
        assert users[alice.pk] == {
            "id": alice.pk,
            "username": alice.profile.username,
            "displayName": "Alice",
            "sockets": 2,
            "workers": {WORKER_ID: 2},
        }
        assert users[bob.pk]["sockets"] == 1
        assert users[bob.pk]["workers"] == {WORKER_ID: 1}
        assert users[ghost.pk]["sockets"] == 1
        assert users[ghost.pk]["workers"] == {}  # nobody claims it
        assert report["unclaimedSockets"] >= 1
        (mine,) = [w for w in report["workers"] if w["worker"] == WORKER_ID]
        assert mine["users"] >= 2
        assert report["totals"]["users"] >= 3
        assert report["totals"]["sockets"] >= 4

        text = await command("online", "--limit", "0")
        assert re.search(r"^\d+ user\(s\) online with \d+ socket\(s\); \d+ worker\(s\) answered$", text, re.M)
        assert re.search(
            rf"^{re.escape(alice.pk)}\s+@{alice.profile.username} \(Alice\)\s+2\s+{WORKER_ID}:2$", text, re.M
        )
        assert "not claimed by any answering worker" in text
    finally:
        await world.close()


def notice_of(socket: FakeSocket) -> list[dict[str, Any]]:
    out = []
    for packet in socket.packets:
        name, payload = json.loads(packet[1:])
        assert name == "system:notice"
        out.append(payload)
    return out


@pytest.mark.redis
@pytest.mark.usefixtures("needs_redis")
@pytest.mark.django_db(transaction=True)
async def test_broadcast_reaches_every_socket_or_only_one_users() -> None:
    alice = await database_sync_to_async(person)("alice")
    bob = await database_sync_to_async(person)("bob")
    carol = await database_sync_to_async(person)("carol")
    world = World()
    try:
        alice_tabs = [await world.connect(alice.pk), await world.connect(alice.pk)]
        bob_tab = await world.connect(bob.pk)

        out = await command("broadcast", "Maintenance at 22:00 UTC", "--level", "warning")
        assert re.search(r"Sent system:notice \(warning\) to everyone: \d+ socket\(s\) of \d+ user\(s\) online", out)
        await asyncio.sleep(0.3)
        for tab in (*alice_tabs, bob_tab):
            (payload,) = notice_of(tab)
            assert list(payload) == ["message", "level", "timestamp"]
            assert payload["message"] == "Maintenance at 22:00 UTC"
            assert payload["level"] == "warning"
            assert ISO_Z.match(payload["timestamp"])
            tab.packets.clear()

        out = await command("broadcast", "Your export is ready", "--user", alice.email)
        assert f"Sent system:notice (info) to user {alice.pk}: 2 socket(s)" in out
        await asyncio.sleep(0.3)
        for tab in alice_tabs:
            assert [p["message"] for p in notice_of(tab)] == ["Your export is ready"]
        assert bob_tab.packets == []

        out = await command("broadcast", "Hello?", "--user", carol.pk)
        assert f"to user {carol.pk}, who is offline: nobody received it" in out
    finally:
        await world.close()
