"""Idempotent sends under concurrency: one row, one delivery (PostgreSQL, one connection per thread)."""

from __future__ import annotations

from typing import Any

import pytest

from chat.models import DirectMessage
from chat.services import messages as services
from tests.chat.dm_factories import (  # noqa: F401
    RecordingLayer,
    befriend,
    make_user,
    postgres_only,
    style_refresh_fixture,
)
from tests.chat.test_friends_races import race

pytestmark = [pytest.mark.postgres, postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("round_", range(5))
def test_same_client_message_id_racing_is_stored_and_delivered_once(layer: RecordingLayer, round_: int) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    befriend(alice, bob)

    def send() -> Any:
        return services.message_send(sender_id=alice.id, to_user_id=bob.id, content="hi", client_message_id="tab-1")

    results = race(send, send, send)
    assert sorted(r.created for r in results) == [False, False, True]
    assert len({r.message.pk for r in results}) == 1
    assert DirectMessage.objects.count() == 1
    assert layer.events() == [("message:receive", [bob.id]), ("message:sent", [alice.id])]


def test_lost_insert_race_replays_the_winner(layer: RecordingLayer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pre-lookup misses the competitor's row: the unique constraint catches it, nothing is delivered."""
    alice, bob = make_user("alice"), make_user("bob")
    befriend(alice, bob)
    winner = services.message_send(sender_id=alice.id, to_user_id=bob.id, content="hi", client_message_id="k")
    layer.sent.clear()
    real_stored = services._stored
    calls = {"n": 0}

    def first_lookup_misses(sender_id: str, cmid: str) -> Any:
        calls["n"] += 1
        return None if calls["n"] == 1 else real_stored(sender_id, cmid)

    monkeypatch.setattr(services, "_stored", first_lookup_misses)
    again = services.message_send(sender_id=alice.id, to_user_id=bob.id, content="hi", client_message_id="k")
    assert (again.created, again.message.pk) == (False, winner.message.pk)
    assert DirectMessage.objects.count() == 1
    assert layer.sent == []
