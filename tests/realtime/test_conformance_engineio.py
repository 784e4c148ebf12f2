"""Engine.IO v4 behaviour (docs/PROTOCOL.md), as raw HTTP/WebSocket against a real daphne process
in conformance mode (``/engine.io/`` echoes every message; heartbeat 300 ms / 200 ms)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.realtime.raw import RS, Closed, Polling, ws_connect, ws_handshake_status

pytestmark = pytest.mark.e2e

EIO = "/engine.io/"
SIO = "/socket.io/"
OPEN_KEYS = ["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"]


# ------------------------------------------------------------------------------------ handshake


@pytest.mark.parametrize("path", [EIO, SIO])
async def test_polling_handshake_open_packet(conformance_server, path):
    async with Polling(conformance_server.base_url, path) as polling:
        response = await polling.http.get(f"{path}?EIO=4&transport=polling")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("0{")
    handshake = json.loads(response.text[1:])
    assert list(handshake) == OPEN_KEYS  # exactly these keys, in this order
    assert isinstance(handshake["sid"], str)
    assert len(handshake["sid"]) == 26
    assert handshake["upgrades"] == ["websocket"]
    assert handshake["pingInterval"] == 300
    assert handshake["pingTimeout"] == 200
    assert handshake["maxPayload"] == 1_000_000
    # compact JSON on the wire
    assert " " not in response.text


@pytest.mark.parametrize("path", [EIO, SIO])
async def test_websocket_handshake_open_packet(conformance_server, path):
    async with ws_connect(conformance_server.base_url, path) as ws:
        frame = await ws.recv()
    assert isinstance(frame, str)
    assert frame.startswith("0{")
    handshake = json.loads(frame[1:])
    assert list(handshake) == OPEN_KEYS
    assert handshake["upgrades"] == []
    assert (handshake["pingInterval"], handshake["pingTimeout"], handshake["maxPayload"]) == (300, 200, 1_000_000)


@pytest.mark.parametrize("path", [EIO, SIO])
@pytest.mark.parametrize("query", ["transport=polling", "EIO=abc&transport=polling", "EIO=3&transport=polling"])
async def test_bad_eio_version_is_400(conformance_server, path, query):
    async with Polling(conformance_server.base_url, path) as polling:
        response = await polling.http.get(f"{path}?{query}")
    assert response.status_code == 400
    assert response.json() == {"code": 5, "message": "Unsupported protocol version"}


@pytest.mark.parametrize("path", [EIO, SIO])
@pytest.mark.parametrize("query", ["EIO=4", "EIO=4&transport=abc", "EIO=4&transport=", "EIO=4&transport=constructor"])
async def test_bad_transport_is_400_and_never_defaults_to_polling(conformance_server, path, query):
    async with Polling(conformance_server.base_url, path) as polling:
        response = await polling.http.get(f"{path}?{query}")
    assert response.status_code == 400
    assert response.json() == {"code": 0, "message": "Transport unknown"}


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_post_or_put_without_sid_is_400_not_405(conformance_server, method):
    async with Polling(conformance_server.base_url, EIO) as polling:
        response = await polling.http.request(method, f"{EIO}?EIO=4&transport=polling", content="4hello")
    assert response.status_code == 400
    assert response.json() == {"code": 2, "message": "Bad handshake method"}


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_unknown_sid_is_400(conformance_server, method):
    async with Polling(conformance_server.base_url, EIO) as polling:
        response = await polling.http.request(method, f"{EIO}?EIO=4&transport=polling&sid=nope", content="4x")
    assert response.status_code == 400
    assert response.json() == {"code": 1, "message": "Session ID unknown"}


@pytest.mark.parametrize(
    "query",
    ["transport=websocket", "EIO=abc&transport=websocket", "EIO=3&transport=websocket", "EIO=4", "EIO=4&transport=abc"],
)
async def test_websocket_bad_query_is_refused(conformance_server, query):
    assert await ws_handshake_status(conformance_server.base_url, EIO, query) == 403


async def test_websocket_with_unknown_sid_is_refused(conformance_server):
    status = await ws_handshake_status(conformance_server.base_url, EIO, "EIO=4&transport=websocket&sid=nope")
    assert status == 403


# ------------------------------------------------------------------------------------ messages


async def test_polling_one_text_packet_round_trip(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        push = await polling.post(sid, "4hello")
        assert push.status_code == 200
        assert push.text == "ok"
        assert push.headers["content-type"] == "text/html"
        poll = await polling.get(sid)
        assert poll.status_code == 200
        assert poll.text == "4hello"


async def test_polling_several_packets_in_one_payload(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        assert (await polling.post(sid, f"4test1{RS}4test2{RS}4test3")).text == "ok"
        assert (await polling.get(sid)).text == f"4test1{RS}4test2{RS}4test3"


async def test_polling_text_and_binary_packets(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        assert (await polling.post(sid, f"4hello{RS}bAQIDBA==")).text == "ok"
        assert (await polling.get(sid)).text == f"4hello{RS}bAQIDBA=="


async def test_polling_unicode_text(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        assert (await polling.post(sid, "4héllo €𝄞".encode())).text == "ok"
        assert (await polling.get(sid)).text == "4héllo €𝄞"


@pytest.mark.parametrize("body", ["abc", "", f"4ok{RS}x", "b!!!", "1x"])
async def test_polling_invalid_packet_closes_the_session(conformance_server, body):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        push = await polling.post(sid, body)
        assert push.status_code == 400
        assert (await polling.get(sid)).status_code == 400


async def test_polling_invalid_utf8_closes_the_session(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        assert (await polling.post(sid, b"4\xff\xfe")).status_code == 400
        assert (await polling.get(sid)).status_code == 400


async def test_polling_overlapping_gets_close_the_session(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        first = asyncio.ensure_future(polling.get(sid))
        await asyncio.sleep(0.05)
        second = await polling.http.get(polling.url(sid) + "&t=burst")
        first_response = await first
        assert first_response.status_code == 200
        assert first_response.text == "1"
        assert second.status_code == 400
        assert (await polling.get(sid)).status_code == 400


async def test_polling_get_blocks_until_something_is_queued(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        pending = asyncio.ensure_future(polling.get(sid))
        await asyncio.sleep(0.1)
        assert not pending.done()
        assert (await polling.post(sid, "4wake")).text == "ok"
        response = await asyncio.wait_for(pending, 2)
        assert response.text == "4wake"


async def test_polling_get_whose_client_went_away_closes_the_session(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        with pytest.raises(httpx.ReadTimeout):  # the client gives up on its GET
            await polling.http.get(polling.url(sid), timeout=0.1)
        await asyncio.sleep(0.1)
        assert (await polling.get(sid)).status_code == 400


async def test_websocket_text_and_binary_echo(conformance_server):
    async with ws_connect(conformance_server.base_url, EIO) as ws:
        await ws.recv_open()
        await ws.send("4hello")
        assert await ws.recv() == "4hello"
        await ws.send(bytes([1, 2, 3, 4]))
        assert await ws.recv() == bytes([1, 2, 3, 4])


async def test_websocket_invalid_packet_closes(conformance_server):
    async with ws_connect(conformance_server.base_url, EIO) as ws:
        await ws.recv_open()
        await ws.send("abc")
        await ws.expect_closed(timeout=1.0)


async def test_websocket_client_ping_is_a_protocol_error(conformance_server):
    async with ws_connect(conformance_server.base_url, EIO) as ws:
        await ws.recv_open()
        await ws.send("2")
        await ws.expect_closed(timeout=1.0)


# ------------------------------------------------------------------------------------ heartbeat


async def test_polling_ping_pong(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        for _ in range(3):
            started = asyncio.get_running_loop().time()
            poll = await polling.get(sid)
            assert poll.status_code == 200
            assert poll.text == "2"
            assert asyncio.get_running_loop().time() - started < 0.6
            assert (await polling.post(sid, "3")).status_code == 200


async def test_polling_ping_timeout_deadline_is_exact(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        loop = asyncio.get_running_loop()
        opened = loop.time()
        sid, _ = await polling.open()
        # Before the deadline the session is alive: the queued ping is served.
        await asyncio.sleep(0.35 - (loop.time() - opened))
        poll = await polling.get(sid)
        assert (poll.status_code, poll.text) == (200, "2")
        # No pong: at 500 ms (ping at 300 + 200) it is dead, whether or not a sweep ran.
        await asyncio.sleep(max(0.0, 0.52 - (loop.time() - opened)))
        assert (await polling.get(sid)).status_code == 400


async def test_polling_session_dies_without_any_request(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        await asyncio.sleep(0.5)
        assert (await polling.post(sid, "3")).status_code == 400


async def test_websocket_ping_pong(conformance_server):
    async with ws_connect(conformance_server.base_url, EIO) as ws:
        await ws.recv_open()
        for _ in range(3):
            assert await ws.recv(timeout=1.0) == "2"
            await ws.send("3")


async def test_websocket_ping_timeout_closes(conformance_server):
    async with ws_connect(conformance_server.base_url, EIO) as ws:
        loop = asyncio.get_running_loop()
        await ws.recv_open()
        opened = loop.time()
        assert await ws.recv(timeout=1.0) == "2"
        await ws.expect_closed(timeout=1.0)
        assert loop.time() - opened < 0.8


# ------------------------------------------------------------------------------------ close


async def test_polling_client_close_answers_pending_get_with_noop(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        pending = asyncio.ensure_future(polling.get(sid))
        await asyncio.sleep(0.05)
        push = await polling.post(sid, "1")
        poll = await pending
        assert push.status_code == 200
        assert (poll.status_code, poll.text) == (200, "6")
        assert (await polling.get(sid)).status_code == 400


async def test_websocket_client_close(conformance_server):
    async with ws_connect(conformance_server.base_url, EIO) as ws:
        await ws.recv_open()
        await ws.send("1")
        await ws.expect_closed(timeout=1.0)


# ------------------------------------------------------------------------------------ upgrade


async def _probe(conformance_server, sid):
    return ws_connect(conformance_server.base_url, EIO, f"EIO=4&transport=websocket&sid={sid}")


async def test_upgrade_sequence(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        async with await _probe(conformance_server, sid) as ws:
            await ws.send("2probe")
            assert await ws.recv() == "3probe"
            poll = await polling.get(sid)
            assert (poll.status_code, poll.text) == (200, "6")
            await ws.send("5")
            await ws.send("4hello")
            # The next frame after 5 is real traffic: no stray NOOP.
            assert await ws.recv() == "4hello"


async def test_upgrade_answers_the_pending_get_with_noop(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        pending = asyncio.ensure_future(polling.get(sid))
        await asyncio.sleep(0.05)
        async with await _probe(conformance_server, sid) as ws:
            await ws.send("2probe")
            assert await ws.recv() == "3probe"
            poll = await asyncio.wait_for(pending, 1.0)
            assert (poll.status_code, poll.text) == (200, "6")
            await ws.send("5")
            await ws.send("4after")
            assert await ws.recv() == "4after"


async def test_upgrade_keeps_packets_queued_during_the_probe(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        async with await _probe(conformance_server, sid) as ws:
            await ws.send("2probe")
            assert await ws.recv() == "3probe"
            assert (await polling.post(sid, f"4one{RS}4two")).text == "ok"
            await ws.send("5")
            assert await ws.recv() == "4one"
            assert await ws.recv() == "4two"
            await ws.send("4three")
            assert await ws.recv() == "4three"


@pytest.mark.parametrize("attempt", range(10))
async def test_get_after_upgrade_is_400_and_session_stays(conformance_server, attempt):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        async with await _probe(conformance_server, sid) as ws:
            await ws.send("2probe")
            await ws.send("5")
            # Sent right after 5 on another connection: the upgrade must already be applied.
            poll = await polling.get(sid)
            assert poll.status_code == 400
            assert poll.json() == {"code": 3, "message": "Bad request"}
            assert (await polling.post(sid, "4x")).status_code == 400
            assert await ws.recv() == "3probe"
            await ws.send("4hello")
            assert await ws.recv() == "4hello"


async def test_second_websocket_after_upgrade_is_accepted_then_closed(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        async with await _probe(conformance_server, sid) as ws:
            await ws.send("2probe")
            await ws.send("5")
            assert await ws.recv() == "3probe"
            async with await _probe(conformance_server, sid) as second:  # 101, then closed
                await second.expect_closed(timeout=1.0)
            await ws.send("4hello")
            assert await ws.recv() == "4hello"


async def test_second_probe_during_upgrade_is_closed(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        async with await _probe(conformance_server, sid) as ws:
            await ws.send("2probe")
            assert await ws.recv() == "3probe"
            async with await _probe(conformance_server, sid) as second:
                await second.expect_closed(timeout=1.0)
            await ws.send("5")
            await ws.send("4still")
            assert await ws.recv() == "4still"


async def test_probe_with_garbage_is_dropped_and_polling_continues(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        async with await _probe(conformance_server, sid) as ws:
            await ws.send("4not-a-probe")
            await ws.expect_closed(timeout=1.0)
        assert (await polling.post(sid, "4poll")).text == "ok"
        assert (await polling.get(sid)).text == "4poll"


async def test_upgraded_session_pings_over_websocket(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        async with await _probe(conformance_server, sid) as ws:
            await ws.send("2probe")
            assert await ws.recv() == "3probe"
            await ws.send("5")
            for _ in range(2):
                assert await ws.recv(timeout=1.0) == "2"
                await ws.send("3")


# ------------------------------------------------------------------------------------ limits


async def test_oversized_post_closes_the_session(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        push = await polling.post(sid, "4" + "x" * 1_000_000)
        assert push.status_code == 413
        assert (await polling.get(sid)).status_code == 400


async def test_post_of_exactly_max_payload_is_accepted(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        body = "4" + "x" * 999_999
        assert (await polling.post(sid, body)).text == "ok"
        assert (await polling.get(sid)).text == body


async def test_oversized_websocket_frame_closes(conformance_server):
    async with ws_connect(conformance_server.base_url, EIO, max_msg_size=0) as ws:
        await ws.recv_open()
        await ws.send("4" + "x" * 1_000_000)
        await ws.expect_closed(timeout=2.0)


async def test_too_many_packets_in_one_payload(conformance_server):
    async with Polling(conformance_server.base_url, EIO) as polling:
        sid, _ = await polling.open()
        push = await polling.post(sid, RS.join(["4x"] * 1001))
        assert push.status_code == 400
        assert (await polling.get(sid)).status_code == 400


async def test_other_sessions_survive_a_broken_one(conformance_server):
    async with ws_connect(conformance_server.base_url, EIO) as healthy:
        await healthy.recv_open()
        async with ws_connect(conformance_server.base_url, EIO) as broken:
            await broken.recv_open()
            await broken.send("garbage")
            await broken.expect_closed(timeout=1.0)
        await healthy.send("4still-here")
        assert await healthy.recv(skip_pings=True) == "4still-here"


async def test_closed_websocket_raises_closed(conformance_server):
    async with ws_connect(conformance_server.base_url, EIO) as ws:
        await ws.recv_open()
        await ws.send("1")
        with pytest.raises(Closed):
            await ws.recv(timeout=1.0)
