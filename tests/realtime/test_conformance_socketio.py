"""Socket.IO v5 behaviour (docs/PROTOCOL.md), as raw frames against a real daphne process in
conformance mode: namespaces ``/`` and ``/custom`` emit ``auth`` on connection; in ``/``,
``message`` → ``message-back`` and ``message-with-ack`` is acked with the same arguments."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager

import pytest

from tests.e2e.fixtures import CONFORMANCE_CONNECT_TIMEOUT_MS
from tests.realtime.raw import RS, Polling, RawWs, ws_connect

pytestmark = pytest.mark.e2e

P0 = '{"_placeholder":true,"num":0}'
P1 = '{"_placeholder":true,"num":1}'


@asynccontextmanager
async def engine(server):
    """A WebSocket with the Engine.IO handshake done."""
    async with ws_connect(server.base_url) as ws:
        await ws.recv_open()
        yield ws


@asynccontextmanager
async def connected(server):
    """A WebSocket with namespace ``/`` connected (CONNECT reply and ``auth`` event consumed),
    answering heartbeats like a real client."""
    async with engine(server) as ws:
        ws.autopong()
        await ws.send("40")
        assert (await ws.recv(skip_pings=True)).startswith("40{")
        assert await ws.recv(skip_pings=True) == '42["auth",{}]'
        yield ws


async def recv(ws: RawWs) -> str | bytes:
    return await ws.recv(skip_pings=True)


async def recv_text(ws: RawWs) -> str:
    frame = await recv(ws)
    assert isinstance(frame, str), frame
    return frame


# ------------------------------------------------------------------------------------ connect


async def test_connect_main_namespace(conformance_server):
    async with engine(conformance_server) as ws:
        await ws.send("40")
        reply = await recv_text(ws)
        assert isinstance(reply, str)
        assert reply.startswith("40{")
        handshake = json.loads(reply[2:])
        assert list(handshake) == ["sid"]
        assert isinstance(handshake["sid"], str)
        assert handshake["sid"]
        # The connect handler's emit goes out after the CONNECT reply.
        assert await recv(ws) == '42["auth",{}]'


async def test_connect_main_namespace_with_payload(conformance_server):
    async with engine(conformance_server) as ws:
        await ws.send('40{"token":"123","z":1,"a":[true,null]}')
        assert list(json.loads((await recv(ws))[2:])) == ["sid"]
        assert await recv(ws) == '42["auth",{"token":"123","z":1,"a":[true,null]}]'


@pytest.mark.parametrize("packet", ["40/custom,", "40/custom"])
async def test_connect_custom_namespace(conformance_server, packet):
    async with engine(conformance_server) as ws:
        await ws.send(packet)
        reply = await recv_text(ws)
        assert isinstance(reply, str)
        assert reply.startswith("40/custom,{")
        assert list(json.loads(reply[len("40/custom,") :])) == ["sid"]
        assert await recv(ws) == '42/custom,["auth",{}]'


async def test_connect_custom_namespace_with_payload(conformance_server):
    async with engine(conformance_server) as ws:
        await ws.send('40/custom,{"token":"abc"}')
        assert (await recv_text(ws)).startswith("40/custom,{")
        assert await recv(ws) == '42/custom,["auth",{"token":"abc"}]'


@pytest.mark.parametrize(("packet", "reply"), [("40/random", "44/random,"), ("40/random,{}", "44/random,")])
async def test_unknown_namespace_is_refused(conformance_server, packet, reply):
    async with engine(conformance_server) as ws:
        await ws.send(packet)
        assert await recv(ws) == reply + '{"message":"Invalid namespace"}'
        # The connection stays usable.
        await ws.send("40")
        assert (await recv_text(ws)).startswith("40{")


async def test_both_namespaces_have_distinct_socket_ids(conformance_server):
    async with connected(conformance_server) as ws:
        await ws.send("40/custom,")
        reply = await recv_text(ws)
        assert await recv(ws) == '42/custom,["auth",{}]'
        await ws.send("40")  # already connected: protocol error
        await ws.expect_closed(timeout=1.0)
        assert reply.startswith("40/custom,")


async def test_invalid_handshake_closes(conformance_server):
    async with engine(conformance_server) as ws:
        await ws.send("4abc")
        await ws.expect_closed(timeout=1.0)


@pytest.mark.slow
async def test_connect_timeout(conformance_server):
    async with engine(conformance_server) as ws:
        started = asyncio.get_running_loop().time()
        # Answer pings so that only the connect timeout can end this connection.
        while True:
            try:
                frame = await ws.recv(timeout=3.0)
            except Exception:
                break
            if frame == "2":
                await ws.send("3")
        elapsed = asyncio.get_running_loop().time() - started
        assert CONFORMANCE_CONNECT_TIMEOUT_MS / 1000 - 0.2 < elapsed < CONFORMANCE_CONNECT_TIMEOUT_MS / 1000 + 1.0


@pytest.mark.slow
async def test_connect_timeout_does_not_close_connected_sessions(conformance_server):
    async with connected(conformance_server) as ws:  # answers every ping meanwhile
        await ws.expect_silence(CONFORMANCE_CONNECT_TIMEOUT_MS / 1000 + 0.5)
        await ws.send('42["message","alive"]')
        assert await recv(ws) == '42["message-back","alive"]'


# ------------------------------------------------------------------------------------ disconnect


async def test_disconnect_main_namespace_keeps_engine_connection(conformance_server):
    async with connected(conformance_server) as ws:
        await ws.send("41")
        # Not answered; events to the disconnected namespace are ignored.
        await ws.send('42["message","ignored"]')
        await ws.expect_silence(0.25)
        # The Engine.IO connection is still there: connect again.
        await ws.send("40")
        assert (await recv_text(ws)).startswith("40{")
        assert await recv(ws) == '42["auth",{}]'


async def test_disconnect_custom_namespace_only(conformance_server):
    async with connected(conformance_server) as ws:
        await ws.send("40/custom")
        assert (await recv_text(ws)).startswith("40/custom,")
        assert await recv(ws) == '42/custom,["auth",{}]'
        await ws.send("41/custom")
        await ws.send('42["message","message to main namespace"]')
        assert await recv(ws) == '42["message-back","message to main namespace"]'


# ------------------------------------------------------------------------------------ events and acks


async def test_plain_text_event(conformance_server):
    async with connected(conformance_server) as ws:
        await ws.send('42["message",1,"2",{"3":[true]}]')
        assert await recv(ws) == '42["message-back",1,"2",{"3":[true]}]'


async def test_event_keeps_key_order_and_unicode(conformance_server):
    async with connected(conformance_server) as ws:
        await ws.send('42["message",{"z":1,"a":2,"é":"€"},1.5,-0.25,1e21]')
        assert await recv(ws) == '42["message-back",{"z":1,"a":2,"é":"€"},1.5,-0.25,1e+21]'


async def test_event_with_binary_attachments(conformance_server):
    async with connected(conformance_server) as ws:
        await ws.send(f'452-["message",{P0},{P1}]')
        await ws.send(bytes([1, 2, 3]))
        await ws.send(bytes([4, 5, 6]))
        assert await recv(ws) == f'452-["message-back",{P0},{P1}]'
        assert await recv(ws) == bytes([1, 2, 3])
        assert await recv(ws) == bytes([4, 5, 6])


async def test_event_with_ack(conformance_server):
    async with connected(conformance_server) as ws:
        await ws.send('42456["message-with-ack",1,"2",{"3":[false]}]')
        assert await recv(ws) == '43456[1,"2",{"3":[false]}]'


async def test_event_with_binary_attachments_and_ack(conformance_server):
    async with connected(conformance_server) as ws:
        await ws.send(f'452-789["message-with-ack",{P0},{P1}]')
        await ws.send(bytes([1, 2, 3]))
        await ws.send(bytes([4, 5, 6]))
        assert await recv(ws) == f"462-789[{P0},{P1}]"
        assert await recv(ws) == bytes([1, 2, 3])
        assert await recv(ws) == bytes([4, 5, 6])


async def test_nested_binary_placeholder(conformance_server):
    async with connected(conformance_server) as ws:
        await ws.send(f'451-1["message-with-ack",{{"deep":[{P0}]}}]')
        await ws.send(b"\x00\xff")
        assert await recv(ws) == f'461-1[{{"deep":[{P0}]}}]'
        assert await recv(ws) == b"\x00\xff"


async def test_unknown_event_is_ignored(conformance_server):
    async with connected(conformance_server) as ws:
        await ws.send('421["nobody-listens",1]')
        await ws.expect_silence(0.25)
        await ws.send('42["message","still"]')
        assert await recv(ws) == '42["message-back","still"]'


async def test_events_are_handled_in_order(conformance_server):
    async with connected(conformance_server) as ws:
        for n in range(20):
            await ws.send(f'42{n}["message-with-ack",{n}]')
        for n in range(20):
            assert await recv(ws) == f"43{n}[{n}]"


async def test_ack_from_client_for_unknown_id_is_ignored(conformance_server):
    async with connected(conformance_server) as ws:
        await ws.send('4399["whatever"]')
        await ws.send('42["message","ok"]')
        assert await recv(ws) == '42["message-back","ok"]'


# ------------------------------------------------------------------------------------ malformed packets


@pytest.mark.parametrize(
    "packet",
    [
        "4abc",  # unknown Socket.IO packet type
        "47",  # unknown type digit
        "42{}",  # EVENT payload not an array
        "42[]",  # empty array
        "42[1]",  # event name not a string
        '42["message"',  # invalid JSON
        '42abc["message-with-ack",1,"2",{"3":[false]}]',  # garbage where an ack id should be
        '4212345678901["message-with-ack"]',  # ack id too long
        '42/custom["message"]',  # garbage namespace (no comma before payload)
        '43["no-id"]',  # ACK without id
        "43{}",  # ACK payload not an array
        '44{"message":"x"}',  # CONNECT_ERROR from a client
        '41["x"]',  # DISCONNECT with payload
        '451-["message"]',  # attachment count mismatch (no placeholder)
        f'452-["message",{P0}]',  # attachment count mismatch (one placeholder for two)
        f'45-["message",{P0}]',  # missing attachment count
        '42["disconnect"]',  # reserved event name
        "4517-[" + ",".join(f'{{"_placeholder":true,"num":{n}}}' for n in range(17)) + "]",  # too many attachments
    ],
)
async def test_malformed_packet_closes_the_connection(conformance_server, packet):
    async with connected(conformance_server) as ws:
        started = asyncio.get_running_loop().time()
        await ws.send(packet)
        await ws.expect_closed(timeout=1.0)
        # Immediately, not at the next heartbeat.
        assert asyncio.get_running_loop().time() - started < 0.25


async def test_unannounced_binary_frame_closes(conformance_server):
    async with connected(conformance_server) as ws:
        await ws.send(b"\x01\x02")
        await ws.expect_closed(timeout=1.0)


async def test_text_where_attachment_expected_closes(conformance_server):
    async with connected(conformance_server) as ws:
        await ws.send(f'451-["message",{P0}]')
        await ws.send('42["message","too early"]')
        await ws.expect_closed(timeout=1.0)


async def test_malformed_packet_leaves_other_connections_alone(conformance_server):
    async with connected(conformance_server) as healthy, connected(conformance_server) as broken:
        await broken.send("42{}")
        await broken.expect_closed(timeout=1.0)
        await healthy.send('42["message","fine"]')
        assert await recv(healthy) == '42["message-back","fine"]'


# ------------------------------------------------------------------------------------ over long-polling


async def test_polling_connect_reply_is_queued_before_post_returns(conformance_server):
    async with Polling(conformance_server.base_url) as polling:
        sid, _ = await polling.open()
        assert (await polling.post(sid, "40")).text == "ok"
        poll = await polling.get(sid)
        connect_reply, auth = poll.text.split(RS)
        assert connect_reply.startswith("40{")
        assert list(json.loads(connect_reply[2:])) == ["sid"]
        assert auth == '42["auth",{}]'


async def test_polling_event_reply_is_queued_before_post_returns(conformance_server):
    async with Polling(conformance_server.base_url) as polling:
        sid, _ = await polling.open()
        await polling.post(sid, "40")
        await polling.get(sid)
        assert (await polling.post(sid, f'42["message","a"]{RS}421["message-with-ack","b"]')).text == "ok"
        assert (await polling.get(sid)).text == f'42["message-back","a"]{RS}431["b"]'


async def test_polling_binary_event_round_trip(conformance_server):
    async with Polling(conformance_server.base_url) as polling:
        sid, _ = await polling.open()
        await polling.post(sid, "40")
        await polling.get(sid)
        body = f'451-3["message-with-ack",{P0}]{RS}bAQID'
        assert (await polling.post(sid, body)).text == "ok"
        assert (await polling.get(sid)).text == f"461-3[{P0}]{RS}bAQID"


async def test_polling_unknown_namespace(conformance_server):
    async with Polling(conformance_server.base_url) as polling:
        sid, _ = await polling.open()
        assert (await polling.post(sid, "40/nope,")).text == "ok"
        assert (await polling.get(sid)).text == '44/nope,{"message":"Invalid namespace"}'


async def test_polling_malformed_socketio_packet_closes(conformance_server):
    async with Polling(conformance_server.base_url) as polling:
        sid, _ = await polling.open()
        await polling.post(sid, "40")
        await polling.get(sid)
        assert (await polling.post(sid, "42{}")).status_code == 400
        assert (await polling.get(sid)).status_code == 400


async def test_polling_upgrade_with_socketio_traffic(conformance_server):
    async with Polling(conformance_server.base_url) as polling:
        sid, _ = await polling.open()
        await polling.post(sid, "40")
        await polling.get(sid)
        async with ws_connect(conformance_server.base_url, query=f"EIO=4&transport=websocket&sid={sid}") as ws:
            await ws.send("2probe")
            assert await ws.recv() == "3probe"
            await polling.post(sid, '42["message","queued during upgrade"]')
            await ws.send("5")
            assert await ws.recv() == '42["message-back","queued during upgrade"]'
            await ws.send('42["message","over websocket"]')
            assert await recv(ws) == '42["message-back","over websocket"]'
