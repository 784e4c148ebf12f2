"""Refusals on a real RetroChat worker: each closes or refuses only that session, with the right
answer, and the worker keeps serving a healthy client connected beside it."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager

import httpx
import pytest
from django.conf import settings

from tests.e2e.helpers import amake_user, connect
from tests.realtime.raw import RS, Polling, ws_connect, ws_handshake_status

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FOREIGN = "https://evil.example"
P0 = '{"_placeholder":true,"num":0}'


@pytest.fixture
def frontend_origin() -> str:
    return settings.ALLOWED_ORIGINS[0]


@asynccontextmanager
async def healthy_client(server):
    user = await amake_user(name="Healthy")
    client = await connect(server, user)
    try:
        yield client
    finally:
        assert client.connected, "the healthy client was disconnected"
        assert (await client.call("e2e:whoami"))["userId"] == user.id
        await client.disconnect()


@asynccontextmanager
async def authed_ws(server, user):
    async with ws_connect(server.base_url, headers={"Cookie": user.cookie_header}) as ws:
        await ws.recv_open()
        await ws.send("40")
        reply = await ws.recv()
        assert isinstance(reply, str)
        assert reply.startswith("40{")
        yield ws


# ------------------------------------------------------------------------------------ origin


async def test_foreign_origin_polling_is_refused_before_anything(server):
    async with healthy_client(server), Polling(server.base_url) as polling:
        response = await polling.http.get(polling.url(), headers={"Origin": FOREIGN})
        assert response.status_code == 403
        assert response.json() == {"code": 4, "message": "Forbidden"}
        assert not any(name.startswith("access-control-") for name in response.headers)
        preflight = await polling.http.options(polling.url(), headers={"Origin": FOREIGN})
        assert preflight.status_code == 403
        assert "access-control-allow-origin" not in preflight.headers


async def test_foreign_origin_on_an_existing_session_is_refused_and_session_untouched(server, frontend_origin):
    async with Polling(server.base_url) as polling:
        sid, _ = await polling.open(headers={"Origin": frontend_origin})
        refused = await polling.post(sid, "40", headers={"Origin": FOREIGN})
        assert refused.status_code == 403
        assert (await polling.post(sid, "1", headers={"Origin": frontend_origin})).text == "ok"


async def test_foreign_origin_websocket_is_refused(server):
    async with healthy_client(server):
        status = await ws_handshake_status(
            server.base_url, "/socket.io/", "EIO=4&transport=websocket", {"Origin": FOREIGN}
        )
        assert status == 403


async def test_allowed_origin_gets_exact_credentialed_cors(server, frontend_origin):
    async with Polling(server.base_url) as polling:
        response = await polling.http.get(polling.url(), headers={"Origin": frontend_origin})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == frontend_origin
        assert response.headers["access-control-allow-credentials"] == "true"
        preflight = await polling.http.options(
            polling.url(),
            headers={
                "Origin": frontend_origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == frontend_origin
        assert preflight.headers["access-control-allow-credentials"] == "true"
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert preflight.headers["access-control-allow-headers"] == "content-type"
        # Errors to an allowed origin carry CORS too (the browser can read them).
        bad = await polling.http.get("/socket.io/?EIO=3&transport=polling", headers={"Origin": frontend_origin})
        assert bad.status_code == 400
        assert bad.headers["access-control-allow-origin"] == frontend_origin


async def test_allowed_origin_websocket_and_no_origin_are_accepted(server, frontend_origin):
    query = "EIO=4&transport=websocket"
    assert await ws_handshake_status(server.base_url, "/socket.io/", query, {"Origin": frontend_origin}) == 101
    assert await ws_handshake_status(server.base_url, "/socket.io/", query) == 101


async def test_backend_own_origin_is_trusted(server):
    own = settings.TRUSTED_ORIGINS[-1]
    async with Polling(server.base_url) as polling:
        response = await polling.http.get(polling.url(), headers={"Origin": own})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == own


# ------------------------------------------------------------------------------------ handshake


async def test_bad_handshakes_on_the_real_server(server):
    async with healthy_client(server), Polling(server.base_url) as polling:
        eio3 = await polling.http.get("/socket.io/?EIO=3&transport=polling")
        assert (eio3.status_code, eio3.json()) == (400, {"code": 5, "message": "Unsupported protocol version"})
        unknown = await polling.http.get("/socket.io/?EIO=4&transport=flash")
        assert (unknown.status_code, unknown.json()) == (400, {"code": 0, "message": "Transport unknown"})
        missing = await polling.http.get("/socket.io/?EIO=4")
        assert missing.status_code == 400
        assert await ws_handshake_status(server.base_url, "/socket.io/", "EIO=3&transport=websocket") == 403
        assert await ws_handshake_status(server.base_url, "/socket.io/", "EIO=4&transport=flash") == 403


async def test_engine_io_echo_is_not_served_outside_conformance_mode(server):
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.get("/engine.io/?EIO=4&transport=polling")
    assert response.status_code == 404
    assert await ws_handshake_status(server.base_url, "/engine.io/", "EIO=4&transport=websocket") == 403


# ------------------------------------------------------------------------------------ authentication (raw)


async def test_unauthenticated_connect_gets_exact_connect_error(server):
    user = await amake_user()
    async with ws_connect(server.base_url) as ws:
        await ws.recv_open()
        await ws.send("40")
        assert await ws.recv() == '44{"message":"Unauthorized"}'
        # The Engine.IO connection stays; a CONNECT with a valid auth.token then succeeds.
        await ws.send("40" + json.dumps({"token": user.token}))
        reply = await ws.recv()
        assert isinstance(reply, str)
        assert reply.startswith("40{")
        assert list(json.loads(reply[2:])) == ["sid"]


async def test_authenticated_connect_over_polling_reply_is_queued_before_ok(server):
    user = await amake_user()
    async with Polling(server.base_url) as polling:
        response = await polling.http.get(polling.url(), headers={"Cookie": user.cookie_header})
        sid = json.loads(response.text[1:])["sid"]
        assert (await polling.post(sid, "40")).text == "ok"
        body = (await polling.get(sid)).text
        first = body.split(RS)[0]
        assert first.startswith("40{")
        assert list(json.loads(first[2:])) == ["sid"]
        await polling.post(sid, "1")


# ------------------------------------------------------------------------------------ limits and malformed packets


async def test_oversized_post_closes_only_that_session(server):
    user = await amake_user()
    async with healthy_client(server), Polling(server.base_url) as polling:
        response = await polling.http.get(polling.url(), headers={"Cookie": user.cookie_header})
        sid = json.loads(response.text[1:])["sid"]
        too_big = "42" + json.dumps(["e2e:echo", "x" * 1_000_000])
        assert (await polling.post(sid, too_big)).status_code == 413
        assert (await polling.get(sid)).status_code == 400


async def test_oversized_websocket_frame_closes_only_that_session(server):
    user = await amake_user()
    async with healthy_client(server), authed_ws(server, user) as ws:
        await ws.send("42" + json.dumps(["e2e:echo", "x" * 1_000_000]))
        await ws.expect_closed(timeout=2.0)


@pytest.mark.parametrize(
    "packet",
    [
        "abc",  # not an Engine.IO packet
        "4abc",  # unknown Socket.IO type
        "42{}",  # EVENT payload not an array
        "42[]",  # EVENT without name
        "42[7]",  # EVENT name not a string
        '42x["e2e:echo"]',  # garbage where the ack id goes
        '42/x["e2e:echo"]',  # garbage namespace
        '43["e2e:echo"]',  # ACK without id
        '44{"message":"x"}',  # CONNECT_ERROR from a client
        '451-["e2e:echo"]',  # attachment count mismatch
        f'452-["e2e:echo",{P0}]',  # attachment count mismatch
        "40",  # CONNECT for a namespace already connected
        "2",  # a client PING (heartbeats are server-initiated)
    ],
)
async def test_malformed_packet_closes_only_that_connection(server, packet):
    user = await amake_user()
    async with healthy_client(server), authed_ws(server, user) as ws:
        await ws.send(packet)
        await ws.expect_closed(timeout=1.0)


async def test_unannounced_binary_frame_closes_only_that_connection(server):
    user = await amake_user()
    async with healthy_client(server), authed_ws(server, user) as ws:
        await ws.send(b"\x00\x01")
        await ws.expect_closed(timeout=1.0)


async def test_events_before_connect_are_ignored(server):
    async with healthy_client(server), ws_connect(server.base_url) as ws:
        await ws.recv_open()
        await ws.send('421["e2e:whoami"]')
        await ws.expect_silence(0.3)
