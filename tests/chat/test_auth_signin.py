"""POST /api/auth/sign-in/email (contract §2.1 #2 and its error rows)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from chat.models import AuthSession, User
from chat.services.accounts import user_deactivate
from chat.services.ai_users import ensure_ai_friend, ensure_group_ai_user
from chat.services.auth import SignedIn
from chat.sessions import hash_token, token_from_cookies
from tests.chat.conftest import post_json, row_counts
from tests.conftest import DEFAULT_PASSWORD, FRONTEND_ORIGIN, FastArgon2PasswordHasher

pytestmark = pytest.mark.django_db

SIGN_IN = "/api/auth/sign-in/email"
INVALID = {"code": "INVALID_EMAIL_OR_PASSWORD", "message": "Invalid email or password"}


def sign_in(body: Any, client: Client | None = None) -> Any:
    return post_json(client or Client(headers={"Origin": FRONTEND_ORIGIN}), SIGN_IN, body)


def test_valid_credentials_open_a_new_session(account: SignedIn) -> None:
    response = sign_in({"email": "ADA@example.com", "password": DEFAULT_PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["redirect", "token", "user"]
    assert body["redirect"] is False
    assert body["user"]["id"] == account.user.pk
    assert body["user"]["email"] == "ada@example.com"
    assert body["token"] != account.token
    assert AuthSession.objects.filter(user=account.user).count() == 2
    assert AuthSession.objects.filter(token_hash=hash_token(body["token"])).exists()
    cookie = response.cookies["better-auth.session_token"]
    assert token_from_cookies({cookie.key: cookie.value}) == body["token"]
    assert cookie["httponly"] is True
    assert cookie["max-age"] == 604800
    account.user.refresh_from_db()
    assert account.user.last_login is not None


def test_callback_url_adds_url_and_redirect(account: SignedIn) -> None:
    response = sign_in({"email": "ada@example.com", "password": DEFAULT_PASSWORD, "callbackURL": "/chat"})
    body = response.json()
    assert response.status_code == 200
    assert body["redirect"] is True
    assert body["url"] == "/chat"


def test_unknown_email_and_wrong_password_look_the_same(account: SignedIn) -> None:
    before = row_counts()
    wrong = sign_in({"email": "ada@example.com", "password": "Wrong-password1"})
    unknown = sign_in({"email": "nobody@example.com", "password": "Wrong-password1"})

    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.json() == INVALID
        assert "better-auth.session_token" not in response.cookies
    assert wrong.content == unknown.content
    # Every header is the same, except the request id every response gets (random, per request).
    assert sorted((k, v) for k, v in wrong.headers.items() if k != "X-Request-ID") == sorted(
        (k, v) for k, v in unknown.headers.items() if k != "X-Request-ID"
    )
    assert row_counts() == before


@pytest.fixture
def hash_work(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every Argon2 computation (encode = hash a password, verify = check one)."""
    calls: list[str] = []
    real_encode, real_verify = FastArgon2PasswordHasher.encode, FastArgon2PasswordHasher.verify

    def encode(self: Any, password: str, salt: str) -> str:
        calls.append("encode")
        return real_encode(self, password, salt)

    def verify(self: Any, password: str, encoded: str) -> bool:
        calls.append("verify")
        return real_verify(self, password, encoded)

    monkeypatch.setattr(FastArgon2PasswordHasher, "encode", encode)
    monkeypatch.setattr(FastArgon2PasswordHasher, "verify", verify)
    return calls


@pytest.mark.parametrize(
    "who",
    ["wrong password", "unknown email", "ai friend", "group ai", "deactivated", "no usable password"],
)
def test_every_refusal_spends_exactly_one_hash(
    who: str, account: SignedIn, new_account: Callable[..., SignedIn], hash_work: list[str]
) -> None:
    email = {"wrong password": "ada@example.com", "unknown email": "nobody@example.com"}.get(who)
    if who == "ai friend":
        email = ensure_ai_friend().email
    elif who == "group ai":
        email = ensure_group_ai_user("5b8f7c2e-0f7e-4a53-9f53-4f1f3d7b8e21").email
    elif who == "deactivated":
        user_deactivate(user=new_account(email="gone@example.com").user)
        email = "gone@example.com"
    elif who == "no usable password":
        user = new_account(email="nopass@example.com").user
        user.set_unusable_password()
        user.save()
        email = "nopass@example.com"
    hash_work.clear()
    before = row_counts()

    response = sign_in({"email": email, "password": DEFAULT_PASSWORD if who != "wrong password" else "Nope12345"})

    assert response.status_code == 401
    assert response.json() == INVALID
    assert len(hash_work) == 1  # one Argon2 computation on every path: no timing oracle
    assert row_counts() == before


