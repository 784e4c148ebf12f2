"""The social graph's invariants under concurrent attempts (PostgreSQL, separate connections per thread)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connection

from chat.models import FriendRequest, Friendship
from chat.services import friends as services
from retrochat.errors import DomainError
from tests.chat.dm_factories import RecordingLayer, make_user, postgres_only

pytestmark = [pytest.mark.postgres, postgres_only, pytest.mark.django_db(transaction=True)]


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same instant, each in its own thread (and database connection)."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        except DomainError as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    close_old_connections()
    return results


def outcome(result: Any) -> tuple[int, str]:
    if isinstance(result, DomainError):
        return int(result.status), result.message
    return 201, result["status"]


@pytest.mark.parametrize("round_", range(5))
def test_two_accepts_racing_make_one_friendship(layer: RecordingLayer, round_: int) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    req = FriendRequest.objects.create(from_user=alice, to_user=bob)
    results = race(*[lambda: services.friend_request_accept(request_id=str(req.id), user_id=bob.id)] * 2)
    assert sorted(outcome(r) for r in results) == [(201, "accepted"), (400, "Friend request is not pending")]
    assert Friendship.objects.count() == 1
    assert layer.events() == [("friend:accepted", [alice.id])]


def test_accept_racing_reject_leaves_one_consistent_outcome(layer: RecordingLayer) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    req = FriendRequest.objects.create(from_user=alice, to_user=bob)
    results = race(
        lambda: services.friend_request_accept(request_id=str(req.id), user_id=bob.id),
        lambda: services.friend_request_reject(request_id=str(req.id), user_id=bob.id),
    )
    winners = [r for r in results if not isinstance(r, DomainError)]
    assert len(winners) == 1
    req.refresh_from_db()
    assert req.status == winners[0]["status"]
    assert Friendship.objects.count() == (1 if req.status == "accepted" else 0)


@pytest.mark.parametrize("round_", range(5))
def test_two_identical_requests_racing_store_one(layer: RecordingLayer, round_: int) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    results = race(*[lambda: services.friend_request_send(from_user_id=alice.id, to_user_id=bob.id)] * 2)
    assert sorted(outcome(r) for r in results) == [(201, "pending"), (409, "Friend request already exists")]
    assert FriendRequest.objects.count() == 1
    assert layer.events() == [("friend:request", [bob.id])]


def test_opposite_requests_racing_store_one(layer: RecordingLayer) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    results = race(
        lambda: services.friend_request_send(from_user_id=alice.id, to_user_id=bob.id),
        lambda: services.friend_request_send(from_user_id=bob.id, to_user_id=alice.id),
    )
    assert sorted(outcome(r) for r in results) == [(201, "pending"), (409, "Friend request already exists")]
    assert FriendRequest.objects.count() == 1
    assert len(layer.named("friend:request")) == 1


def test_lost_race_on_the_unique_index_is_the_contract_409(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even when the pre-check misses the competitor, the partial unique index answers."""
    alice, bob = make_user("alice"), make_user("bob")
    FriendRequest.objects.create(from_user=bob, to_user=alice)
    monkeypatch.setattr(services, "_pending_between", lambda a, b: False)
    with pytest.raises(DomainError) as exc:
        services.friend_request_send(from_user_id=alice.id, to_user_id=bob.id)
    assert (exc.value.status, exc.value.message) == (409, "Friend request already exists")
    assert FriendRequest.objects.count() == 1


def test_friendship_unique_per_unordered_pair_in_the_database() -> None:
    from django.db import IntegrityError

    alice, bob = make_user("alice"), make_user("bob")
    Friendship.objects.create(user1=alice, user2=bob)
    with pytest.raises(IntegrityError):
        Friendship.objects.create(user1=bob, user2=alice)


def test_accept_when_already_friends_is_409_and_changes_nothing(layer: RecordingLayer) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    req = FriendRequest.objects.create(from_user=alice, to_user=bob)
    Friendship.objects.create(user1=bob, user2=alice)  # appeared by a concurrent path
    with pytest.raises(DomainError) as exc:
        services.friend_request_accept(request_id=str(req.id), user_id=bob.id)
    assert (exc.value.status, exc.value.message) == (409, "Users are already friends")
    req.refresh_from_db()
    assert req.status == "pending"  # the whole transaction rolled back
    assert Friendship.objects.count() == 1
    assert layer.sent == []
