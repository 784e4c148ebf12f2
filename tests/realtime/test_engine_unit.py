"""The engine in-process (no server process): limits, heartbeat deadlines, the Socket.IO layer on
a fake WebSocket, the worker hub on the in-memory channel layer, and the ASGI consumers."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest
from channels.layers import InMemoryChannelLayer
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from retrochat.errors import NotFound
from retrochat.realtime import hub as hub_module
from retrochat.realtime import limits as limits_module
from retrochat.realtime.broadcast import WORKERS_GROUP, emit_to_room, emit_to_users, encode_event, user_group
from retrochat.realtime.eio import EioType
from retrochat.realtime.limits import Limits
from retrochat.realtime.router import ConnectionRefused, EventRouter
from retrochat.realtime.server import SocketIOServer, TokenBucket
from retrochat.realtime.session import WORKER_ID, EngineSession, lookup, worker_of
from retrochat.realtime.types import Handshake

HANDSHAKE = Handshake(headers={}, cookies={}, query={})


class FakeLink:
    """A WebSocket the session writes to; frames are collected."""

    def __init__(self) -> None:
        self.frames: list[str | bytes] = []
        self.closed: int | None = None

    def write(self, frame: str | bytes) -> None:
        assert self.closed is None, f"write after close: {frame!r}"
        self.frames.append(frame)

    def close(self, code: int = 1000) -> None:
        self.closed = code

    def take(self) -> list[str | bytes]:
        frames, self.frames = self.frames, []
        return frames


async def settle(rounds: int = 20) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


def fast_limits(**changes: Any) -> Limits:
    return replace(Limits(), ping_interval_ms=10_000, ping_timeout_ms=10_000, **changes)


def open_ws_session(router: EventRouter, limits: Limits | None = None) -> tuple[EngineSession, FakeLink]:
    link = FakeLink()
    session = EngineSession(
        app=SocketIOServer({router.namespace: router}),
        limits=limits or fast_limits(),
        handshake=HANDSHAKE,
        transport="websocket",
    )
    session.open(ws=link)
    opening = link.take()
    assert len(opening) == 1
    assert isinstance(opening[0], str)
    assert opening[0].startswith("0{")
    return session, link


# ------------------------------------------------------------------------------------ limits


def test_limits_defaults_and_settings():
    limits = limits_module.current()
    assert limits.ping_interval_ms > 0
    with override_settings(REALTIME_PING_INTERVAL_MS=1234, REALTIME_EVENTS_PER_SECOND=3.0):
        changed = limits_module.current()
        assert changed.ping_interval_ms == 1234
        assert changed.events_per_second == 3.0
    assert limits_module.current() == limits


def test_conformance_mode_pins_the_heartbeat():
    with override_settings(REALTIME_CONFORMANCE=True, REALTIME_PING_INTERVAL_MS=9999):
        limits = limits_module.current()
        assert (limits.ping_interval_ms, limits.ping_timeout_ms, limits.max_payload) == (300, 200, 1_000_000)
        assert not limits.rate_limited


def test_token_bucket():
    bucket = TokenBucket(rate=1.0, burst=2)
    assert [bucket.take() for _ in range(4)] == [True, True, False, False]
    assert bucket.strikes == pytest.approx(2.0, abs=0.01)
    bucket.last -= 1.0  # one second later: one token back, strikes decay
    assert bucket.take()
    assert bucket.strikes == pytest.approx(1.0, abs=0.01)


# ------------------------------------------------------------------------------------ sessions


async def test_sid_tells_the_owning_worker():
    session, _ = open_ws_session(EventRouter("/"))
    assert session.sid.startswith(WORKER_ID)
    assert worker_of(session.sid) == WORKER_ID
    assert len(session.sid) == 26
    assert lookup(session.sid) is session
    session.close("test")
    assert lookup(session.sid) is None


async def test_heartbeat_deadline_is_exact_without_a_sweep():
    limits = replace(Limits(), ping_interval_ms=40, ping_timeout_ms=40)
    closed: list[str] = []

    class App:
        def on_open(self, session):
            pass

        def on_message(self, session, data):
            return None

        def on_close(self, session, reason):
            closed.append(reason)

    session = EngineSession(app=App(), limits=limits, handshake=HANDSHAKE, transport="polling")
    session.open()
    packets = await asyncio.wait_for(session.poll(), 1)
    assert [packet.type for packet in packets] == [EioType.PING]
    # The ping went out at 40 ms; no pong: dead at 80 ms. Cancel the timer to prove lookup alone decides.
    assert session._timer is not None
    session._timer.cancel()
    deadline = session._pong_deadline
    assert deadline is not None
    await asyncio.sleep(max(0.0, deadline - session.loop.time() - 0.01))
    assert lookup(session.sid) is session
    await asyncio.sleep(0.02)
    assert lookup(session.sid) is None
    assert closed == ["ping timeout"]


# ------------------------------------------------------------------------------------ Socket.IO layer


async def test_connect_hook_emits_after_connect_reply_and_refusal():
    router = EventRouter("/")

    @router.on_connect
    async def hook(socket, auth):
        if auth == {"token": "bad"}:
            raise ConnectionRefused("Unauthorized")
        await socket.emit("welcome", auth)

    session, link = open_ws_session(router)
    session.frame(link, '40{"token":"bad"}')
    await settle()
    assert link.take() == ['44{"message":"Unauthorized"}']
    session.frame(link, '40{"token":"ok"}')
    await settle()
    reply, welcome = link.take()
    assert isinstance(reply, str)
    assert reply.startswith('40{"sid":"')
    assert welcome == '42["welcome",{"token":"ok"}]'


async def test_handler_results_errors_and_order():
    router = EventRouter("/")
    seen: list[int] = []

    @router.on("work")
    async def work(socket, n):
        await asyncio.sleep((5 - n) * 0.002)
        seen.append(n)
        return n, "done"

    @router.on("missing", error_event="missing:error")
    async def missing(socket, *args):
        raise NotFound("No such thing")

    @router.on("broken", failure_message="Failed to break")
    async def broken(socket, *args):
        raise ValueError("oops")

    @router.on("nothing")
    async def nothing(socket, *args):
        return None

    session, link = open_ws_session(router)
    session.frame(link, "40")
    await settle()
    link.take()
    for n in range(5):
        session.frame(link, f'42{n}["work",{n}]')
    session.frame(link, '4210["missing"]')
    session.frame(link, '4211["broken"]')
    session.frame(link, '4212["nothing"]')
    session.frame(link, '42["nothing"]')  # no ack asked: nothing sent
    await asyncio.sleep(0.1)
    assert seen == [0, 1, 2, 3, 4]
    assert link.take() == [
        '430[0,"done"]',
        '431[1,"done"]',
        '432[2,"done"]',
        '433[3,"done"]',
        '434[4,"done"]',
        '4310[{"error":{"code":"not_found","message":"No such thing"}}]',
        '42["missing:error",{"error":"No such thing"}]',
        '4311[{"error":{"code":"internal","message":"Failed to break"}}]',
        "4312[]",
    ]
    assert session.is_open


async def test_rate_limit_refuses_then_disconnects():
    router = EventRouter("/")

    @router.on("ping-me")
    async def ping_me(socket, *args):
        return "pong"

    @router.on("free", rate_limited=False)
    async def free(socket, *args):
        return "free"

    limits = fast_limits(events_per_second=0.001, event_burst=2, rate_abuse_limit=5)
    session, link = open_ws_session(router, limits)
    session.frame(link, "40")
    await settle()
    link.take()
    for n in range(4):
        session.frame(link, f'42{n}["ping-me"]')
    session.frame(link, '429["free"]')
    await settle()
    refused = '[{"error":{"code":"rate_limited","message":"Too many requests. Please try again later."}}]'
    assert sorted(link.take()) == sorted(
        ['430["pong"]', '431["pong"]', "432" + refused, "433" + refused, '439["free"]']
    )
    for _ in range(6):
        session.frame(link, '42["ping-me"]')
    assert not session.is_open
    assert link.closed == 1000


async def test_server_call_and_binary_ack():
    router = EventRouter("/")
    answers: list[Any] = []

    @router.on("ask")
    async def ask(socket, *args):
        answers.append(await socket.call("question", 1, timeout=1))
        return b"\x01\x02"

    session, link = open_ws_session(router)
    session.frame(link, "40")
    await settle()
    link.take()
    session.frame(link, '427["ask"]')
    await settle()
    assert link.take() == ['420["question",1]']
    session.frame(link, '430["a",{"b":2}]')
    await settle()
    assert answers == [("a", {"b": 2})]
    assert link.take() == ['461-7[{"_placeholder":true,"num":0}]', b"\x01\x02"]


async def test_disconnect_hooks_get_the_reason_and_spawned_tasks_are_cancelled():
    router = EventRouter("/")
    reasons: list[str] = []
    cancelled: list[bool] = []

    @router.on_disconnect
    async def gone(socket, reason):
        reasons.append(reason)

    @router.on("long")
    async def long(socket, *args):
        async def forever():
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

        socket.spawn(forever(), name="forever")

    session, link = open_ws_session(router)
    session.frame(link, "40")
    await settle()
    session.frame(link, '42["long"]')
    await settle()
    session.frame(link, "41")
    await settle()
    assert reasons == ["client namespace disconnect"]
    assert cancelled == [True]
    assert session.is_open  # the Engine.IO connection stays
    session.frame(link, "40")
    await settle()
    session.frame(link, "1")
    await settle()
    assert reasons == ["client namespace disconnect", "transport close"]


async def test_connect_timeout_closes_idle_connections():
    session, link = open_ws_session(EventRouter("/"), fast_limits(connect_timeout_ms=30))
    await asyncio.sleep(0.08)
    assert not session.is_open
    assert session.close_reason == "connect timeout"
    assert link.closed == 1000


# ------------------------------------------------------------------------------------ hub


class FakeSocket:
    def __init__(self, sid: str, auth_session_id: str | None = None) -> None:
        self.sid = sid
        self.auth_session_id = auth_session_id
        self.packets: list[str] = []
        self.disconnected: list[str] = []

    def deliver(self, packet: str) -> None:
        self.packets.append(packet)

    def server_disconnect(self, reason: str) -> None:
        self.disconnected.append(reason)


@pytest.fixture
def memory_layer(monkeypatch):
    layer = InMemoryChannelLayer()
    monkeypatch.setattr(hub_module, "get_channel_layer", lambda: layer)
    monkeypatch.setattr("retrochat.realtime.broadcast.get_channel_layer", lambda: layer)
    monkeypatch.setattr(hub_module, "_hub", None)
    return layer


async def test_hub_fan_out_exact_recipients(memory_layer):
    hub = hub_module.get_hub()
    a1, a2, b, c = FakeSocket("a1", "sa"), FakeSocket("a2", "sb"), FakeSocket("b"), FakeSocket("c")
    await hub.join(a1, "user.alice")
    await hub.join(a2, "user.alice")
    await hub.join(b, "user.bob")
    await hub.join(c, "group.g1")
    await hub.join(a1, "group.g1")
    assert set(memory_layer.groups) == {WORKERS_GROUP, user_group("alice"), user_group("bob"), "rt.group.g1"}

    await emit_to_users("hello", {"x": 1}, user_ids=["alice"])
    await emit_to_users("many", user_ids=["alice", "bob", "alice"], exclude_sid="a2")
    await emit_to_room("group.g1", "room", 2)
    await asyncio.sleep(0.05)
    assert a1.packets == [encode_event("hello", {"x": 1}), '2["many"]', '2["room",2]']
    assert a2.packets == [encode_event("hello", {"x": 1})]
    assert b.packets == ['2["many"]']
    assert c.packets == ['2["room",2]']

    hub.handle({"type": "rt.disconnect", "users": ["alice"], "auth_session_id": "sb", "reason": "sign-out"})
    assert (a1.disconnected, a2.disconnected) == ([], ["sign-out"])

    await hub.leave(b, "user.bob")
    hub.leave_all(a1, ["user.alice", "group.g1"])
    hub.leave_all(a2, ["user.alice"])
    hub.leave_all(c, ["group.g1"])
    await asyncio.sleep(0.05)
    assert set(memory_layer.groups) == {WORKERS_GROUP}
    assert hub.rooms == {}
    await hub.stop()


async def test_hub_rejects_bad_room_names(memory_layer):
    hub = hub_module.get_hub()
    with pytest.raises(ValueError, match="invalid room name"):
        await hub.join(FakeSocket("x"), "bad room!")
    await hub.stop()


# ------------------------------------------------------------------------------------ ASGI consumers


async def test_websocket_consumer_needs_no_channel_of_its_own(memory_layer, monkeypatch):
    from retrochat.asgi import application

    calls: list[str] = []
    original = memory_layer.new_channel

    async def counting_new_channel(*args: Any, **kwargs: Any) -> str:
        name: str = await original(*args, **kwargs)
        calls.append(name)
        return name

    monkeypatch.setattr(memory_layer, "new_channel", counting_new_channel)
    communicators = [WebsocketCommunicator(application, "/socket.io/?EIO=4&transport=websocket") for _ in range(3)]
    for communicator in communicators:
        connected, _ = await communicator.connect()
        assert connected
        opening = await communicator.receive_from()
        assert json.loads(opening[1:])["upgrades"] == []
        await communicator.send_to(text_data="40")
        reply = await communicator.receive_from()
        assert reply == '44{"message":"Unauthorized"}'
    # Three connections, one channel: the hub's.
    assert len(calls) == 1
    for communicator in communicators:
        await communicator.disconnect()
    await hub_module.get_hub().stop()


async def test_refusal_after_a_hook_ran_runs_the_disconnect_hooks(memory_layer):
    router = EventRouter("/")
    calls: list[str] = []

    @router.on_connect
    async def first(socket, auth):
        calls.append("first")
        await socket.join("user.u1")

    @router.on_connect
    async def second(socket, auth):
        raise ConnectionRefused("Nope")

    @router.on_disconnect
    async def undo(socket, reason):
        calls.append(f"undo:{reason}")

    session, link = open_ws_session(router)
    session.frame(link, "40")
    await asyncio.sleep(0.05)
    assert link.take() == ['44{"message":"Nope"}']
    assert calls == ["first", "undo:connect refused"]
    assert hub_module.get_hub().members("user.u1") == set()
    await hub_module.get_hub().stop()


async def test_too_many_sockets_for_one_user(memory_layer):
    router = EventRouter("/")
    later: list[str] = []

    @router.on_connect
    async def auth(socket, payload):
        socket.user_id = "u2"
        await socket.join("user.u2")

    @router.on_connect
    async def presence(socket, payload):
        later.append(socket.sid)

    limits = fast_limits(max_sockets_per_user=2)
    sessions = [open_ws_session(router, limits) for _ in range(3)]
    for session, link in sessions:
        session.frame(link, "40")
        await asyncio.sleep(0.02)
    replies = [link.take() for _, link in sessions]
    assert [len(r) for r in replies] == [1, 1, 1]
    assert replies[2] == ['44{"message":"Too many connections"}']
    assert len(later) == 2  # the refused socket never reached the later hook
    sessions[0][0].close("test")
    await asyncio.sleep(0.02)
    session, link = open_ws_session(router, limits)
    session.frame(link, "40")
    await asyncio.sleep(0.02)
    (reply,) = link.take()
    assert isinstance(reply, str)
    assert reply.startswith("40{")
    await hub_module.get_hub().stop()


async def test_hub_refreshes_its_layer_groups(memory_layer, monkeypatch):
    monkeypatch.setattr(limits_module, "current", lambda: fast_limits(group_refresh_s=0.02))
    hub = hub_module.get_hub()
    await hub.join(FakeSocket("r1"), "user.refresh")
    group = user_group("refresh")
    # Simulate the layer expiring the membership: the hub adds it back by itself.
    await memory_layer.group_discard(group, hub.channel)
    assert group not in memory_layer.groups
    await asyncio.sleep(0.1)
    assert hub.channel in memory_layer.groups[group]
    assert hub.channel in memory_layer.groups[WORKERS_GROUP]
    await hub.stop()


async def test_engine_stats(memory_layer):
    from retrochat.realtime.server import engine_stats

    router = EventRouter("/")

    @router.on_connect
    async def auth(socket, payload):
        socket.user_id = "stats-user"
        await socket.join("user.stats-user")

    session, link = open_ws_session(router)
    session.frame(link, "40")
    await settle()
    stats = engine_stats()
    assert stats["worker"] == WORKER_ID
    assert stats["sockets_per_user"] == {"stats-user": 1}
    assert stats["websocket_sessions"] >= 1
    assert stats["sockets"] >= 1
    session.close("test")
    await settle()
    assert engine_stats()["sockets_per_user"] == {}
    await hub_module.get_hub().stop()
