"""Helpers of the auth, profile and search tests (the shared account fixtures live in tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.test import Client

from chat.models import AuthSession, Profile, User


@dataclass(frozen=True)
class Counts:
    users: int
    profiles: int
    sessions: int


def row_counts() -> Counts:
    return Counts(User.objects.count(), Profile.objects.count(), AuthSession.objects.count())


def post_json(client: Client, path: str, body: Any = None, **extra: Any) -> Any:
    """A JSON POST like the frontend's (body-less when ``body`` is None)."""
    if body is None:  # data="" (the test client would send "{}" for None)
        return client.post(path, "", content_type="application/json", **extra)
    return client.post(path, body, content_type="application/json", **extra)
