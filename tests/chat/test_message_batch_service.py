"""``message_send_many`` and the ``message:send`` handler on top of it: one transaction per round,
the same refusals as ``message_send``, events only after the COMMIT, in request order."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from chat.handlers.messages import on_message_send
from chat.models import DirectMessage
from chat.models.accounts import AI_FRIEND_ID
from chat.services.message_batch import SendRequest, direct_message_sender, message_send_many
from chat.services.messages import SendResult
from retrochat.errors import BadRequest, Conflict, DomainError, Forbidden
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
def people() -> list[Any]:
    users = [make_user(f"batch{i}") for i in range(4)]
    befriend(users[0], users[1])
    befriend(users[2], users[3])
    return users


def test_a_mixed_round_stores_only_the_accepted_messages(
    people: list[Any], layer: RecordingLayer, style_refresh: list[str]
) -> None:
    a, b, c, d = people
    outcomes = message_send_many(
        [
            SendRequest(a.id, b.id, " one "),
            SendRequest(a.id, c.id, "not a friend"),
            SendRequest(c.id, d.id, "   "),
            SendRequest(c.id, AI_FRIEND_ID, "hi AI"),
            SendRequest(d.id, c.id, "two"),
            SendRequest(b.id, a.id, 42),
            SendRequest(b.id, a.id, "half an emoji \ud83d"),  # JSON can carry it; no database can store it
        ]
    )
    assert isinstance(outcomes[0], SendResult)
    assert outcomes[0].created
    assert isinstance(outcomes[1], Forbidden)
    assert outcomes[1].message == "You can only send messages to your friends"
    assert isinstance(outcomes[2], BadRequest)
    assert outcomes[2].message == "Message content cannot be empty"
    assert isinstance(outcomes[3], BadRequest)
    assert outcomes[3].message == "Cannot send direct messages to an AI user"
    assert isinstance(outcomes[4], SendResult)
    assert isinstance(outcomes[5], BadRequest)
    assert outcomes[5].message == "content must be a string"
    assert isinstance(outcomes[6], BadRequest)
    assert outcomes[6].message == "content must be valid Unicode text (no unpaired surrogates)"
    rows = {(m.from_user_id, m.to_user_id, m.content) for m in DirectMessage.objects.all()}
    assert rows == {(a.id, b.id, "one"), (d.id, c.id, "two")}
    assert layer.events() == [
        ("message:receive", [b.id]),
        ("message:sent", [a.id]),
        ("message:receive", [c.id]),
        ("message:sent", [d.id]),
    ]
    assert layer.sent[0].payload["content"] == "one"
    assert style_refresh == [a.id, d.id]


def test_nothing_leaves_before_the_commit_and_nothing_after_a_rollback(
    people: list[Any], layer: RecordingLayer
) -> None:
    a, b, *_ = people

    class Abort(Exception):
        pass

    seen_inside: list[int] = []

    def send_then_abort() -> None:
        with transaction.atomic():
            message_send_many([SendRequest(a.id, b.id, "rolled back")])
            seen_inside.append(len(layer.sent))
            raise Abort

    with pytest.raises(Abort):
        send_then_abort()
    assert seen_inside == [0]
    assert layer.sent == []
    assert DirectMessage.objects.count() == 0


def test_client_message_ids_keep_their_idempotent_semantics(people: list[Any], layer: RecordingLayer) -> None:
    a, b, c, _ = people
    first, again, other = message_send_many(
        [
            SendRequest(a.id, b.id, "hi", "cm-1"),
            SendRequest(a.id, b.id, "hi", "cm-1"),
            SendRequest(a.id, c.id, "x", "cm-1"),
        ]
    )
    assert isinstance(first, SendResult)
    assert first.created
    assert isinstance(again, SendResult)
    assert not again.created
    assert again.message.id == first.message.id
    assert isinstance(other, Conflict)
    assert DirectMessage.objects.count() == 1
    assert layer.events() == [("message:receive", [b.id]), ("message:sent", [a.id])]


async def test_concurrent_handlers_share_rounds_and_each_ack_is_its_stored_row(
    people: list[Any], layer: RecordingLayer
) -> None:
    a, b, c, d = people
    senders = [(a, b), (b, a), (c, d), (d, c)] * 5
    rounds_before = direct_message_sender.stats()
    acks = await asyncio.gather(
        *(
            ack_of(on_message_send(FakeSocket(user_id=s.id), {"toUserId": r.id, "content": f"m{i}"}))
            for i, (s, r) in enumerate(senders)
        )
    )
    rows = await database_sync_to_async(lambda: {str(m.id): m for m in DirectMessage.objects.all()})()
    assert len(rows) == len(senders) == len({ack["id"] for ack in acks})
    for i, ((sender, recipient), ack) in enumerate(zip(senders, acks, strict=True)):
        row = rows[ack["id"]]
        assert (row.from_user_id, row.to_user_id, row.content) == (sender.id, recipient.id, f"m{i}")
        assert ack["content"] == f"m{i}"
    receives = layer.named("message:receive")
    assert sorted(p.payload["id"] for p in receives) == sorted(rows)
    rounds_after = direct_message_sender.stats()
    assert rounds_after[1] - rounds_before[1] == len(senders)
    assert rounds_after[0] - rounds_before[0] < len(senders)  # coalesced: fewer rounds than requests


async def test_a_refused_send_raises_for_the_handler_like_before(people: list[Any], layer: RecordingLayer) -> None:
    a, _, c, _ = people
    with pytest.raises(DomainError) as refused:
        await on_message_send(FakeSocket(user_id=a.id), {"toUserId": c.id, "content": "hello"})
    assert refused.value.status == 403
    assert layer.sent == []


@pytest.fixture
def friend_loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """Every read of friend sets by the batch (user ids per read), with an empty cache to start."""
    from chat.services import message_batch
    from chat.services.friend_cache import friend_cache

    friend_cache.clear()
    loads: list[list[str]] = []
    real = message_batch._friend_ids_of

    def counted(user_ids: list[str]) -> dict[str, list[str]]:
        loads.append(sorted(user_ids))
        return real(user_ids)

    monkeypatch.setattr(message_batch, "_friend_ids_of", counted)
    yield loads
    friend_cache.clear()


def test_rounds_of_friends_read_their_friend_sets_once(
    people: list[Any], layer: RecordingLayer, friend_loads: list[list[str]]
) -> None:
    a, b, c, d = people
    for _ in range(3):
        outcomes = message_send_many([SendRequest(a.id, b.id, "hi"), SendRequest(c.id, d.id, "yo")])
        assert all(isinstance(o, SendResult) for o in outcomes)
    assert friend_loads == [sorted([a.id, c.id])]  # later rounds: from this worker's cache


def test_a_friendship_the_cache_does_not_know_yet_is_read_again(
    people: list[Any], layer: RecordingLayer, friend_loads: list[list[str]]
) -> None:
    a, b, c, _ = people
    assert isinstance(message_send_many([SendRequest(a.id, b.id, "hi")])[0], SendResult)
    befriend(a, c)  # made elsewhere: nothing told this worker's cache
    outcomes = message_send_many([SendRequest(a.id, c.id, "new friend"), SendRequest(a.id, b.id, "old friend")])
    assert all(isinstance(o, SendResult) for o in outcomes)
    assert friend_loads == [[a.id], [a.id]]  # the "no" was checked with the database
    assert message_send_many([SendRequest(c.id, a.id, "back")])[0].created  # type: ignore[union-attr]
