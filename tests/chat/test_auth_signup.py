"""POST /api/auth/sign-up/email (contract §2.1 #1, §2.5, §8 items 25-26)."""

from __future__ import annotations

import re
from typing import Any
from unittest import mock

import pytest
from django.db import IntegrityError
from django.test import Client

from chat.models import AuthSession, Profile, User
from chat.services import auth as auth_services
from chat.services.profiles import username_base
from chat.sessions import hash_token, token_from_cookies
from tests.chat.conftest import post_json, row_counts
from tests.conftest import FRONTEND_ORIGIN

pytestmark = pytest.mark.django_db

SIGN_UP = "/api/auth/sign-up/email"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
USERNAME_RULES = re.compile(r"^[A-Za-z0-9_]{3,50}$")


def sign_up(client: Client | None = None, **body: Any) -> Any:
    body.setdefault("name", "John Doe")
    body.setdefault("email", "john@example.com")
    body.setdefault("password", "Secret123!")
    return post_json(client or Client(headers={"Origin": FRONTEND_ORIGIN}), SIGN_UP, body)


def test_creates_user_profile_session_and_sets_the_cookie() -> None:
    response = sign_up(email="John.Doe@Example.COM", name="John Doe")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "user"}
    user = User.objects.get(email="john.doe@example.com")
    assert body["user"] == {
        "id": user.pk,
        "name": "John Doe",
        "email": "john.doe@example.com",
        "emailVerified": False,
        "image": None,
        "createdAt": body["user"]["createdAt"],
        "updatedAt": body["user"]["updatedAt"],
    }
    assert ISO_Z.match(body["user"]["createdAt"])
    assert ISO_Z.match(body["user"]["updatedAt"])
    assert re.fullmatch(r"[A-Za-z0-9]{32}", user.pk)
    assert user.password.startswith("argon2")
    assert user.check_password("Secret123!")

    token = body["token"]
    assert len(token) == 32
    session = AuthSession.objects.get(user=user)
    assert session.token_hash == hash_token(token)  # only the hash is stored
    assert session.ip_address == "127.0.0.1"

    cookie = response.cookies["better-auth.session_token"]
    assert token_from_cookies({"better-auth.session_token": cookie.value}) == token
    assert cookie["httponly"] is True
    assert cookie["path"] == "/"
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == 7 * 24 * 3600
    assert cookie["domain"] == ""
    assert not cookie["secure"]

    profile = Profile.objects.get(user=user)
    assert re.fullmatch(r"johndoe\d{4}", profile.username)
    assert profile.display_name == "John Doe"
    assert profile.status_message is None
    assert profile.profile_picture_url is None


@pytest.mark.parametrize(
    ("name", "email", "expected_base"),
    [
        ("John Doe", "x@example.com", "johndoe"),
        ("José Díaz-Núñez", "x@example.com", "josediaznunez"),
        ("<script>alert(1)</script>", "x@example.com", "scriptalert1script"),
        ("李小龙", "bruce.lee+chat@example.com", "bruceleechat"),
        ("🙂🙂", "🙂@example.com", "user"),
        ("", "mary_ann@example.com", "mary_ann"),
        ("x" * 80, "x@example.com", "x" * 40),
    ],
)
def test_default_username_is_sanitised(name: str, email: str, expected_base: str) -> None:
    assert username_base(name, email) == expected_base


def test_default_usernames_follow_the_setup_rules_and_never_collide() -> None:
    for i in range(12):
        response = sign_up(name="Dup Licate!", email=f"dup{i}@example.com")
        assert response.status_code == 200
    usernames = list(Profile.objects.filter(user__email__startswith="dup").values_list("username", flat=True))
    assert len(usernames) == 12
    assert len({u.lower() for u in usernames}) == 12
    assert all(USERNAME_RULES.match(u) and u.startswith("duplicate") for u in usernames)


