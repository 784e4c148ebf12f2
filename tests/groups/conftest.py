"""Fixtures of the groups tests: people with profiles, signed-in REST clients, recorded events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from chat.models import Profile, User
from chat.services.auth import session_create
from chat.sessions import cookie_name, sign_token
from tests.recording_layer import Published as Published  # re-exported for the groups tests
from tests.recording_layer import RecordingLayer

FakeLayer = RecordingLayer


@pytest.fixture(autouse=True)
def style_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Group ids whose AI style check was scheduled by a new message (the AI's own work is not run here)."""
    import aifriend.services

    scheduled: list[str] = []
    monkeypatch.setattr(
        aifriend.services, "group_style_refresh_soon", lambda *, group_id: scheduled.append(str(group_id))
    )
    return scheduled


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """``with commit():`` runs the on-commit callbacks of the block (tests run inside a transaction)."""

    def run() -> Any:
        return django_capture_on_commit_callbacks(execute=True)

    return run


_counter = {"n": 0}


def make_person(username: str | None = None, display_name: str | None = None, *, status: str | None = None) -> User:
    _counter["n"] += 1
    n = _counter["n"]
    username = username or f"user{n}"
    user = User.objects.create_user(email=f"{username.lower()}-{n}@example.com", password=None, name=username)
    Profile.objects.create(
        user=user,
        username=username,
        display_name=display_name or username.title(),
        status_message=status,
        profile_picture_url=f"https://cdn.example.com/{username}.png",
    )
    return user


@pytest.fixture
def person() -> Callable[..., User]:
    return make_person


@pytest.fixture
def people(db: None) -> list[User]:
    """Four people: alice, bob, carol, dave."""
    return [make_person(name) for name in ("alice", "bob", "carol", "dave")]


def client_for(user: User) -> Client:
    _session, token = session_create(user=user)
    client = Client()
    client.cookies[cookie_name()] = sign_token(token)
    return client


@pytest.fixture
def client_of() -> Callable[[User], Client]:
    return client_for


def new_group(creator: User, members: list[User], *, name: str = "Retro crew", description: str | None = None) -> Any:
    """A group made through the service (events of the creation are not captured)."""
    from groups import services

    return services.group_create(
        creator_id=creator.id, name=name, description=description, member_ids=[m.id for m in members]
    ).group


@pytest.fixture
def crew(people: list[User]) -> Any:
    """alice (admin) with bob and carol; dave is not a member."""
    alice, bob, carol, _dave = people
    return new_group(alice, [bob, carol])
