"""Draining a worker, in-process (the engine on fake transports; the real SIGTERM path is in
tests/e2e/test_ops_shutdown.py): in-flight events finish and are acked once, new ones are refused
with ``unavailable``, every connection is closed without a Socket.IO DISCONNECT, the disconnect
hooks run, the deadline holds, new sessions and readiness are refused meanwhile."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from retrochat.realtime import drain as drain_module
from retrochat.realtime import hub as hub_module
from retrochat.realtime import session as session_module
from retrochat.realtime.eio import EioPacket, EioType
from retrochat.realtime.router import EventRouter
from retrochat.realtime.server import SocketIOServer
from retrochat.realtime.session import EngineSession, HandshakeError, sessions
from retrochat.realtime.transports.common import check_query
from tests.realtime.test_engine_unit import HANDSHAKE, fast_limits, open_ws_session, settle
from tests.realtime.test_engine_unit import memory_layer as memory_layer

UNAVAILABLE = {"code": "unavailable", "message": "Server is restarting. Please try again."}


@pytest.fixture(autouse=True)
def _not_draining(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A drain counts every session of the process: start without those other tests left behind.
    monkeypatch.setattr(session_module, "_registry", {})
    drain_module.reset()
    yield
    drain_module.reset()


def packets(frames: list[Any]) -> list[tuple[str, Any]]:
    """``'431["x"]'`` → ``("431", ["x"])``: the packet head and its decoded JSON."""
    out = []
    for frame in frames:
        assert isinstance(frame, str)
        start = min((i for i in (frame.find("["), frame.find("{")) if i >= 0), default=len(frame))
        out.append((frame[:start], json.loads(frame[start:]) if start < len(frame) else None))
    return out


def router_with(handlers: dict[str, Any], reasons: list[str]) -> EventRouter:
    router = EventRouter("/")

    @router.on_connect
    async def auth(socket: Any, payload: Any) -> None:
        socket.user_id = "drain-user"
        await socket.join("user.drain-user")

    @router.on_disconnect
    async def bye(socket: Any, reason: str) -> None:
        reasons.append(reason)

    for name, handler in handlers.items():
        router.on(name, error_event=f"{name}:error")(handler)
    return router


async def test_in_flight_events_finish_new_ones_are_refused_then_the_client_is_told_to_reconnect(memory_layer):
    gate = asyncio.Event()
    reasons: list[str] = []

    async def slow(socket: Any, *args: Any) -> str:
        await gate.wait()
        return "done"

    async def fast(socket: Any, *args: Any) -> str:
        return "fast"

    session, link = open_ws_session(router_with({"slow": slow, "fast": fast}, reasons))
    session.frame(link, "40")
    await settle()
    assert str(link.take()[0]).startswith("40{")
    session.frame(link, '421["slow"]')
    await settle()

    drained = asyncio.create_task(drain_module.drain(timeout=5))
    await settle()
    assert drain_module.draining()
    session.frame(link, '422["fast"]')
    await settle()
    # Refused at once (ack error + the error event), never run.
    assert packets(link.take()) == [
        ("432", [{"error": UNAVAILABLE}]),
        ("42", ["fast:error", {"error": UNAVAILABLE["message"]}]),
    ]
    assert link.closed is None  # the slow handler is still running: nothing is closed yet

    gate.set()
    report = await asyncio.wait_for(drained, 5)
    # The in-flight call got its ack, exactly once, then the WebSocket closed: no "41" DISCONNECT,
    # so socket.io-client treats it as a transport close and reconnects.
    assert packets(link.take()) == [("431", ["done"])]
    assert link.closed == 1000
    assert reasons == [drain_module.REASON]
    assert report.sockets == 1
    assert not report.timed_out
    assert session not in sessions()
    assert hub_module.get_hub().members("user.drain-user") == set()
    await hub_module.get_hub().stop()


async def test_polling_client_fetches_what_is_queued_and_the_close(memory_layer):
    reasons: list[str] = []

    async def echo(socket: Any, *args: Any) -> Any:
        return list(args)

    router = router_with({"echo": echo}, reasons)
    session = EngineSession(
        app=SocketIOServer({"/": router}), limits=fast_limits(), handshake=HANDSHAKE, transport="polling"
    )
    session.open()
    session.receive(EioPacket(EioType.MESSAGE, "0"))
    await settle()
    (connected,) = await session.poll()
    assert str(connected.data).startswith("0{")
    session.receive(EioPacket(EioType.MESSAGE, '27["echo",1]'))  # answered after the drain starts
    drained = asyncio.create_task(drain_module.drain(timeout=5))
    await settle()
    # No GET was pending: the session waits for one more, which gets the ack and then CLOSE.
    assert not drained.done()
    last = await session.poll()
    assert [p.type for p in last] == [EioType.MESSAGE, EioType.CLOSE]
    assert last[0].data == "37[[1]]"
    report = await asyncio.wait_for(drained, 5)
    assert not report.timed_out
    assert reasons == [drain_module.REASON]
    assert session not in sessions()
    await hub_module.get_hub().stop()


async def test_deadline_bounds_the_drain_and_reports_what_was_left(memory_layer):
    reasons: list[str] = []

    async def stuck(socket: Any, *args: Any) -> None:
        await asyncio.sleep(3600)

    session, link = open_ws_session(router_with({"stuck": stuck}, reasons))
    session.frame(link, "40")
    await settle()
    session.frame(link, '42["stuck"]')
    await settle()
    started = asyncio.get_running_loop().time()
    report = await drain_module.drain(timeout=0.3)
    assert asyncio.get_running_loop().time() - started < 1.0
    assert report.timed_out
    assert [s.user_id for s in report.leftover] == ["drain-user"]
    assert link.closed == 1000
    assert session not in sessions()
    for task in report.leftover[0].pending_tasks():
        task.cancel()
    await hub_module.get_hub().stop()


async def test_connect_while_draining_is_ignored_and_the_connection_closed(memory_layer):
    gate = asyncio.Event()
    reasons: list[str] = []

    async def slow(socket: Any, *args: Any) -> None:
        await gate.wait()

    router = router_with({"slow": slow}, reasons)
    busy, busy_link = open_ws_session(router)
    busy.frame(busy_link, "40")
    await settle()
    busy.frame(busy_link, '42["slow"]')  # keeps the drain waiting
    late, late_link = open_ws_session(router)
    drained = asyncio.create_task(drain_module.drain(timeout=5))
    await settle()
    late.frame(late_link, "40")
    await settle()
    assert late_link.take() == []  # no CONNECT reply, no CONNECT_ERROR: the client just reconnects
    gate.set()
    await asyncio.wait_for(drained, 5)
    assert late_link.take() == []
    assert late_link.closed == 1000
    assert busy_link.closed == 1000
    assert reasons == [drain_module.REASON]  # only the socket that had connected
    await hub_module.get_hub().stop()


async def test_new_sessions_are_refused_while_draining_existing_ones_are_not(memory_layer):
    assert check_query({"transport": "websocket", "EIO": "4"}) == "websocket"
    await drain_module.drain(timeout=1)
    with pytest.raises(HandshakeError) as refused:
        check_query({"transport": "polling", "EIO": "4"})
    assert refused.value.status == 503
    assert refused.value.body() == {"code": 6, "message": "Server is shutting down"}
    # A request of a session that exists (its last GET) still gets through to the session lookup.
    assert check_query({"transport": "polling", "EIO": "4", "sid": "someone"}) == "polling"


def test_readiness_fails_while_draining(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(drain_module, "_draining", True)
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "reason": "shutting down", "checks": {}}
    assert Client().get("/healthz").status_code == 200  # still alive


async def test_a_pending_pipelined_send_is_answered_before_the_connection_closes(memory_layer):
    stored: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    reasons: list[str] = []
    router = router_with({}, reasons)
    router.on("send", pipelined=True)(lambda socket, *args: stored)
    session, link = open_ws_session(router)
    session.frame(link, "40")
    await settle()
    link.take()
    session.frame(link, '421["send"]')
    await settle()

    drained = asyncio.create_task(drain_module.drain(timeout=5))
    await settle()
    assert link.closed is None  # the send is pending: nothing is closed yet

    stored.set_result("stored")
    report = await asyncio.wait_for(drained, 5)
    assert packets(link.take()) == [("431", ["stored"])]
    assert link.closed == 1000
    assert not report.timed_out
    await hub_module.get_hub().stop()