def test_taken_candidates_are_skipped() -> None:
    first = sign_up(name="Sam", email="sam1@example.com")
    taken = Profile.objects.get(user_id=first.json()["user"]["id"]).username
    with mock.patch(
        "chat.services.profiles.username_candidates", return_value=[taken.upper(), "sam_free"]
    ):  # the first candidate collides case-insensitively
        second = sign_up(name="Sam", email="sam2@example.com")
    assert second.status_code == 200
    assert Profile.objects.get(user_id=second.json()["user"]["id"]).username == "sam_free"


def test_empty_name_gets_the_username_as_display_name() -> None:
    response = sign_up(name="", email="nameless@example.com")
    assert response.status_code == 200
    profile = Profile.objects.get(user__email="nameless@example.com")
    assert profile.display_name == profile.username
    assert profile.username.startswith("nameless")


def test_remember_me_false_sets_a_browser_session_cookie_and_a_one_day_session() -> None:
    response = sign_up(rememberMe=False)
    assert response.status_code == 200
    cookie = response.cookies["better-auth.session_token"]
    assert cookie["max-age"] == ""
    assert response.cookies["better-auth.dont_remember"].value
    session = AuthSession.objects.get()
    assert 23 * 3600 < (session.expires_at - session.created_at).total_seconds() <= 24 * 3600


# --- errors: status, {code, message} and nothing written ---------------------------------------


@pytest.mark.parametrize(
    ("overrides", "status", "code", "message"),
    [
        ({"email": "not-an-email"}, 400, "INVALID_EMAIL", "Invalid email"),
        ({"email": ""}, 400, "INVALID_EMAIL", "Invalid email"),
        ({"email": None}, 400, "INVALID_EMAIL", "Invalid email"),
        ({"email": "a b@example.com"}, 400, "INVALID_EMAIL", "Invalid email"),
        ({"email": " john@example.com"}, 400, "INVALID_EMAIL", "Invalid email"),
        ({"password": "Short1!"}, 400, "PASSWORD_TOO_SHORT", "Password too short"),
        ({"password": ""}, 400, "PASSWORD_TOO_SHORT", "Password too short"),
        ({"password": "A1" * 64 + "x"}, 400, "PASSWORD_TOO_LONG", "Password too long"),
        ({"name": None}, 422, "FAILED_TO_CREATE_USER", "Failed to create user"),
        ({"name": 42}, 422, "FAILED_TO_CREATE_USER", "Failed to create user"),
    ],
)
def test_invalid_input_is_refused_and_nothing_is_written(
    overrides: dict[str, Any], status: int, code: str, message: str
) -> None:
    body = {"name": "John Doe", "email": "john@example.com", "password": "Secret123!", **overrides}
    body = {k: v for k, v in body.items() if v is not None}
    before = row_counts()

    response = post_json(Client(headers={"Origin": FRONTEND_ORIGIN}), SIGN_UP, body)

    assert response.status_code == status
    assert response.json() == {"code": code, "message": message}
    assert "better-auth.session_token" not in response.cookies
    assert row_counts() == before


def test_password_of_exactly_8_and_128_characters_is_accepted() -> None:
    assert sign_up(email="p8@example.com", password="x" * 8).status_code == 200
    assert sign_up(email="p128@example.com", password="x" * 128).status_code == 200


def test_body_less_request_is_an_invalid_email() -> None:
    before = row_counts()
    response = post_json(Client(), SIGN_UP)
    assert response.status_code == 400
    assert response.json() == {"code": "INVALID_EMAIL", "message": "Invalid email"}
    assert row_counts() == before


def test_existing_email_any_case_is_422_and_nothing_is_written() -> None:
    assert sign_up(email="taken@example.com").status_code == 200
    before = row_counts()

    response = sign_up(email="TAKEN@Example.com", name="Someone Else")

    assert response.status_code == 422
    assert response.json() == {
        "code": "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
        "message": "User already exists. Use another email.",
    }
    assert row_counts() == before


