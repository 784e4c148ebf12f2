"""Socket handlers of the groups app, called the way the dispatcher calls them."""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from groups import handlers
from groups.models import GroupMessage
from retrochat.errors import BadRequest, Forbidden
from retrochat.realtime.router import events
from retrochat.realtime.types import Handshake
from tests.groups.conftest import FakeLayer

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class FakeSocket:
    user_id: str | None
    sid: str = "sid-1"
    namespace: str = "/"
    auth_session_id: str | None = "session-1"
    handshake: Handshake = field(default_factory=lambda: Handshake(headers={}, cookies={}, query={}))
    state: dict[str, Any] = field(default_factory=dict)
    emitted: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    @property
    def connected(self) -> bool:
        return True

    async def emit(self, event: str, *args: Any) -> None:
        self.emitted.append((event, args))

    async def call(self, event: str, *args: Any, timeout: float = 10.0) -> Any:
        raise NotImplementedError

    async def join(self, room: str) -> None:
        raise NotImplementedError

    async def leave(self, room: str) -> None:
        raise NotImplementedError

    async def disconnect(self, reason: str = "server namespace disconnect") -> None:
        raise NotImplementedError

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> Any:
        raise NotImplementedError


def test_handlers_are_registered_with_the_contract_error_event() -> None:
    send = events.lookup("group:message:send")
    typing = events.lookup("group:typing")
    assert send is not None
    assert send.handler is handlers.group_message_send
    assert send.error_event == "group:message:error"
    assert send.failure_message == "Failed to send message"
    assert typing is not None
    assert typing.handler is handlers.group_typing
    assert typing.error_event is None  # typing errors are swallowed (ack only)


async def test_send_returns_the_stored_message_as_ack(crew, people, layer: FakeLayer) -> None:
    alice, bob, carol, _ = people
    socket = FakeSocket(bob.id)
    ack = await handlers.group_message_send(
        socket, {"groupId": str(crew.id), "content": " hey ", "clientMessageId": "tab-1-0001", "extra": 1}
    )
    stored = await sync_to_async(GroupMessage.objects.get)()
    assert ack["id"] == str(stored.id)
    assert ack["content"] == "hey"
    assert ack["clientMessageId"] == "tab-1-0001"
    events_sent = [(p.event, sorted(p.users)) for p in layer.sent]
    assert events_sent == [
        ("group:message:receive", sorted([alice.id, carol.id])),
        ("group:message:sent", [bob.id]),
    ]
    # Retried after a reconnect: same message, nothing delivered twice.
    again = await handlers.group_message_send(
        socket, {"groupId": str(crew.id), "content": "hey", "clientMessageId": "tab-1-0001"}
    )
    assert again == ack
    assert len(layer.sent) == 2
    assert await sync_to_async(GroupMessage.objects.count)() == 1


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        (None, BadRequest, "Payload must be an object"),
        ("hi", BadRequest, "Payload must be an object"),
        ({"content": "hi"}, BadRequest, "Invalid groupId: Field required"),
        ({"groupId": "g", "content": 5}, BadRequest, "Invalid content: Input should be a valid string"),
        ({"groupId": "crew", "content": "   "}, BadRequest, "Message content cannot be empty"),
        ({"groupId": "crew", "content": "x" * 2001}, BadRequest, "shorter than or equal to 2000 characters"),
        ({"groupId": "crew", "content": "hi", "clientMessageId": "x" * 65}, BadRequest, "clientMessageId"),
        (
            {"groupId": "00000000-0000-4000-8000-000000000000", "content": "hi"},
            Forbidden,
            "You are not a member of this group",
        ),
    ],
)
async def test_send_refusals_store_nothing(crew, people, layer: FakeLayer, payload, error, message) -> None:
    if isinstance(payload, dict) and payload.get("groupId") == "crew":
        payload = {**payload, "groupId": str(crew.id)}
    with pytest.raises(error) as err:
        await handlers.group_message_send(FakeSocket(people[1].id), payload)
    assert message in err.value.message
    assert await sync_to_async(GroupMessage.objects.count)() == 0
    assert layer.sent == []


async def test_send_by_a_non_member_is_refused(crew, people, layer: FakeLayer) -> None:
    with pytest.raises(Forbidden) as err:
        await handlers.group_message_send(FakeSocket(people[3].id), {"groupId": str(crew.id), "content": "hi"})
    assert err.value.message == "You are not a member of this group"
    assert err.value.as_payload() == {"code": "forbidden", "message": "You are not a member of this group"}
    assert await sync_to_async(GroupMessage.objects.count)() == 0
    assert layer.sent == []


async def test_typing_is_forwarded_then_throttled(crew, people, layer: FakeLayer, monkeypatch) -> None:
    alice, bob, carol, _ = people
    socket = FakeSocket(bob.id)
    clock = [1000.0]
    monkeypatch.setattr(handlers, "_clock", lambda: clock[0])
    assert await handlers.group_typing(socket, {"groupId": str(crew.id)}) == {"ok": True, "throttled": False}
    (published,) = layer.sent
    assert published.event == "group:typing"
    assert published.payload == {"groupId": str(crew.id), "userId": bob.id, "username": "Bob"}
    assert sorted(published.users) == sorted([alice.id, carol.id])
    clock[0] += 0.5
    assert await handlers.group_typing(socket, {"groupId": str(crew.id)}) == {"ok": True, "throttled": True}
    assert len(layer.sent) == 1
    clock[0] += 0.6
    assert await handlers.group_typing(socket, {"groupId": str(crew.id)}) == {"ok": True, "throttled": False}
    assert len(layer.sent) == 2


async def test_typing_by_a_non_member_is_refused(crew, people, layer: FakeLayer) -> None:
    with pytest.raises(Forbidden, match=r"^You are not a member of this group$"):
        await handlers.group_typing(FakeSocket(people[3].id), {"groupId": str(crew.id)})
    assert layer.sent == []


async def test_a_socket_without_user_is_refused(crew, layer: FakeLayer) -> None:
    with pytest.raises(Forbidden):
        await handlers.group_message_send(FakeSocket(None), {"groupId": str(crew.id), "content": "hi"})
    assert layer.sent == []
