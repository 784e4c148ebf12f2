"""``user:typing``: forwarded as ``{fromUserId}`` to every socket of a friend, rate-limited per sender."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chat.handlers.typing import on_typing
from chat.services import typing as typing_service
from chat.services.typing import TYPING_MAX_EVENTS, WindowLimiter
from retrochat.errors import DomainError
from tests.chat.dm_factories import FakeSocket, RecordingLayer, befriend, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_limiter() -> Iterator[None]:
    typing_service.typing_limiter.reset()
    yield
    typing_service.typing_limiter.reset()


@pytest.fixture
def pair() -> tuple[Any, Any]:
    alice, bob = make_user("alice"), make_user("bob")
    befriend(bob, alice)
    return alice, bob


async def test_typing_reaches_the_friend_as_from_user_id(pair: Any, layer: RecordingLayer) -> None:
    alice, bob = pair
    socket = FakeSocket(user_id=alice.id)
    assert await on_typing(socket, {"toUserId": bob.id}) == {"ok": True, "throttled": False}
    assert [(p.event, p.payload, p.users, p.group) for p in layer.sent] == [
        ("user:typing", {"fromUserId": alice.id}, [bob.id], f"rt.user.{bob.id}")
    ]
    assert socket.emitted == []


async def test_typing_to_a_non_friend_is_refused_and_not_forwarded(layer: RecordingLayer) -> None:
    from channels.db import database_sync_to_async

    alice, stranger = (
        await database_sync_to_async(make_user)("alice"),
        await database_sync_to_async(make_user)("stranger"),
    )
    for target in (stranger.id, "ghost", "kirhost", alice.id):
        with pytest.raises(DomainError) as exc:
            await on_typing(FakeSocket(user_id=alice.id), {"toUserId": target})
        assert exc.value.status == 403
    assert layer.sent == []


@pytest.mark.parametrize("payload", [None, {}, {"toUserId": ""}, {"toUserId": 7}])
async def test_malformed_payload_is_400(payload: Any, layer: RecordingLayer) -> None:
    with pytest.raises(DomainError) as exc:
        await on_typing(FakeSocket(user_id="someone"), payload)
    assert exc.value.status == 400
    assert layer.sent == []


async def test_bursts_beyond_the_limit_are_dropped_silently(pair: Any, layer: RecordingLayer) -> None:
    alice, bob = pair
    socket = FakeSocket(user_id=alice.id)
    acks = [await on_typing(socket, {"toUserId": bob.id}) for _ in range(TYPING_MAX_EVENTS + 5)]
    assert [a["throttled"] for a in acks] == [False] * TYPING_MAX_EVENTS + [True] * 5
    assert len(layer.named("user:typing")) == TYPING_MAX_EVENTS
    # another sender has its own budget
    await on_typing(FakeSocket(user_id=bob.id), {"toUserId": alice.id})
    assert layer.sent[-1].payload == {"fromUserId": bob.id}


def test_window_limiter() -> None:
    limiter = WindowLimiter(2, 10.0, max_keys=2)
    assert [limiter.allow("a", now=0.0) for _ in range(3)] == [True, True, False]
    assert limiter.allow("a", now=9.9) is False
    assert limiter.allow("a", now=10.0) is True
    assert limiter.allow("b", now=10.0) is True
    assert limiter.allow("c", now=25.0) is True  # table full: stale windows are pruned
    assert set(limiter._counts) == {"c"}
