"""Pipelined events (``events.on(..., pipelined=True)``), in-process on a fake WebSocket: a socket
queues its sends in arrival order without waiting for earlier answers, answers each when its
result is ready, never lets an ordinary event overtake them, and finishes them before its end."""

from __future__ import annotations

import asyncio
from typing import Any

from retrochat.errors import BadRequest
from retrochat.realtime import socket as socket_module
from retrochat.realtime.router import EventRouter
from retrochat.realtime.sio import EncodedJson
from tests.realtime.test_engine_unit import open_ws_session, settle


class Work:
    """A pipelined handler whose results the test hands out: ``queued`` is the call order."""

    def __init__(self) -> None:
        self.queued: list[Any] = []
        self.results: dict[Any, asyncio.Future[Any]] = {}

    def __call__(self, socket: Any, n: Any = None, *_: Any) -> asyncio.Future[Any]:
        if n == "bad":
            raise BadRequest("Bad input")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.queued.append(n)
        self.results[n] = future
        return future

    def finish(self, n: Any, value: Any = None) -> None:
        self.results[n].set_result(value if value is not None else f"stored {n}")


async def connected(router: EventRouter) -> tuple[Any, Any]:
    """A session on a fake WebSocket whose socket has connected (its CONNECT reply taken)."""
    session, link = open_ws_session(router)
    session.frame(link, "40")
    await settle()
    link.take()
    return session, link


def sending(work: Work, **options: Any) -> EventRouter:
    router = EventRouter("/")
    router.on("send", pipelined=True, **options)(work)
    return router


async def test_a_socket_queues_its_sends_in_order_without_waiting_for_answers() -> None:
    work = Work()
    router = sending(work)
    session, link = await connected(router)

    for n in range(3):
        session.frame(link, f'42{n}["send",{n}]')
    await settle()
    assert work.queued == [0, 1, 2]  # all three queued while none is answered
    assert link.take() == []

    work.finish(1)
    work.finish(0)
    await settle()
    assert link.take() == ['431["stored 1"]', '430["stored 0"]']  # each acked when its result is ready
    work.finish(2)
    await settle()
    assert link.take() == ['432["stored 2"]']


async def test_an_ordinary_event_waits_until_earlier_pipelined_ones_are_answered() -> None:
    work = Work()
    router = sending(work)
    ran: list[str] = []

    @router.on("read")
    async def read(socket: Any, *args: Any) -> str:
        ran.append("read")
        return "read"

    session, link = await connected(router)
    session.frame(link, '420["send",0]')
    session.frame(link, '421["read"]')
    session.frame(link, '422["send",2]')
    await settle()
    assert ran == []  # "read" waits for send 0 ...
    assert work.queued == [0]  # ... and send 2 waits behind "read"

    work.finish(0)
    await settle()
    assert ran == ["read"]
    assert work.queued == [0, 2]
    assert link.take() == ['430["stored 0"]', '431["read"]']


async def test_a_pipelined_refusal_is_answered_like_any_other() -> None:
    work = Work()
    router = sending(work, error_event="send:error")
    session, link = await connected(router)

    session.frame(link, '427["send","bad"]')
    await settle()
    assert link.take() == [
        '437[{"error":{"code":"bad_request","message":"Bad input"}}]',
        '42["send:error",{"error":"Bad input"}]',
    ]
    session.frame(link, '428["send",8]')
    await settle()
    assert work.queued == [8]  # the socket goes on


async def test_a_failing_result_is_an_internal_error_ack() -> None:
    work = Work()
    router = sending(work, failure_message="Failed to send message")
    session, link = await connected(router)

    session.frame(link, '421["send",1]')
    await settle()
    work.results[1].set_exception(RuntimeError("database down"))
    await settle()
    assert link.take() == ['431[{"error":{"code":"internal","message":"Failed to send message"}}]']


async def test_the_end_of_a_socket_waits_for_its_pending_answers() -> None:
    work = Work()
    router = sending(work)
    events: list[str] = []

    @router.on_disconnect
    async def gone(socket: Any, reason: str) -> None:
        events.append(f"disconnect hooks: {reason}")

    session, link = await connected(router)
    session.frame(link, '421["send",1]')
    await settle()
    session.frame(link, "41")
    await settle()
    assert events == []  # the send is still pending

    work.finish(1)
    await settle()
    assert events == ["disconnect hooks: client namespace disconnect"]


async def test_at_most_max_pipelined_answers_are_pending(monkeypatch: Any) -> None:
    monkeypatch.setattr(socket_module, "MAX_PIPELINED", 2)
    work = Work()
    router = sending(work)
    session, link = await connected(router)

    for n in range(4):
        session.frame(link, f'42{n}["send",{n}]')
    await settle()
    assert work.queued == [0, 1]  # the third waits for a free slot
    work.finish(0)
    await settle()
    assert work.queued == [0, 1, 2]
    work.finish(1)
    work.finish(2)
    await settle()
    assert work.queued == [0, 1, 2, 3]


async def test_an_ack_encoded_once_is_written_as_it_is() -> None:
    router = EventRouter("/")
    payload = {"id": "m1", "content": "héllo 👋", "n": 1.0}
    router.on("send", pipelined=True)(lambda socket, *args: completed(EncodedJson.of(payload)))
    router.on("nested", pipelined=True)(lambda socket, *args: completed({"inner": EncodedJson.of(payload)}))
    session, link = await connected(router)

    session.frame(link, '425["send"]')
    session.frame(link, '426["nested"]')
    await settle()
    assert link.take() == [
        '435[{"id":"m1","content":"héllo 👋","n":1}]',  # as the codec writes it (1.0 → 1, like JSON.stringify)
        '436[{"error":{"code":"internal","message":"Invalid response"}}]',  # never quoted as a string
    ]


def completed(value: Any) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future
