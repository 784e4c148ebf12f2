"""The acceptance walk of issue 2, as the browser at http://localhost:3000 does it.

Preflight → sign-up (cookie set) → get-session → profile setup → sign-out → get-session is null,
every step credentialed CORS from the frontend origin. The same over a real server is covered by
the end-to-end suite.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from chat.models import AuthSession, User
from tests.conftest import FRONTEND_ORIGIN

pytestmark = pytest.mark.django_db


def cors_ok(response: Any) -> None:
    assert response["Access-Control-Allow-Origin"] == FRONTEND_ORIGIN
    assert response["Access-Control-Allow-Credentials"] == "true"


def preflight(client: Client, path: str, method: str) -> None:
    response = client.options(
        path, headers={"Access-Control-Request-Method": method, "Access-Control-Request-Headers": "content-type"}
    )
    assert 200 <= response.status_code < 300
    cors_ok(response)


def test_sign_up_session_setup_sign_out() -> None:
    browser = Client(headers={"Origin": FRONTEND_ORIGIN})

    preflight(browser, "/api/auth/sign-up/email", "POST")
    response = browser.post(
        "/api/auth/sign-up/email",
        {"email": "Newcomer@Example.com", "password": "Str0ngPassword", "name": "New Comer"},
        content_type="application/json",
    )
    assert response.status_code == 200
    cors_ok(response)
    token = response.json()["token"]
    assert browser.cookies["better-auth.session_token"].value  # the frontend middleware looks for this name

    preflight(browser, "/api/auth/get-session", "GET")
    session = browser.get("/api/auth/get-session", content_type="application/json")
    cors_ok(session)
    body = session.json()
    assert body["session"]["token"] == token  # what useSocket sends as auth.token
    assert body["user"]["email"] == "newcomer@example.com"
    user_id = body["user"]["id"]

    preflight(browser, "/api/profile/setup", "POST")
    setup = browser.post(
        "/api/profile/setup", {"username": "newcomer", "displayName": "New Comer"}, content_type="application/json"
    )
    assert setup.status_code == 201
    cors_ok(setup)
    assert setup.json()["username"] == "newcomer"

    preflight(browser, "/api/auth/sign-out", "POST")
    out = browser.post("/api/auth/sign-out", {}, content_type="application/json")
    assert out.status_code == 200
    assert out.json() == {"success": True}
    cors_ok(out)
    assert not AuthSession.objects.filter(user_id=user_id).exists()

    after = browser.get("/api/auth/get-session", content_type="application/json")
    assert after.status_code == 200
    assert after.content == b"null"
    cors_ok(after)
    assert browser.get(f"/api/profile/{user_id}").status_code == 401

    again = browser.post(
        "/api/auth/sign-in/email",
        {"email": "newcomer@example.com", "password": "Str0ngPassword"},
        content_type="application/json",
    )
    assert again.status_code == 200
    assert again.json()["user"]["id"] == user_id
    assert User.objects.filter(email="newcomer@example.com").count() == 1
