"""``group_message_send_many`` and the ``group:message:send`` handler on top of it: one transaction per
round, the same refusals as ``group_message_send``, events only after the COMMIT, in request order,
exact recipients, and ``clientMessageId`` retries exactly as before."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from chat.models import User
from groups.handlers import group_message_send as on_group_message_send
from groups.message_batch import GroupSendRequest, group_message_send_many, group_message_sender
from groups.models import GroupMessage
from retrochat.errors import BadRequest, Conflict, DomainError, Forbidden
from tests.chat.dm_factories import FakeSocket
from tests.groups.conftest import FakeLayer, make_person, new_group

pytestmark = pytest.mark.django_db(transaction=True)

NOT_A_MEMBER = "You are not a member of this group"


def events(layer: FakeLayer) -> list[tuple[str, list[str]]]:
    return [(p.event, sorted(p.users)) for p in layer.sent]


def test_a_mixed_round_stores_only_the_accepted_messages(
    people: list[User], crew: Any, layer: FakeLayer, style_checks: list[str]
) -> None:
    alice, bob, carol, dave = people
    layer.clear()
    outcomes = group_message_send_many(
        [
            GroupSendRequest(alice.id, str(crew.id), " hello crew "),
            GroupSendRequest(dave.id, str(crew.id), "let me in"),
            GroupSendRequest(alice.id, "not-a-uuid", "lost"),
            GroupSendRequest(bob.id, str(crew.id), "   "),
            GroupSendRequest(bob.id, str(crew.id), "hi @alice"),
        ]
    )
    first, refused, bad_group, empty, second = outcomes
    assert isinstance(refused, Forbidden)
    assert refused.message == NOT_A_MEMBER
    assert isinstance(bad_group, Forbidden)
    assert bad_group.message == NOT_A_MEMBER
    assert isinstance(empty, BadRequest)
    assert empty.message == "Message content cannot be empty"
    assert not isinstance(first, DomainError)
    assert not isinstance(second, DomainError)
    rows = {str(m.id): m for m in GroupMessage.objects.all()}
    assert {(m.from_user_id, m.content) for m in rows.values()} == {(alice.id, "hello crew"), (bob.id, "hi @alice")}
    assert rows[first["id"]].content == "hello crew"
    assert rows[second["id"]].mentioned_user_ids == [alice.id]
    assert second["mentionedUserIds"] == [alice.id]
    assert first["fromUser"] == {
        "id": alice.id,
        "username": "alice",
        "displayName": "Alice",
        "profilePictureUrl": "https://cdn.example.com/alice.png",
    }
    assert "clientMessageId" not in first
    # Every other human member (never the group AI, never the sender), in request order.
    assert events(layer) == [
        ("group:message:receive", sorted([bob.id, carol.id])),
        ("group:message:sent", [alice.id]),
        ("group:message:receive", sorted([alice.id, carol.id])),
        ("group:message:sent", [bob.id]),
    ]
    assert [p.payload for p in layer.sent] == [first, first, second, second]
    assert style_checks == [str(crew.id)]  # once per group and round


def test_one_round_for_two_groups_reaches_each_groups_members(people: list[User], layer: FakeLayer) -> None:
    alice, bob, carol, dave = people
    one = new_group(alice, [bob, carol], name="One")
    two = new_group(dave, [carol, bob], name="Two")
    layer.clear()  # the creations' events
    a, b = group_message_send_many(
        [GroupSendRequest(bob.id, str(one.id), "to one"), GroupSendRequest(bob.id, str(two.id), "to two")]
    )
    assert not isinstance(a, DomainError)
    assert a["groupId"] == str(one.id)
    assert not isinstance(b, DomainError)
    assert b["groupId"] == str(two.id)
    assert events(layer) == [
        ("group:message:receive", sorted([alice.id, carol.id])),
        ("group:message:sent", [bob.id]),
        ("group:message:receive", sorted([dave.id, carol.id])),
        ("group:message:sent", [bob.id]),
    ]


def test_nothing_leaves_before_the_commit_and_nothing_after_a_rollback(
    people: list[User], crew: Any, layer: FakeLayer
) -> None:
    alice = people[0]
    layer.clear()

    class Abort(Exception):
        pass

    seen_inside: list[int] = []

    def send_then_abort() -> None:
        with transaction.atomic():
            group_message_send_many([GroupSendRequest(alice.id, str(crew.id), "rolled back")])
            seen_inside.append(len(layer.sent))
            raise Abort

    with pytest.raises(Abort):
        send_then_abort()
    assert seen_inside == [0]
    assert layer.sent == []
    assert GroupMessage.objects.count() == 0


def test_client_message_ids_keep_their_idempotent_semantics(people: list[User], crew: Any, layer: FakeLayer) -> None:
    alice, bob, carol, dave = people
    other = new_group(dave, [alice, bob], name="Other")
    layer.clear()
    first, again, elsewhere, plain = group_message_send_many(
        [
            GroupSendRequest(alice.id, str(crew.id), "hi", "cm-1"),
            GroupSendRequest(alice.id, str(crew.id), "hi", "cm-1"),
            GroupSendRequest(alice.id, str(other.id), "x", "cm-1"),
            GroupSendRequest(bob.id, str(crew.id), "plain"),
        ]
    )
    assert not isinstance(first, DomainError)
    assert not isinstance(again, DomainError)
    assert first["clientMessageId"] == "cm-1"
    assert again["id"] == first["id"]
    assert isinstance(elsewhere, Conflict)
    assert not isinstance(plain, DomainError)
    assert GroupMessage.objects.count() == 2
    # The round's batched message first, then the idempotent one (delivered once).
    assert events(layer) == [
        ("group:message:receive", sorted([alice.id, carol.id])),
        ("group:message:sent", [bob.id]),
        ("group:message:receive", sorted([bob.id, carol.id])),
        ("group:message:sent", [alice.id]),
    ]


async def test_concurrent_handlers_share_rounds_and_each_ack_is_its_stored_row(layer: FakeLayer) -> None:
    alice, bob, carol = await database_sync_to_async(lambda: [make_person(n) for n in ("alice", "bob", "carol")])()
    crew = await database_sync_to_async(new_group)(alice, [bob, carol])
    layer.clear()
    senders = [alice, bob, carol] * 7
    rounds_before = group_message_sender.stats()
    acks = await asyncio.gather(
        *(
            on_group_message_send(FakeSocket(user_id=s.id), {"groupId": str(crew.id), "content": f"m{i}"})
            for i, s in enumerate(senders)
        )
    )
    rows = await database_sync_to_async(lambda: {str(m.id): m for m in GroupMessage.objects.all()})()
    assert len(rows) == len(senders) == len({ack["id"] for ack in acks})
    for i, (sender, ack) in enumerate(zip(senders, acks, strict=True)):
        row = rows[ack["id"]]
        assert (row.from_user_id, row.content) == (sender.id, f"m{i}")
        assert ack["content"] == f"m{i}"
    receives = layer.named("group:message:receive")
    assert sorted(p.payload["id"] for p in receives) == sorted(rows)
    for p in receives:
        assert sorted(p.users) == sorted(u.id for u in (alice, bob, carol) if u.id != p.payload["fromUserId"])
    rounds_after = group_message_sender.stats()
    assert rounds_after[1] - rounds_before[1] == len(senders)
    assert rounds_after[0] - rounds_before[0] < len(senders)  # coalesced: fewer rounds than requests


async def test_a_refused_send_raises_for_the_handler_like_before(people: list[User], layer: FakeLayer) -> None:
    alice, bob, carol, dave = people
    crew = await database_sync_to_async(new_group)(alice, [bob, carol])
    layer.clear()
    with pytest.raises(DomainError) as refused:
        await on_group_message_send(FakeSocket(user_id=dave.id), {"groupId": str(crew.id), "content": "hello"})
    assert refused.value.status == 403
    assert refused.value.message == NOT_A_MEMBER
    assert layer.sent == []