def test_ai_user_with_a_password_set_still_cannot_sign_in() -> None:
    kirhost = ensure_ai_friend()
    kirhost.set_password("Secret123!")  # even if someone set one by hand
    kirhost.save()
    response = sign_in({"email": "kirhost@retrochat.app", "password": "Secret123!"})
    assert response.status_code == 401
    assert response.json() == INVALID
    assert not AuthSession.objects.filter(user=kirhost).exists()


@pytest.mark.parametrize("email", ["not-an-email", "", "ada@"])
def test_malformed_email_is_400(email: str) -> None:
    before = row_counts()
    response = sign_in({"email": email, "password": "Secret123!"})
    assert response.status_code == 400
    assert response.json() == {"code": "INVALID_EMAIL", "message": "Invalid email"}
    assert row_counts() == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"password": "Secret123!"}, "[body.email] Invalid input: expected string, received undefined"),
        ({"email": "ada@example.com"}, "[body.password] Invalid input: expected string, received undefined"),
        ({"email": 5, "password": "x"}, "[body.email] Invalid input: expected string, received number"),
        (
            {"email": None, "password": ["x"]},
            "[body.email] Invalid input: expected string, received null; "
            "[body.password] Invalid input: expected string, received array",
        ),
        (
            {"email": "ada@example.com", "password": "x", "rememberMe": "yes"},
            "[body.rememberMe] Invalid input: expected boolean, received string",
        ),
        (
            {"email": "ada@example.com", "password": "x", "callbackURL": 1},
            "[body.callbackURL] Invalid input: expected string, received number",
        ),
        ([], "[body] Invalid input: expected object, received array"),
        (None, "[body] Invalid input: expected object, received undefined"),
    ],
)
def test_body_schema_errors_name_the_field(body: Any, message: str, account: SignedIn) -> None:
    before = row_counts()
    response = sign_in(body)
    assert response.status_code == 400
    assert response.json() == {"code": "VALIDATION_ERROR", "message": message}
    assert row_counts() == before


def test_malformed_json_is_a_missing_body() -> None:
    response = Client().post(SIGN_IN, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "VALIDATION_ERROR",
        "message": "[body] Invalid input: expected object, received undefined",
    }


def test_form_encoded_body_is_accepted(account: SignedIn) -> None:
    response = Client().post(SIGN_IN, {"email": "ada@example.com", "password": DEFAULT_PASSWORD})
    assert response.status_code == 200


def test_cookie_bearing_sign_in_from_a_foreign_origin_is_refused(account: SignedIn) -> None:
    client = Client(headers={"Origin": "https://evil.example"})
    client.cookies["better-auth.session_token"] = "stale"
    before = row_counts()
    response = sign_in({"email": "ada@example.com", "password": DEFAULT_PASSWORD}, client)
    assert response.status_code == 403
    assert response.json() == {"code": "INVALID_ORIGIN", "message": "Invalid origin"}
    assert row_counts() == before


def test_callback_url_in_the_query_is_checked_too(account: SignedIn) -> None:
    response = post_json(
        Client(), f"{SIGN_IN}?callbackURL=https://evil.example/", {"email": "ada@example.com", "password": "x"}
    )
    assert response.status_code == 403
    assert response.json() == {"code": "INVALID_CALLBACKURL", "message": "Invalid callbackURL"}


def test_outdated_hash_is_upgraded_on_success(account: SignedIn, settings: Any) -> None:
    user = User.objects.get(pk=account.user.pk)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    user.set_password(DEFAULT_PASSWORD)
    user.save()
    settings.PASSWORD_HASHERS = [
        "tests.conftest.FastArgon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    assert sign_in({"email": "ada@example.com", "password": DEFAULT_PASSWORD}).status_code == 200
    user.refresh_from_db()
    assert user.password.startswith("argon2")
