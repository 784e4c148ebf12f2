"""The engine end to end: a real daphne worker, python-socketio's AsyncClient, real sessions.

The server runs the test-only ``e2e:*`` handlers (`tests.e2e.probe_handlers`), not RetroChat
features, so these tests pin the engine: transports, authentication at CONNECT, acks in both
directions, errors, binary payloads, rooms, ordering, sign-out and reconnection.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.e2e.helpers import (
    ConnectRefused,
    aexpire_session,
    amake_user,
    anew_session,
    connect,
    new_client,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TRANSPORTS = {
    "websocket": ("websocket",),
    "polling": ("polling",),
    "upgrade": ("polling", "websocket"),
}


@pytest.mark.parametrize("mode", list(TRANSPORTS))
async def test_round_trip_on_each_transport(server, mode):
    alice = await amake_user(name="Alice")
    client = await connect(server, alice, transports=TRANSPORTS[mode])
    try:
        if mode == "upgrade":
            await wait_until(lambda: client.transport == "websocket", message="upgrade to websocket")
        else:
            assert client.transport == TRANSPORTS[mode][0]
        # emit with ack
        who = await client.call("e2e:whoami")
        assert who == {"userId": alice.id, "sid": client.sid, "authSessionId": alice.session_id}
        # emit without ack: the handler's emit comes back
        await client.emit("e2e:echo", {"n": 1, "text": "héllo"})
        assert await client.events.assert_once("e2e:echoed", settle=0.2) == ({"n": 1, "text": "héllo"},)
        # several ack arguments
        assert await client.call("e2e:echo", 1, "two", [3]) == (1, "two", [3])
        # a server emit issued through the channel layer (for this user, on every worker)
        assert await client.call("e2e:emit-to-users", {"userIds": [alice.id], "event": "e2e:pushed", "data": 42}) == (
            "sent"
        )
        assert await client.events.assert_once("e2e:pushed", settle=0.2) == (42,)
        # binary both ways
        got = await client.call("e2e:binary", b"\x00\x01binary\xff")
        assert got == {"got": b"\x00\x01binary\xff", "size": 9}
        (back,) = await client.events.wait_for("e2e:binary-back")
        assert back == {"got": b"\x00\x01binary\xff", "extra": b"\x00\x01\xfe\xff"}
    finally:
        await client.disconnect()


@pytest.mark.parametrize("mode", ["websocket", "polling"])
async def test_server_calls_client_and_awaits_its_ack(server, mode):
    bob = await amake_user()
    client = new_client()

    @client.sio.on("e2e:question")
    async def answer(payload):
        return {"answered": payload["q"] * 2}

    await client.sio.connect(
        server.base_url, headers={"Cookie": bob.cookie_header}, transports=list(TRANSPORTS[mode]), wait_timeout=5
    )
    try:
        assert await client.call("e2e:call", {"q": 21}) == {"answer": {"answered": 42}}
    finally:
        await client.disconnect()


async def test_server_call_times_out_when_client_never_acks(server):
    carol = await amake_user()
    client = new_client()

    @client.sio.on("e2e:question")
    async def too_slow(payload):
        await asyncio.sleep(1.5)
        return "late"

    await client.sio.connect(server.base_url, headers={"Cookie": carol.cookie_header}, transports=["websocket"])
    try:
        assert await client.call("e2e:call", {"q": 1, "timeout": 0.3}) == {"timeout": True}
        # The late ack is ignored and the socket keeps working.
        await asyncio.sleep(1.4)
        assert (await client.call("e2e:whoami"))["userId"] == carol.id
    finally:
        await client.disconnect()


async def test_connect_with_auth_token_only(server):
    dave = await amake_user()
    client = await connect(server, dave, auth="token")
    try:
        assert (await client.call("e2e:whoami"))["userId"] == dave.id
    finally:
        await client.disconnect()


async def test_connect_with_secure_cookie_name(server):
    erin = await amake_user()
    client = await connect(server, erin, auth=None, headers={"Cookie": f"other=1; {erin.secure_cookie_header}"})
    try:
        assert (await client.call("e2e:whoami"))["userId"] == erin.id
    finally:
        await client.disconnect()


async def test_cookie_wins_over_token_and_bad_cookie_falls_back_to_token(server):
    frank = await amake_user()
    grace = await amake_user()
    both = await connect(server, frank, auth="cookie", auth_payload={"token": grace.token})
    fallback = await connect(
        server, None, headers={"Cookie": "better-auth.session_token=forged.sig"}, auth_payload={"token": grace.token}
    )
    try:
        assert (await both.call("e2e:whoami"))["userId"] == frank.id
        assert (await fallback.call("e2e:whoami"))["userId"] == grace.id
    finally:
        await both.disconnect()
        await fallback.disconnect()


@pytest.mark.parametrize("mode", ["websocket", "polling"])
@pytest.mark.parametrize("case", ["none", "bad-token", "forged-cookie", "expired"])
async def test_refused_without_valid_session(server, mode, case):
    user = await amake_user()
    kwargs: dict[str, Any] = {"transports": TRANSPORTS[mode]}
    if case == "none":
        kwargs.update(auth=None)
    elif case == "bad-token":
        kwargs.update(auth=None, auth_payload={"token": "not-a-real-token"})
    elif case == "forged-cookie":
        kwargs.update(auth=None, headers={"Cookie": f"better-auth.session_token={user.token}.forged"})
    else:
        await aexpire_session(user)
    with pytest.raises(ConnectRefused) as refused:
        await connect(server, user if case == "expired" else None, **kwargs)
    assert refused.value.data == {"message": "Unauthorized"}
    await wait_until(lambda: "Invalid session for socket" in server.log_text(), message="refusal logged")


async def test_connection_log_lines(server):
    henry = await amake_user()
    client = await connect(server, henry)
    sid = client.sid
    assert sid is not None
    await client.disconnect()
    # python-socketio may close the transport before its DISCONNECT packet is flushed.
    pattern = (
        rf"User {henry.id} disconnected from socket {re.escape(sid)}: (client namespace disconnect|transport close)"
    )
    await wait_until(lambda: re.search(pattern, server.log_text()) is not None, message="disconnect line")
    log = server.log_text()
    assert f"Client attempting connection: {sid}" in log
    assert f"User {henry.id} connected with socket {sid}" in log


async def test_domain_error_becomes_ack_error_and_error_event(server):
    ivy = await amake_user()
    client = await connect(server, ivy)
    try:
        ack = await client.call("e2e:domain-error", {"x": 1})
        assert ack == {"error": {"code": "bad_request", "message": "Nope, not that"}}
        assert await client.events.assert_once("e2e:error", settle=0.1) == ({"error": "Nope, not that"},)
        # The connection is still fine.
        assert (await client.call("e2e:whoami"))["userId"] == ivy.id
    finally:
        await client.disconnect()


async def test_unexpected_error_is_generic_and_keeps_the_connection(server):
    jack = await amake_user()
    client = await connect(server, jack)
    try:
        ack = await client.call("e2e:crash")
        assert ack == {"error": {"code": "internal", "message": "Failed to crash politely"}}
        assert await client.events.assert_once("e2e:error", settle=0.1) == ({"error": "Failed to crash politely"},)
        assert client.connected
        assert (await client.call("e2e:whoami"))["userId"] == jack.id
    finally:
        await client.disconnect()
    assert "RuntimeError: boom" in server.log_text()


async def test_wrong_arguments_do_not_close_the_connection(server):
    kate = await amake_user()
    client = await connect(server, kate)
    try:
        ack = await client.call("e2e:join")  # the handler needs a room argument
        assert ack["error"]["code"] == "internal"
        assert (await client.call("e2e:whoami"))["userId"] == kate.id
    finally:
        await client.disconnect()


@pytest.mark.parametrize("mode", ["websocket", "polling"])
async def test_events_of_one_socket_are_handled_in_order(server, mode):
    leo = await amake_user()
    client = await connect(server, leo, transports=TRANSPORTS[mode])
    try:
        acks = await asyncio.gather(*(client.call("e2e:order", n) for n in range(10)))
        assert acks[-1] == list(range(10))
        assert acks[0] == [0]
    finally:
        await client.disconnect()


async def test_every_tab_of_a_user_receives_once(server):
    mia = await amake_user()
    other = await amake_user()
    tab1 = await connect(server, mia)
    tab2 = await connect(server, mia, transports=("polling",))
    stranger = await connect(server, other)
    try:
        await stranger.call("e2e:emit-to-users", {"userIds": [mia.id], "event": "e2e:hello", "data": "hi"})
        assert await tab1.events.assert_once("e2e:hello") == ("hi",)
        assert await tab2.events.assert_once("e2e:hello") == ("hi",)
        await stranger.events.assert_not_received("e2e:hello", within=0.1)
        # Several users in one emit: each socket still gets it once.
        await stranger.call(
            "e2e:emit-to-users", {"userIds": [mia.id, other.id, mia.id], "event": "e2e:multi", "data": 2}
        )
        for client in (tab1, tab2, stranger):
            assert await client.events.assert_once("e2e:multi") == (2,)
        # exclude_sid skips the emitting socket only.
        await tab1.call("e2e:emit-to-users", {"userIds": [mia.id], "event": "e2e:others", "excludeSelf": True})
        assert await tab2.events.assert_once("e2e:others") == (None,)
        await tab1.events.assert_not_received("e2e:others", within=0.2)
    finally:
        for client in (tab1, tab2, stranger):
            await client.disconnect()


async def test_rooms_join_emit_leave(server):
    nina = await amake_user()
    oscar = await amake_user()
    member = await connect(server, nina)
    outsider = await connect(server, oscar)
    try:
        assert await member.call("e2e:join", "group.e2e-room") is True
        await outsider.call("e2e:emit-to-room", {"room": "group.e2e-room", "event": "e2e:room", "data": 1})
        assert await member.events.assert_once("e2e:room", settle=0.2) == (1,)
        await outsider.events.assert_not_received("e2e:room", within=0.1)
        assert await member.call("e2e:leave", "group.e2e-room") is True
        await outsider.call("e2e:emit-to-room", {"room": "group.e2e-room", "event": "e2e:room", "data": 2})
        await member.events.assert_not_received("e2e:room", lambda n: n == 2, within=0.3)
    finally:
        await member.disconnect()
        await outsider.disconnect()


async def test_sign_out_closes_only_that_sessions_sockets(server):
    paul = await amake_user()
    paul_laptop = await anew_session(paul)
    phone_tab1 = await connect(server, paul)
    phone_tab2 = await connect(server, paul, transports=("polling",))
    laptop = await connect(server, paul_laptop)
    try:
        started = asyncio.get_running_loop().time()
        await phone_tab1.emit("e2e:sign-out")
        await phone_tab1.wait_disconnected(timeout=1.0)
        await phone_tab2.wait_disconnected(timeout=1.0)
        assert asyncio.get_running_loop().time() - started < 1.0
        assert phone_tab1.disconnect_reasons[-1] == "server disconnect"  # python-socketio wording
        assert laptop.connected
        assert (await laptop.call("e2e:whoami"))["userId"] == paul.id
        # The revoked session cannot come back.
        with pytest.raises(ConnectRefused):
            await connect(server, paul)
    finally:
        for client in (phone_tab1, phone_tab2, laptop):
            await client.disconnect()


async def test_reconnects_after_transport_drop(server):
    quinn = await amake_user()
    client = await connect(server, quinn, reconnection=True)
    try:
        first_sid = client.sid
        await client.emit("e2e:drop-transport")
        await client.events.wait_for("disconnect", timeout=3)
        await client.events.wait_for("connect", count=2, timeout=5)
        await wait_until(lambda: client.connected, message="reconnected")
        assert client.sid != first_sid
        assert (await client.call("e2e:whoami"))["userId"] == quinn.id
    finally:
        await client.disconnect()


async def test_spawned_task_stops_with_its_socket(server):
    rita = await amake_user()
    client = await connect(server, rita)
    try:
        assert await client.call("e2e:spawn-ticker") == "started"
        await client.events.wait_for("e2e:tick", count=3, timeout=3)
    finally:
        await client.disconnect()
    await asyncio.sleep(0.3)
    assert "Task was destroyed but it is pending" not in server.log_text()
    assert "task e2e ticker" not in server.log_text()  # no failure logged for the cancelled ticker


@pytest.mark.slow
async def test_rate_limit_refuses_excess_events_then_disconnects_abusers(server_factory):
    limited = server_factory(env={"REALTIME_EVENTS_PER_SECOND": "2", "REALTIME_EVENT_BURST": "3"}, name="limited")
    sam = await amake_user()
    client = await connect(limited, sam)
    try:
        acks = [await client.call("e2e:echo", n) for n in range(5)]
        assert acks[:3] == [0, 1, 2]
        refused = {"error": {"code": "rate_limited", "message": "Too many requests. Please try again later."}}
        assert acks[3:] == [refused, refused]
        # Events registered with rate_limited=False are not counted.
        assert await client.call("e2e:unlimited", 7) == 7
        await asyncio.sleep(0.6)  # a token comes back
        assert await client.call("e2e:echo", "again") == "again"
        # Sustained abuse: the connection is closed.
        for n in range(150):
            await client.emit("e2e:echo", n)
        await client.wait_disconnected(timeout=3)
    finally:
        await client.disconnect()
    assert "too many events" in limited.log_text()


@pytest.mark.slow
async def test_max_sockets_per_user(server_factory):
    capped = server_factory(env={"REALTIME_MAX_SOCKETS_PER_USER": "2"}, name="capped")
    tom = await amake_user()
    first = await connect(capped, tom)
    second = await connect(capped, tom)
    try:
        with pytest.raises(ConnectRefused) as refused:
            await connect(capped, tom)
        assert refused.value.data == {"message": "Too many connections"}
        await first.disconnect()
        await asyncio.sleep(0.2)
        third = await connect(capped, tom)
        await third.disconnect()
    finally:
        await first.disconnect()
        await second.disconnect()
