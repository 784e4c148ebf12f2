"""A real worker with ``LOG_FORMAT=json``: every line of its log is JSON, HTTP lines carry the
request id (the one in the response) and the user id, socket lines the connection id, the socket
id and the user id; the password, the session token, the cookie and the message text appear
nowhere, even at DEBUG level and with a handler failing."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest
from channels.db import database_sync_to_async

from tests.e2e.helpers import amake_user, connect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "Correct-Horse-42-battery"


def befriend(a_id: str, b_id: str) -> Any:
    from chat.models import Friendship

    return database_sync_to_async(Friendship.objects.create)(user1_id=a_id, user2_id=b_id)


async def test_json_log_lines_have_ids_and_no_secrets(server_factory: Any) -> None:
    srv = server_factory(env={"LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}, name="json-logs")
    tag = secrets.token_hex(4)
    alice = await amake_user(name="Alice", email=f"alice-{tag}@example.test", password=PASSWORD)
    bob = await amake_user(name="Bob")
    await befriend(alice.id, bob.id)
    secret_text = f"purple elephant {tag} at midnight"

    async with httpx.AsyncClient(base_url=srv.base_url, timeout=10) as http:
        signed_in = await http.post("/api/auth/sign-in/email", json={"email": alice.email, "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["token"]
        cookie = signed_in.cookies.get("better-auth.session_token")
        assert token
        assert cookie
        friends = await http.get("/api/friends", headers={"Cookie": alice.cookie_header})
        assert friends.status_code == 200

    alice_tab = await connect(srv, alice)
    bob_tab = await connect(srv, bob, auth="token", transports=("polling",))
    try:
        ack = await alice_tab.call("message:send", {"toUserId": bob.id, "content": secret_text})
        assert ack["content"] == secret_text
        await bob_tab.events.wait_for("message:receive")
        failed = await alice_tab.call("e2e:crash", {"content": secret_text, "token": bob.token})
        assert failed["error"]["code"] == "internal"
    finally:
        await alice_tab.disconnect()
        await bob_tab.disconnect()
    srv.stop()  # graceful: everything is written
    text = srv.log_text()

    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    assert lines
    for secret in (PASSWORD, token, cookie, alice.token, bob.token, alice.cookie_value, secret_text, tag):
        assert secret not in text, f"{secret!r} leaked into the log"

    (access,) = [
        line for line in lines if line.get("logger") == "retrochat.http" and line.get("path") == "/api/friends"
    ]
    assert access["request_id"] == friends.headers["X-Request-ID"]
    assert access["user_id"] == alice.id
    assert (access["method"], access["status"]) == ("GET", 200)

    connected = [line for line in lines if line["message"].startswith(f"User {alice.id} connected with socket")]
    (line,) = connected
    assert line["user_id"] == alice.id
    assert line["socket_id"] in line["message"]
    assert line["connection_id"]
    assert line["worker"] == line["connection_id"][:6]  # sids start with the worker id

    (crash,) = [line for line in lines if line["message"].startswith("handler for 'e2e:crash' failed")]
    assert crash["user_id"] == alice.id
    assert crash["connection_id"] == line["connection_id"]
    assert "RuntimeError: boom" in crash["exception"]

    bob_lines = [line for line in lines if line.get("user_id") == bob.id and line.get("connection_id")]
    assert bob_lines, "the polling (token) connection's lines name bob"
