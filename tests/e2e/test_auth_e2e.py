"""The frontend's whole auth journey against a real worker, as a browser on the frontend origin
performs it: preflight → sign-up (cookie) → get-session → Socket.IO with `auth.token` → sign-out
(the socket is closed) → get-session is `null`."""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie
from urllib.parse import unquote

import httpx
import pytest
from django.conf import settings

from tests.e2e.helpers import TestUser, connect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

COOKIE = "better-auth.session_token"


def assert_credentialed_cors(response: httpx.Response, origin: str) -> None:
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"


async def test_browser_sign_up_session_socket_sign_out(server) -> None:
    origin = settings.ALLOWED_ORIGINS[0]
    email = f"flow-{secrets.token_hex(4)}@example.test"
    async with httpx.AsyncClient(base_url=server.base_url, headers={"Origin": origin}, timeout=10) as http:
        preflight = await http.options(
            "/api/auth/sign-up/email",
            headers={"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
        )
        assert 200 <= preflight.status_code < 300
        assert_credentialed_cors(preflight, origin)
        assert "content-type" in preflight.headers["access-control-allow-headers"].lower()

        signed_up = await http.post(
            "/api/auth/sign-up/email", json={"email": email, "password": "Password123", "name": "Flow Tester"}
        )
        assert signed_up.status_code == 200, signed_up.text
        assert_credentialed_cors(signed_up, origin)
        body = signed_up.json()
        token, user = body["token"], body["user"]
        assert user["email"] == email
        cookie = SimpleCookie(signed_up.headers["set-cookie"])[COOKIE]
        assert cookie["httponly"]
        assert cookie["path"] == "/"
        assert unquote(cookie.value).rpartition(".")[0] == token  # <token>.<signature>

        session = await http.get("/api/auth/get-session")
        assert session.status_code == 200
        assert_credentialed_cors(session, origin)
        assert session.json()["session"]["token"] == token
        assert session.json()["user"]["id"] == user["id"]

        # The frontend opens the socket with auth.token = session.token.
        as_user = TestUser(user["id"], "Flow Tester", email, token, session.json()["session"]["id"])
        client = await connect(server, as_user, auth="token", headers={"Origin": origin})
        try:
            assert (await client.call("e2e:whoami"))["userId"] == user["id"]

            signed_out = await http.post("/api/auth/sign-out", json={})
            assert signed_out.status_code == 200
            assert signed_out.json() == {"success": True}
            await client.wait_disconnected(timeout=2.0)  # sign-out closes that session's sockets
        finally:
            await client.disconnect()

        after = await http.get("/api/auth/get-session")
        assert after.status_code == 200
        assert after.json() is None
