"""Shared helpers of the friends / direct-message / presence / typing tests.

Import the fixtures you need into the test module (``from tests.chat.dm_factories import style_refresh_fixture``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from chat.models import Friendship, Profile, User
from chat.services.auth import session_create
from chat.sessions import cookie_name, sign_token
from retrochat.realtime.sio import EncodedJson
from retrochat.realtime.types import Handshake
from tests.conftest import services_required
from tests.recording_layer import Published as Published  # re-exported for the chat tests
from tests.recording_layer import RecordingLayer as RecordingLayer

_ids = itertools.count(1)


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


postgres_only = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"] and not services_required(),
    reason="needs PostgreSQL (set DATABASE_URL)",
)
redis_only = pytest.mark.skipif(
    not settings.REDIS_URL and not services_required(), reason="needs Redis (set REDIS_URL)"
)


def make_user(username: str | None = None, *, profile: bool = True, display_name: str | None = None) -> User:
    n = next(_ids)
    username = username or f"user{n}"
    user = User.objects.create_user(email=f"{username.lower()}-{n}@example.com", password=None, name=username)
    if profile:
        Profile.objects.create(
            user=user,
            username=f"{username}{n}",
            display_name=display_name or username.title(),
            status_message=f"{username} here",
            profile_picture_url=None if n % 2 else f"https://cdn.example.com/{username}.png",
        )
    return user


def befriend(a: User, b: User) -> Friendship:
    return Friendship.objects.create(user1=a, user2=b)


def client_for(user: User) -> Client:
    _session, token = session_create(user=user)
    client = Client()
    client.cookies[cookie_name()] = quote(sign_token(token), safe="")
    return client


@pytest.fixture(name="style_refresh", autouse=True)
def style_refresh_fixture(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records the AI-friend style refreshes the message service asks for (instead of running them).

    Autouse in the modules that import it.
    """
    from aifriend import services as ai_services

    asked: list[str] = []
    monkeypatch.setattr(ai_services, "style_profile_refresh_soon", lambda *, user_id: asked.append(user_id))
    return asked


@dataclass
class FakeSocket:
    """A socket as handlers see it (`retrochat.realtime.types.Socket`), recording what it is sent."""

    user_id: str | None
    sid: str = field(default_factory=lambda: f"sid{next(_ids)}")
    namespace: str = "/"
    auth_session_id: str | None = None
    handshake: Handshake = field(default_factory=lambda: Handshake(headers={}, cookies={}, query={}))
    state: dict[str, Any] = field(default_factory=dict)
    emitted: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    connected: bool = True

    async def emit(self, event: str, *args: Any) -> None:
        self.emitted.append((event, args))

    async def call(self, event: str, *args: Any, timeout: float = 10.0) -> Any:
        raise NotImplementedError

    async def join(self, room: str) -> None:
        return None

    async def leave(self, room: str) -> None:
        return None

    async def disconnect(self, reason: str = "server namespace disconnect") -> None:
        self.connected = False

    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def spawn(self, coro: Any, *, name: str) -> Any:
        if not self.connected:
            coro.close()
            return None
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.append(task)
        return task

    async def settle(self) -> None:
        """Wait for the tasks the handlers spawned."""
        while any(not t.done() for t in self.tasks):
            await asyncio.gather(*self.tasks, return_exceptions=True)

    async def close(self, hooks: Any, reason: str = "transport close") -> None:
        """Go away like the engine does: cancel spawned tasks, then run the disconnect hooks."""
        self.connected = False
        for task in self.tasks:
            task.cancel()
        for hook in hooks:
            await hook(self, reason)

    def named(self, event: str) -> list[tuple[Any, ...]]:
        return [args for name, args in self.emitted if name == event]


async def ack_of(answer: Awaitable[EncodedJson]) -> Any:
    """The ack a pipelined handler's answer becomes on the wire, decoded."""
    return json.loads((await answer).text)
