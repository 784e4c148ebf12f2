"""The ``message:send`` socket handler: parse → message_send → ack value (the stored Message)."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from chat.handlers.messages import on_message_send
from chat.models import DirectMessage
from retrochat.errors import DomainError
from retrochat.realtime.router import events
from tests.chat.dm_factories import (  # noqa: F401
    FakeSocket,
    RecordingLayer,
    ack_of,
    befriend,
    make_user,
    style_refresh_fixture,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pair() -> tuple[Any, Any]:
    alice, bob = make_user("alice"), make_user("bob")
    befriend(alice, bob)
    return alice, bob


def test_registered_with_the_contract_error_event() -> None:
    registration = events.lookup("message:send")
    assert registration is not None
    assert registration.handler is on_message_send
    assert registration.error_event == "message:error"


async def test_ack_is_the_stored_message_and_both_users_are_told(pair: Any, layer: RecordingLayer) -> None:
    alice, bob = pair
    socket = FakeSocket(user_id=alice.id)
    ack = await ack_of(on_message_send(socket, {"toUserId": bob.id, "content": " hey ", "clientMessageId": "c1"}))
    row = await database_sync_to_async(DirectMessage.objects.get)()
    assert ack["id"] == str(row.id)
    assert (ack["content"], ack["clientMessageId"], ack["fromUserId"], ack["toUserId"]) == (
        "hey",
        "c1",
        alice.id,
        bob.id,
    )
    assert layer.events() == [("message:receive", [bob.id]), ("message:sent", [alice.id])]
    assert layer.sent[0].payload == ack
    assert socket.emitted == []  # the sending socket hears back through the user group like every tab

    retry = await ack_of(on_message_send(socket, {"toUserId": bob.id, "content": " hey ", "clientMessageId": "c1"}))
    assert retry == ack
    assert len(layer.sent) == 2
    assert await database_sync_to_async(DirectMessage.objects.count)() == 1


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (None, "Payload must be a JSON object"),
        ("hello", "Payload must be a JSON object"),
        ({"content": "hi"}, "toUserId should not be empty"),
        ({"toUserId": "x", "content": 3}, "content must be a string"),
        ({"toUserId": "x"}, "content should not be empty"),
        ({"toUserId": "x", "content": "hi", "clientMessageId": ""}, "clientMessageId should not be empty"),
        ({"toUserId": "x", "content": "hi", "clientMessageId": "k" * 65}, None),
    ],
)
async def test_malformed_payloads_are_refused(pair: Any, layer: RecordingLayer, payload: Any, message: Any) -> None:
    alice, _ = pair
    with pytest.raises(DomainError) as exc:
        await on_message_send(FakeSocket(user_id=alice.id), payload)
    assert exc.value.status == 400
    if message is not None:
        assert exc.value.message == message
    assert await database_sync_to_async(DirectMessage.objects.count)() == 0
    assert layer.sent == []


async def test_refusal_from_the_service_stores_and_delivers_nothing(layer: RecordingLayer) -> None:
    alice, stranger = (
        await database_sync_to_async(make_user)("alice"),
        await database_sync_to_async(make_user)("stranger"),
    )
    with pytest.raises(DomainError) as exc:
        await on_message_send(FakeSocket(user_id=alice.id), {"toUserId": stranger.id, "content": "hi"})
    assert (exc.value.status, exc.value.message) == (403, "You can only send messages to your friends")
    assert await database_sync_to_async(DirectMessage.objects.count)() == 0
    assert layer.sent == []


async def test_socket_without_user_is_refused(layer: RecordingLayer) -> None:
    with pytest.raises(DomainError) as exc:
        await on_message_send(FakeSocket(user_id=None), {"toUserId": "x", "content": "hi"})
    assert exc.value.code == "unauthorized"
