"""Fixtures of the AI tests: people, messages, a recording channel layer, a fake socket, providers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar, cast

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from aifriend import background, limits
from chat.models import DirectMessage, Profile, User
from chat.services.ai_users import ensure_ai_friend, ensure_group_ai_user
from chat.services.auth import session_create
from chat.sessions import cookie_name, sign_token
from groups.models import Group, GroupMember, GroupMessage, GroupStyleProfile
from retrochat.realtime.types import Handshake
from tests.aifriend.fake_openai import FakeOpenAI, running_fake_openai

P = ParamSpec("P")
T = TypeVar("T")


def in_db_thread(fn: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """``database_sync_to_async`` with its types (it closes the connections it used)."""
    return cast("Callable[P, Awaitable[T]]", database_sync_to_async(fn))


# --- a socket as the realtime engine hands it to handlers ----------------------------------


@dataclass
class FakeSocket:
    user_id: str | None
    sid: str = "sid-1"
    namespace: str = "/"
    handshake: Handshake = field(default_factory=lambda: Handshake(headers={}, cookies={}, query={}))
    auth_session_id: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    emitted: list[tuple[str, Any]] = field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    is_connected: bool = True

    @property
    def connected(self) -> bool:
        return self.is_connected

    async def emit(self, event: str, *args: Any) -> None:
        if self.is_connected:
            self.emitted.append((event, args[0] if args else None))

    async def call(self, event: str, *args: Any, timeout: float = 10.0) -> Any:
        raise NotImplementedError

    async def join(self, room: str) -> None:
        return None

    async def leave(self, room: str) -> None:
        return None

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.append(task)
        return task

    async def disconnect(self, reason: str = "client namespace disconnect") -> None:
        """What the engine does when the connection goes away: owned tasks are cancelled."""
        self.is_connected = False
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def settle(self, timeout: float = 20.0) -> None:
        """Wait for every task this socket spawned."""
        if self.tasks:
            await asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True), timeout)

    def events(self) -> list[str]:
        return [name for name, _payload in self.emitted]

    def named(self, event: str) -> list[Any]:
        return [payload for name, payload in self.emitted if name == event]


# --- people and messages ----------------------------------------------------------------------

_counter = {"n": 0}


def make_person(username: str | None = None, display_name: str | None = None) -> User:
    _counter["n"] += 1
    n = _counter["n"]
    username = username or f"user{n}"
    user = User.objects.create_user(email=f"{username.lower()}-{n}@example.com", password=None, name=username)
    Profile.objects.create(user=user, username=f"{username}{n}", display_name=display_name or username.title())
    return user


def say_direct(sender: User, to: User | str, texts: list[str], *, start: datetime | None = None) -> None:
    """Direct messages from ``sender``, one second apart (ending a minute ago by default)."""
    to_id = to if isinstance(to, str) else to.id
    if to_id == "kirhost":
        ensure_ai_friend()
    begin = start or timezone.now() - timedelta(seconds=60 + len(texts))
    DirectMessage.objects.bulk_create(
        DirectMessage(from_user_id=sender.id, to_user_id=to_id, content=text, timestamp=begin + timedelta(seconds=i))
        for i, text in enumerate(texts)
    )


def say_group(group: Group, senders_and_texts: list[tuple[User, str]], *, start: datetime | None = None) -> None:
    begin = start or timezone.now() - timedelta(seconds=60 + len(senders_and_texts))
    GroupMessage.objects.bulk_create(
        GroupMessage(group=group, from_user_id=sender.id, content=text, timestamp=begin + timedelta(seconds=i))
        for i, (sender, text) in enumerate(senders_and_texts)
    )


def new_group(creator: User, members: list[User], *, ai_enabled: bool = True) -> Group:
    """A group as the groups app creates it: admin creator, members, the group AI member, an empty profile."""
    group = Group.objects.create(name="Retro crew", created_by=creator, ai_enabled=ai_enabled)
    ai_user = ensure_group_ai_user(group.id)
    start = timezone.now()
    for i, user_id in enumerate([creator.id, *(m.id for m in members), ai_user.id]):
        GroupMember.objects.create(
            group=group, user_id=user_id, is_admin=user_id == creator.id, joined_at=start + timedelta(microseconds=i)
        )
    GroupStyleProfile.objects.create(group=group)
    return group


def client_for(user: User) -> Client:
    _session, token = session_create(user=user)
    client = Client()
    client.cookies[cookie_name()] = sign_token(token)
    return client


# Sentences in a recognisable voice (slang, a pet phrase, one favourite emoji).
SAM_SAYS = [
    "honestly the pizza here slaps 🍕",
    "lol we should totally grab pizza later",
    "ngl that movie was kinda mid lol",
    "honestly the weather is wild today 🍕",
    "brb grabbing snacks lol",
    "honestly i could eat pizza every single day",
    "that game last night was wild ngl",
    "lol my cat just knocked over my coffee again",
    "honestly the new album slaps so hard 🍕",
    "we should totally go to the beach this weekend lol",
    "ngl i'm kinda tired but down to hang",
    "honestly pizza fixes everything lol 🍕",
]


@pytest.fixture
def sam(db: None) -> User:
    return make_person("sam", "Sam")


@pytest.fixture
def person() -> Callable[..., User]:
    return make_person


# --- settings and providers -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def ai_settings(settings: Any) -> Iterator[Any]:
    """Local provider, no typing pause, a generous rate limit, fresh in-memory limits."""
    settings.AI_PROVIDER = "local"
    settings.AI_LOCAL_CHUNK_DELAY_MS = 0
    settings.AI_RATE_LIMIT_PER_MINUTE = 1000
    settings.AI_REPLY_DEADLINE_SECONDS = 20
    limits.reset_memory()
    yield settings
    assert background.drain(10), "background style updates still running after the test"
    limits.reset_memory()


@pytest.fixture
def fake_openai(settings: Any) -> Iterator[FakeOpenAI]:
    """A fake OpenAI server, and settings pointing the OpenAI-compatible provider at it."""
    with running_fake_openai() as fake:
        settings.AI_PROVIDER = "openai"
        settings.OPENAI_API_KEY = "sk-test"
        settings.OPENAI_BASE_URL = fake.base_url
        settings.OPENAI_MODEL = "gpt-4o-mini"
        settings.OPENAI_TIMEOUT_SECONDS = 1.0
        settings.OPENAI_MAX_RETRIES = 2
        settings.OPENAI_RETRY_BASE_DELAY = 0.01
        yield fake
