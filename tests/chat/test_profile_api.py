"""GET /api/profile/:userId, POST /api/profile/setup, PATCH /api/profile (contract §3.3, §8 items 25-26)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from chat.models import Profile, User
from chat.services.ai_users import ensure_ai_friend
from chat.services.auth import SignedIn, session_create
from tests.chat.conftest import post_json
from tests.conftest import client_with_session

pytestmark = pytest.mark.django_db

SETUP = "/api/profile/setup"
UNAUTHORIZED = {"code": "UNAUTHORIZED", "message": "Unauthorized"}


def profile_row(user: User) -> tuple[str, str, str | None]:
    p = Profile.objects.get(user=user)
    return p.username, p.display_name, p.status_message


def error(status: int, message: Any) -> dict[str, Any]:
    phrases = {400: "Bad Request", 404: "Not Found", 409: "Conflict"}
    return {"statusCode": status, "message": message, "error": phrases[status]}


# --- GET /api/profile/:userId ------------------------------------------------------------------


def test_get_own_profile_shows_my_email(account: SignedIn, account_client: Client) -> None:
    profile = Profile.objects.get(user=account.user)
    response = account_client.get(f"/api/profile/{account.user.pk}")
    assert response.status_code == 200
    assert response.json() == {
        "id": account.user.pk,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "username": profile.username,
        "displayName": "Ada Lovelace",
        "statusMessage": None,
        "profilePictureUrl": None,
    }


def test_get_someone_elses_profile_hides_the_email(
    account_client: Client, new_account: Callable[..., SignedIn]
) -> None:
    grace = new_account("Grace Hopper", email="grace@example.com").user
    body = account_client.get(f"/api/profile/{grace.pk}").json()
    assert body["email"] == ""
    assert body["name"] == "Grace Hopper"
    assert body["id"] == grace.pk


def test_the_ai_friend_profile_is_readable(account_client: Client) -> None:
    ensure_ai_friend()
    body = account_client.get("/api/profile/kirhost").json()
    assert body["displayName"] == "🤖 kirhost"
    assert body["statusMessage"] == "I learn from you and chat like you! 👻"
    assert body["email"] == ""


@pytest.mark.parametrize("user_id", ["nope", "00000000-0000-0000-0000-000000000000", "x" * 300, "%20", "ü"])
def test_unknown_user_is_404(account_client: Client, user_id: str) -> None:
    response = account_client.get(f"/api/profile/{user_id}")
    assert response.status_code == 404
    assert response.json() == error(404, f"User with ID {user_id.replace('%20', ' ')} not found")


def test_user_without_profile_row_is_404(account_client: Client) -> None:
    bare = User.objects.create_user("bare@example.com", "Secret123!", name="Bare")
    response = account_client.get(f"/api/profile/{bare.pk}")
    assert response.status_code == 404
    assert response.json() == error(404, f"User profile for user {bare.pk} not found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/profile/someone"),
        ("post", "/api/profile/setup"),
        ("patch", "/api/profile"),
        ("post", "/api/profile/picture"),
        ("get", "/api/users/search?q=a"),
    ],
)
def test_every_profile_route_needs_a_session(method: str, path: str) -> None:
    client = Client(headers={"Origin": "http://localhost:3000"})
    response = getattr(client, method)(path, "", content_type="application/json")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_expired_or_signed_out_session_is_401(account: SignedIn) -> None:
    client = client_with_session(account.token)
    assert client.get(f"/api/profile/{account.user.pk}").status_code == 200
    post_json(client, "/api/auth/sign-out", {})
    stale = client_with_session(account.token)
    assert stale.get(f"/api/profile/{account.user.pk}").status_code == 401


def test_unknown_api_path_is_a_json_404(account_client: Client) -> None:
    response = account_client.get("/api/does-not-exist")
    assert response.status_code == 404
    assert response.json() == error(404, "Cannot GET /api/does-not-exist")


# --- POST /api/profile/setup -------------------------------------------------------------------


def test_setup_updates_and_returns_201(account: SignedIn, account_client: Client) -> None:
    response = post_json(
        account_client, SETUP, {"username": "Ada_1815", "displayName": "Countess Ada", "statusMessage": "Computing"}
    )
    assert response.status_code == 201
    assert response.json() == {
        "id": account.user.pk,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "username": "Ada_1815",
        "displayName": "Countess Ada",
        "statusMessage": "Computing",
        "profilePictureUrl": None,
    }
    assert profile_row(account.user) == ("Ada_1815", "Countess Ada", "Computing")


def test_setup_without_status_clears_it(account: SignedIn, account_client: Client) -> None:
    post_json(account_client, SETUP, {"username": "ada", "displayName": "Ada", "statusMessage": "Hi"})
    response = post_json(account_client, SETUP, {"username": "ada", "displayName": "Ada"})
    assert response.status_code == 201
    assert response.json()["statusMessage"] is None
    assert profile_row(account.user) == ("ada", "Ada", None)


def test_setup_creates_the_row_when_it_is_missing() -> None:
    user = User.objects.create_user("noprofile@example.com", "Secret123!", name="No Profile")
    _, token = session_create(user=user)
    response = post_json(client_with_session(token), SETUP, {"username": "fresh_start", "displayName": "Fresh"})
    assert response.status_code == 201
    assert profile_row(user) == ("fresh_start", "Fresh", None)


def test_setup_may_change_only_the_case_of_my_own_username(account: SignedIn, account_client: Client) -> None:
    post_json(account_client, SETUP, {"username": "ada", "displayName": "Ada"})
    response = post_json(account_client, SETUP, {"username": "ADA", "displayName": "Ada"})
    assert response.status_code == 201
    assert profile_row(account.user)[0] == "ADA"


@pytest.mark.parametrize("taken", ["grace", "GRACE", "Grace"])
def test_username_taken_case_insensitively_is_409_and_nothing_changes(
    account: SignedIn, account_client: Client, new_account: Callable[..., SignedIn], taken: str
) -> None:
    grace = new_account("Grace", email="grace@example.com").user
    Profile.objects.filter(user=grace).update(username="grace")
    before = profile_row(account.user)

    response = post_json(account_client, SETUP, {"username": taken, "displayName": "Someone"})

    assert response.status_code == 409
    assert response.json() == error(409, "Username is already taken")
    assert profile_row(account.user) == before


def test_the_ai_friend_username_is_taken(account: SignedIn, account_client: Client) -> None:
    ensure_ai_friend()
    before = profile_row(account.user)
    response = post_json(account_client, SETUP, {"username": "Kirhost", "displayName": "Fake"})
    assert response.status_code == 409
    assert profile_row(account.user) == before


def test_losing_the_race_on_the_unique_index_is_409(
    account: SignedIn, account_client: Client, new_account: Callable[..., SignedIn], monkeypatch: pytest.MonkeyPatch
) -> None:
    grace = new_account("Grace", email="grace@example.com").user
    Profile.objects.filter(user=grace).update(username="grace")
    monkeypatch.setattr("chat.services.profiles._username_free", lambda *a, **k: True)  # the check saw it free
    before = profile_row(account.user)
    response = post_json(account_client, SETUP, {"username": "GRACE", "displayName": "Someone"})
    assert response.status_code == 409
    assert response.json() == error(409, "Username is already taken")
    assert profile_row(account.user) == before


CHARSET = "Username can only contain letters, numbers, and underscores"


@pytest.mark.parametrize(
    ("body", "messages"),
    [
        ({"displayName": "Ada"}, ["username should not be empty"]),
        ({"username": "ada"}, ["displayName should not be empty"]),
        ({"username": "ab", "displayName": "Ada"}, ["username must be longer than or equal to 3 characters"]),
        ({"username": "a" * 51, "displayName": "Ada"}, ["username must be shorter than or equal to 50 characters"]),
        ({"username": "ada lovelace", "displayName": "Ada"}, [CHARSET]),
        ({"username": "ada-l", "displayName": "Ada"}, [CHARSET]),
        ({"username": "adä", "displayName": "Ada"}, [CHARSET]),
        ({"username": "ada<b>", "displayName": "Ada"}, [CHARSET]),
        ({"username": 123, "displayName": "Ada"}, ["username must be a string"]),
        ({"username": "ada", "displayName": "A"}, ["displayName must be longer than or equal to 2 characters"]),
        (
            {"username": "ada", "displayName": "A" * 101},
            ["displayName must be shorter than or equal to 100 characters"],
        ),
        ({"username": "ada", "displayName": ["Ada"]}, ["displayName must be a string"]),
        (
            {"username": "ada", "displayName": "Ada", "statusMessage": "s" * 201},
            ["statusMessage must be shorter than or equal to 200 characters"],
        ),
        ({"username": "ada", "displayName": "Ada", "statusMessage": 7}, ["statusMessage must be a string"]),
        ({"username": "ada", "displayName": "Ada", "isAdmin": True}, ["property isAdmin should not exist"]),
    ],
)
def test_setup_validation_messages_and_nothing_written(
    account: SignedIn, account_client: Client, body: dict[str, Any], messages: list[str]
) -> None:
    before = profile_row(account.user)
    response = post_json(account_client, SETUP, body)
    assert response.status_code == 400
    assert response.json() == error(400, messages)
    assert profile_row(account.user) == before


def test_setup_limits_are_inclusive(account_client: Client) -> None:
    ok = post_json(account_client, SETUP, {"username": "a" * 50, "displayName": "D" * 100, "statusMessage": "s" * 200})
    assert ok.status_code == 201
    ok = post_json(account_client, SETUP, {"username": "abc", "displayName": "Di"})
    assert ok.status_code == 201


def test_setup_with_no_body_is_400(account: SignedIn, account_client: Client) -> None:
    before = profile_row(account.user)
    response = post_json(account_client, SETUP)
    assert response.status_code == 400
    assert profile_row(account.user) == before


def test_setup_from_a_foreign_origin_is_403(account: SignedIn) -> None:
    client = client_with_session(account.token, origin="https://evil.example")
    before = profile_row(account.user)
    response = post_json(client, SETUP, {"username": "hijacked", "displayName": "Hijacked"})
    assert response.status_code == 403
    assert profile_row(account.user) == before


# --- PATCH /api/profile ------------------------------------------------------------------------


def patch(client: Client, body: Any) -> Any:
    return client.patch("/api/profile", body, content_type="application/json")


def test_patch_changes_only_what_was_sent(account: SignedIn, account_client: Client) -> None:
    post_json(account_client, SETUP, {"username": "ada", "displayName": "Ada", "statusMessage": "Hello"})

    response = patch(account_client, {"displayName": "Ada L."})
    assert response.status_code == 200
    assert response.json()["displayName"] == "Ada L."
    assert profile_row(account.user) == ("ada", "Ada L.", "Hello")

    response = patch(account_client, {"statusMessage": ""})
    assert response.status_code == 200
    assert response.json()["statusMessage"] == ""
    assert profile_row(account.user) == ("ada", "Ada L.", "")

    response = patch(account_client, {"statusMessage": None})
    assert response.json()["statusMessage"] is None
    assert profile_row(account.user) == ("ada", "Ada L.", None)

    response = patch(account_client, {})
    assert response.status_code == 200
    assert profile_row(account.user) == ("ada", "Ada L.", None)


@pytest.mark.parametrize(
    ("body", "messages"),
    [
        ({"displayName": ""}, ["displayName should not be empty"]),
        ({"displayName": "D" * 101}, ["displayName must be shorter than or equal to 100 characters"]),
        ({"statusMessage": "s" * 201}, ["statusMessage must be shorter than or equal to 200 characters"]),
        ({"username": "newname"}, ["property username should not exist"]),
        ({"displayName": 1}, ["displayName must be a string"]),
    ],
)
def test_patch_validation_and_nothing_written(
    account: SignedIn, account_client: Client, body: dict[str, Any], messages: list[str]
) -> None:
    before = profile_row(account.user)
    response = patch(account_client, body)
    assert response.status_code == 400
    assert response.json() == error(400, messages)
    assert profile_row(account.user) == before


def test_patch_without_profile_row_is_404() -> None:
    user = User.objects.create_user("noprofile@example.com", "Secret123!", name="No Profile")
    _, token = session_create(user=user)
    response = patch(client_with_session(token), {"displayName": "X"})
    assert response.status_code == 404
    assert response.json() == error(404, f"User profile for user {user.pk} not found")
    assert not Profile.objects.filter(user=user).exists()


def test_openapi_docs_describe_the_profile_routes() -> None:
    assert Client().get("/api/docs").status_code == 200
    schema = Client().get("/api/docs-json").json()
    paths = schema["paths"]
    assert set(paths["/api/profile/setup"]) == {"post"}
    assert set(paths["/api/profile"]) == {"patch"}
    assert "multipart/form-data" in paths["/api/profile/picture"]["post"]["requestBody"]["content"]
    assert set(paths["/api/profile/{user_id}"]) == {"get"}
    assert set(paths["/api/users/search"]) == {"get"}
