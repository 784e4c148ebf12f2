"""GET /api/auth/get-session and POST /api/auth/sign-out (contract §2.1 #3-#5, §2.2)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from chat.models import AuthSession
from chat.services.ai_users import ensure_ai_friend
from chat.services.auth import SignedIn, session_create
from chat.sessions import sign_token
from retrochat.realtime import broadcast
from retrochat.timefmt import iso_z
from tests.chat.conftest import post_json
from tests.conftest import FRONTEND_ORIGIN, client_with_session, session_cookie_value

pytestmark = pytest.mark.django_db

GET_SESSION = "/api/auth/get-session"
SIGN_OUT = "/api/auth/sign-out"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ALL_COOKIES = {
    "better-auth.session_token",
    "better-auth.session_data",
    "better-auth.dont_remember",
    "__Secure-better-auth.session_token",
    "__Secure-better-auth.session_data",
    "__Secure-better-auth.dont_remember",
}


def cleared(response: Any) -> set[str]:
    return {name for name, morsel in response.cookies.items() if morsel.value == "" and morsel["max-age"] == 0}


# --- get-session -------------------------------------------------------------------------------


def test_returns_session_and_user(account: SignedIn) -> None:
    response = client_with_session(account.token).get(GET_SESSION)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    session = account.session
    assert body == {
        "session": {
            "id": session.pk,
            "token": account.token,
            "userId": account.user.pk,
            "expiresAt": iso_z(session.expires_at),
            "createdAt": iso_z(session.created_at),
            "updatedAt": iso_z(session.updated_at),
            "ipAddress": "127.0.0.1",
            "userAgent": "pytest",
        },
        "user": {
            "id": account.user.pk,
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "emailVerified": False,
            "image": None,
            "createdAt": iso_z(account.user.created_at),
            "updatedAt": iso_z(account.user.updated_at),
        },
    }
    assert all(ISO_Z.match(body["session"][k]) for k in ("expiresAt", "createdAt", "updatedAt"))
    assert "better-auth.session_token" not in response.cookies  # fresh session: no refresh


def test_no_cookie_is_null_and_sets_nothing() -> None:
    response = Client().get(GET_SESSION)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.content == b"null"
    assert not response.cookies


@pytest.mark.parametrize("value", ["garbage", "abc.def", session_cookie_value("unknown-token-0000000000000000")])
def test_unknown_or_forged_cookie_is_null_and_cleared(value: str, account: SignedIn) -> None:
    client = Client()
    client.cookies["better-auth.session_token"] = value
    response = client.get(GET_SESSION)
    assert response.status_code == 200
    assert response.content == b"null"
    assert cleared(response) == ALL_COOKIES
    assert AuthSession.objects.filter(pk=account.session.pk).exists()


def test_cookie_signed_with_another_secret_is_refused(account: SignedIn, settings: Any) -> None:
    settings.SECRET_KEY = "another-secret-" + "x" * 50
    forged = sign_token(account.token)
    settings.SECRET_KEY = settings.SECRET_KEY.replace("another", "the-real")
    client = Client()
    client.cookies["better-auth.session_token"] = forged
    assert client.get(GET_SESSION).content == b"null"


def test_expired_session_is_null_cleared_and_deleted(account: SignedIn) -> None:
    AuthSession.objects.filter(pk=account.session.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client_with_session(account.token).get(GET_SESSION)
    assert response.content == b"null"
    assert cleared(response) == ALL_COOKIES
    assert not AuthSession.objects.filter(pk=account.session.pk).exists()


def test_session_of_a_deactivated_user_is_null(account: SignedIn) -> None:
    account.user.is_active = False
    account.user.save()
    response = client_with_session(account.token).get(GET_SESSION)
    assert response.content == b"null"
    assert "better-auth.session_token" in cleared(response)


def test_session_rows_of_ai_users_are_never_honoured() -> None:
    _, token = session_create(user=ensure_ai_friend())  # cannot happen through the API; belt and braces
    assert client_with_session(token).get(GET_SESSION).content == b"null"


def test_sliding_refresh_after_one_day(account: SignedIn) -> None:
    two_days_ago = timezone.now() - timedelta(days=2)
    AuthSession.objects.filter(pk=account.session.pk).update(
        created_at=two_days_ago, updated_at=two_days_ago, expires_at=two_days_ago + timedelta(days=7)
    )
    before = timezone.now()

    response = client_with_session(account.token).get(GET_SESSION)

    session = AuthSession.objects.get(pk=account.session.pk)
    assert session.expires_at >= before + timedelta(days=7)
    assert session.updated_at >= before
    assert response.json()["session"]["expiresAt"] == iso_z(session.expires_at)
    cookie = response.cookies["better-auth.session_token"]
    assert cookie.value == session_cookie_value(account.token)
    assert cookie["max-age"] == 604800


def test_no_refresh_within_the_first_day_or_when_disabled(account: SignedIn) -> None:
    twenty_hours_ago = timezone.now() - timedelta(hours=20)
    AuthSession.objects.filter(pk=account.session.pk).update(expires_at=twenty_hours_ago + timedelta(days=7))
    response = client_with_session(account.token).get(GET_SESSION)
    assert "better-auth.session_token" not in response.cookies
    assert AuthSession.objects.get(pk=account.session.pk).expires_at == twenty_hours_ago + timedelta(days=7)

    two_days_ago = timezone.now() - timedelta(days=2)
    AuthSession.objects.filter(pk=account.session.pk).update(expires_at=two_days_ago + timedelta(days=7))
    response = client_with_session(account.token).get(f"{GET_SESSION}?disableRefresh=true")
    assert "better-auth.session_token" not in response.cookies
    assert AuthSession.objects.get(pk=account.session.pk).expires_at == two_days_ago + timedelta(days=7)


def test_secure_cookie_name_and_domain(account: SignedIn, settings: Any) -> None:
    settings.AUTH_COOKIE_SECURE = True
    settings.AUTH_COOKIE_DOMAIN = ".example.com"
    settings.AUTH_COOKIE_SAMESITE = "None"
    response = post_json(
        Client(headers={"Origin": FRONTEND_ORIGIN}),
        "/api/auth/sign-in/email",
        {"email": "ada@example.com", "password": "Secret123!"},
    )
    assert "better-auth.session_token" not in response.cookies
    cookie = response.cookies["__Secure-better-auth.session_token"]
    assert cookie["secure"] is True
    assert cookie["domain"] == ".example.com"
    assert cookie["samesite"] == "None"
    assert cookie["httponly"] is True

    client = Client()
    client.cookies["__Secure-better-auth.session_token"] = cookie.value
    assert client.get(GET_SESSION).json()["session"]["token"] == response.json()["token"]


# --- sign-out ----------------------------------------------------------------------------------


class DisconnectRecorder:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self.messages.append((group, message))


def test_sign_out_deletes_the_row_clears_cookies_and_closes_the_sessions_sockets(
    account: SignedIn, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    other_session, _ = session_create(user=account.user)
    recorder = DisconnectRecorder()
    monkeypatch.setattr(broadcast, "get_channel_layer", lambda: recorder)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(client_with_session(account.token), SIGN_OUT, {})

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert cleared(response) == ALL_COOKIES
    assert not AuthSession.objects.filter(pk=account.session.pk).exists()
    assert AuthSession.objects.filter(pk=other_session.pk).exists()  # other devices stay signed in
    assert recorder.messages == [
        (
            broadcast.WORKERS_GROUP,
            {
                "type": "rt.disconnect",
                "users": [account.user.pk],
                "auth_session_id": account.session.pk,
                "reason": "sign-out",
            },
        )
    ]
    assert client_with_session(account.token).get(GET_SESSION).content == b"null"


def test_sign_out_without_a_session_cookie_is_400() -> None:
    response = post_json(Client(), SIGN_OUT, {})
    assert response.status_code == 400
    assert response.json() == {"code": "FAILED_TO_GET_SESSION", "message": "Failed to get session"}
    assert "better-auth.session_token" in cleared(response)


def test_sign_out_with_a_forged_cookie_is_400_and_deletes_nothing(account: SignedIn) -> None:
    client = Client(headers={"Origin": FRONTEND_ORIGIN})
    client.cookies["better-auth.session_token"] = f"{account.token}.forged"
    response = post_json(client, SIGN_OUT, {})
    assert response.status_code == 400
    assert response.json()["code"] == "FAILED_TO_GET_SESSION"
    assert AuthSession.objects.filter(pk=account.session.pk).exists()


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "MISSING_OR_NULL_ORIGIN"),
        ({"Origin": "null"}, "MISSING_OR_NULL_ORIGIN"),
        ({"Origin": "https://evil.example"}, "INVALID_ORIGIN"),
    ],
)
def test_sign_out_is_origin_checked(account: SignedIn, headers: dict[str, str], code: str) -> None:
    client = Client(headers=headers)
    client.cookies["better-auth.session_token"] = session_cookie_value(account.token)
    response = post_json(client, SIGN_OUT, {})
    assert response.status_code == 403
    assert response.json()["code"] == code
    assert AuthSession.objects.filter(pk=account.session.pk).exists()


def test_body_less_sign_out_works(account: SignedIn) -> None:
    response = post_json(client_with_session(account.token), SIGN_OUT)
    assert response.status_code == 200
    assert response.json() == {"success": True}