def test_lost_race_on_the_email_constraint_is_also_422() -> None:
    assert sign_up(email="race@example.com").status_code == 200
    before = row_counts()
    real_filter = User.objects.filter
    calls = {"n": 0}

    def first_lookup_misses(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        qs = real_filter(*args, **kwargs)
        return qs.none() if calls["n"] == 1 else qs

    with mock.patch.object(User.objects, "filter", side_effect=first_lookup_misses):
        response = sign_up(email="race@example.com")

    assert response.status_code == 422
    assert response.json()["code"] == "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"
    assert row_counts() == before


def test_an_unrelated_integrity_error_is_not_disguised() -> None:
    with (
        mock.patch("chat.services.auth.profile_create_default", side_effect=IntegrityError("boom")),
        pytest.raises(IntegrityError),
    ):
        auth_services.user_sign_up(name="X", email="x@example.com", password="Secret123!")
    assert not User.objects.filter(email="x@example.com").exists()  # rolled back with the profile


def test_ai_user_addresses_cannot_be_registered() -> None:
    before = row_counts()
    response = sign_up(email="kirhost@retrochat.app")
    assert response.status_code == 422
    assert response.json()["code"] == "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"
    assert row_counts() == before


# --- origin and callbackURL checks -------------------------------------------------------------


def test_without_cookies_no_origin_is_needed() -> None:
    response = sign_up(Client())  # e.g. curl, or a browser's first visit
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("headers", "code", "message"),
    [
        ({}, "MISSING_OR_NULL_ORIGIN", "Missing or null Origin"),
        ({"Origin": "null"}, "MISSING_OR_NULL_ORIGIN", "Missing or null Origin"),
        ({"Origin": "https://evil.example"}, "INVALID_ORIGIN", "Invalid origin"),
        ({"Referer": "https://evil.example/register"}, "INVALID_ORIGIN", "Invalid origin"),
        ({"Origin": "http://localhost:3000.evil.example"}, "INVALID_ORIGIN", "Invalid origin"),
    ],
)
def test_cookie_bearing_post_needs_a_trusted_origin(headers: dict[str, str], code: str, message: str) -> None:
    client = Client(headers=headers)
    client.cookies["unrelated"] = "1"
    before = row_counts()

    response = sign_up(client)

    assert response.status_code == 403
    assert response.json() == {"code": code, "message": message}
    assert row_counts() == before


@pytest.mark.parametrize("headers", [{"Origin": FRONTEND_ORIGIN}, {"Referer": f"{FRONTEND_ORIGIN}/register"}])
def test_cookie_bearing_post_from_the_frontend_passes(headers: dict[str, str]) -> None:
    client = Client(headers=headers)
    client.cookies["unrelated"] = "1"
    assert sign_up(client).status_code == 200


@pytest.mark.parametrize("callback", ["https://evil.example/after", "//evil.example/x", "/\\evil.example"])
def test_untrusted_callback_url_is_refused(callback: str) -> None:
    before = row_counts()
    response = sign_up(callbackURL=callback)
    assert response.status_code == 403
    assert response.json() == {"code": "INVALID_CALLBACKURL", "message": "Invalid callbackURL"}
    assert row_counts() == before


@pytest.mark.parametrize("callback", ["/chat", f"{FRONTEND_ORIGIN}/profile-setup"])
def test_trusted_callback_url_is_accepted(callback: str) -> None:
    assert sign_up(callbackURL=callback).status_code == 200


def test_wrong_method_and_unknown_auth_paths_answer_json() -> None:
    get = Client().get(SIGN_UP)
    assert get.status_code == 405
    assert get.json() == {"code": "METHOD_NOT_ALLOWED", "message": "Method not allowed"}
    unknown = Client().post("/api/auth/sign-in/social", {}, content_type="application/json")
    assert unknown.status_code == 404
    assert unknown.json() == {"code": "NOT_FOUND", "message": "Not Found"}
