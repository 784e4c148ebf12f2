"""GET /api/users/search?q= (contract §3.3, §8 item 12)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from chat.models import Profile, User
from chat.services.ai_users import ensure_ai_friend, ensure_group_ai_user
from chat.services.auth import SignedIn

pytestmark = pytest.mark.django_db

SEARCH = "/api/users/search"


@pytest.fixture
def person(new_account: Callable[..., SignedIn]) -> Callable[..., User]:
    def make(username: str, email: str | None = None, display_name: str | None = None) -> User:
        user = new_account(display_name or username.title(), email=email or f"{username.lower()}@example.com").user
        Profile.objects.filter(user=user).update(username=username, display_name=display_name or username.title())
        return user

    return make


def search(client: Client, q: str | None) -> Any:
    return client.get(SEARCH, {} if q is None else {"q": q})


def usernames(response: Any) -> list[str]:
    assert response.status_code == 200
    return [row["username"] for row in response.json()]


@pytest.mark.parametrize("q", [None, ""])
def test_missing_or_empty_query_is_400(account_client: Client, q: str | None) -> None:
    response = search(account_client, q)
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "message": "Search query is required", "error": "Bad Request"}


def test_whitespace_query_is_an_empty_list(account_client: Client, person: Callable[..., User]) -> None:
    person("spacey")
    assert search(account_client, "   ").json() == []


def test_matches_username_or_email_case_insensitively(account_client: Client, person: Callable[..., User]) -> None:
    person("grace_hopper", email="admiral@navy.example")
    person("alan", email="turing@example.com")
    person("unrelated", email="x@example.com")
    assert usernames(search(account_client, "GRACE")) == ["grace_hopper"]
    assert usernames(search(account_client, "NAVY.EXAMPLE")) == ["grace_hopper"]
    assert usernames(search(account_client, "turing@")) == ["alan"]
    assert usernames(search(account_client, "nobody-matches")) == []


def test_result_shape_hides_other_peoples_email(account_client: Client, person: Callable[..., User]) -> None:
    grace = person("grace", display_name="Grace H.")
    Profile.objects.filter(user=grace).update(status_message="Bugs!", profile_picture_url="http://x/p.png")
    assert search(account_client, "grace").json() == [
        {
            "id": grace.pk,
            "name": "Grace H.",
            "email": "",
            "username": "grace",
            "displayName": "Grace H.",
            "statusMessage": "Bugs!",
            "profilePictureUrl": "http://x/p.png",
        }
    ]


@pytest.mark.parametrize(("q", "expected"), [("%", ["per%cent"]), ("_", ["under_score"]), ("\\", [])])
def test_like_wildcards_match_only_themselves(
    account_client: Client, person: Callable[..., User], q: str, expected: list[str]
) -> None:
    person("per%cent", email="percent@example.com")
    person("under_score", email="underscore@example.com")
    person("plain", email="plain@example.com")
    assert usernames(search(account_client, q)) == expected


def test_ai_users_the_caller_and_deactivated_users_are_excluded(
    account: SignedIn, account_client: Client, person: Callable[..., User]
) -> None:
    ensure_ai_friend()
    ai = ensure_group_ai_user("0f0e2d1c-1111-4222-8333-944445555666")
    Profile.objects.filter(user=ai).update(username="group_ai_helper")
    gone = person("ada_gone")
    User.objects.filter(pk=gone.pk).update(is_active=False)
    person("ada_twin")
    Profile.objects.filter(user=account.user).update(username="ada_me")

    assert usernames(search(account_client, "ada")) == ["ada_twin"]
    assert usernames(search(account_client, "kirhost")) == []
    assert usernames(search(account_client, "retrochat.app")) == []
    assert usernames(search(account_client, "group")) == []


def test_users_without_a_profile_row_do_not_appear(account_client: Client) -> None:
    User.objects.create_user("ghost@example.com", "Secret123!", name="Ghost")
    assert search(account_client, "ghost").json() == []


def test_at_most_20_ordered_exact_then_prefix_then_rest(account_client: Client, person: Callable[..., User]) -> None:
    for i in range(25):
        person(f"zz_sam{i:02d}")
    person("sam_prefix")
    person("Sam")
    rows = usernames(search(account_client, "sam"))
    assert len(rows) == 20
    assert rows[:2] == ["Sam", "sam_prefix"]
    assert rows[2:] == sorted(rows[2:], key=str.lower)


def test_query_count_does_not_grow_with_results(account_client: Client, person: Callable[..., User]) -> None:
    for i in range(10):
        person(f"qc_user{i}")
    with CaptureQueriesContext(connection) as queries:
        assert len(search(account_client, "qc_user").json()) == 10
    assert len(queries) <= 3  # session lookup + search (no per-row queries)


def test_an_overlong_query_is_an_empty_list(account_client: Client, person: Callable[..., User]) -> None:
    person("long")
    assert search(account_client, "l" * 255).json() == []
