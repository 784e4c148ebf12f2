"""``user:check-status`` answers from this worker's friend cache: no query per request, exact answers.

- after CONNECT (which reads the friends once), status requests read no friends from the database;
- a non-friend is never reported online; an unfriended user is reported offline at once, both
  when the change ran on this worker (on commit) and when it ran on another one (the hub sees the
  ``friend:removed`` event before the sockets do);
- a new friend is reported at once after the accept; the cache forgets a user whose socket left;
- a load that raced with an invalidation is not stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async

from chat.handlers.presence import on_check_status, on_connect, on_disconnect
from chat.models import FriendRequest, Friendship
from chat.presence_store import MemoryPresenceStore, set_presence_store
from chat.selectors.friends import friend_ids_of_many, friendship_pair
from chat.services import presence as presence_service
from chat.services.friend_cache import FriendCache, friend_cache
from chat.services.friends import friend_request_accept, friendship_remove
from retrochat.realtime.broadcast import encode_event
from retrochat.realtime.hub import get_hub
from tests.chat.dm_factories import (
    FakeSocket,
    RecordingLayer,
    befriend,
    make_user,
)


@pytest.fixture
def memory_store() -> Iterator[MemoryPresenceStore]:
    store = MemoryPresenceStore()
    set_presence_store(store)
    friend_cache.clear()
    yield store
    set_presence_store(None)
    friend_cache.clear()


@pytest.fixture
def people(transactional_db: None) -> dict[str, Any]:
    """alice with friend bob; mallory is nobody's friend."""
    alice, bob, mallory = (make_user(n) for n in ("alice", "bob", "mallory"))
    befriend(alice, bob)
    return {"alice": alice, "bob": bob, "mallory": mallory}


@pytest.fixture
def friend_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every read of a user's friends by the presence service (user ids)."""
    reads: list[str] = []
    real = friend_ids_of_many

    def counted(*, user_ids: Iterable[str]) -> dict[str, list[str]]:
        wanted = list(user_ids)
        reads.extend(wanted)
        return real(user_ids=wanted)

    monkeypatch.setattr(presence_service, "friend_ids_of_many", counted)
    return reads


async def arrive(user_id: str) -> FakeSocket:
    socket = FakeSocket(user_id=user_id)
    await on_connect(socket, {})
    await socket.settle()
    return socket


async def check(socket: FakeSocket, *user_ids: str) -> dict[str, str]:
    ack = await on_check_status(socket, {"userIds": list(user_ids)})
    return {entry["userId"]: entry["status"] for entry in ack["statuses"]}


async def test_status_requests_read_no_friends_after_connect(
    people: dict[str, Any], memory_store: MemoryPresenceStore, layer: RecordingLayer, friend_reads: list[str]
) -> None:
    alice, bob, mallory = people["alice"], people["bob"], people["mallory"]
    await arrive(bob.id)
    await arrive(mallory.id)
    friend_reads.clear()
    socket = await arrive(alice.id)
    assert friend_reads == [alice.id]  # the CONNECT's one read
    for _ in range(5):
        assert await check(socket, bob.id, mallory.id, "ghost") == {
            bob.id: "online",
            mallory.id: "offline",  # online, but not a friend: never reported
            "ghost": "offline",
        }
    assert friend_reads == [alice.id]


async def test_unfriended_on_this_worker_is_offline_at_once(
    people: dict[str, Any], memory_store: MemoryPresenceStore, layer: RecordingLayer
) -> None:
    alice, bob = people["alice"], people["bob"]
    await arrive(bob.id)
    socket = await arrive(alice.id)
    assert await check(socket, bob.id) == {bob.id: "online"}
    await database_sync_to_async(friendship_remove)(user_id=bob.id, friend_id=alice.id)
    assert await check(socket, bob.id) == {bob.id: "offline"}
    bob_socket = FakeSocket(user_id=bob.id)
    assert await check(bob_socket, alice.id) == {alice.id: "offline"}


async def test_unfriended_on_another_worker_is_offline_once_the_event_arrives(
    people: dict[str, Any], memory_store: MemoryPresenceStore, layer: RecordingLayer
) -> None:
    alice, bob = people["alice"], people["bob"]
    await arrive(bob.id)
    socket = await arrive(alice.id)
    assert await check(socket, bob.id) == {bob.id: "online"}
    # Another worker deleted the row (this one ran no service) and published the event.
    await database_sync_to_async(lambda: Friendship.objects.filter(friendship_pair(alice.id, bob.id)).delete())()
    assert await check(socket, bob.id) == {bob.id: "online"}  # not told yet: the cached set
    packet = encode_event("friend:removed", {"userId": bob.id})
    get_hub().handle({"type": "rt.emit", "event": "friend:removed", "packet": packet, "users": [alice.id]})
    assert await check(socket, bob.id) == {bob.id: "offline"}


async def test_a_new_friend_is_reported_at_once_after_the_accept(
    people: dict[str, Any], memory_store: MemoryPresenceStore, layer: RecordingLayer
) -> None:
    bob, mallory = people["bob"], people["mallory"]
    await arrive(mallory.id)
    socket = await arrive(bob.id)
    assert await check(socket, mallory.id) == {mallory.id: "offline"}
    request = await database_sync_to_async(FriendRequest.objects.create)(from_user=mallory, to_user=bob)
    await database_sync_to_async(friend_request_accept)(request_id=str(request.id), user_id=bob.id)
    assert await check(socket, mallory.id) == {mallory.id: "online"}


async def test_the_cache_forgets_a_user_whose_socket_left(
    people: dict[str, Any], memory_store: MemoryPresenceStore, layer: RecordingLayer, friend_reads: list[str]
) -> None:
    alice = people["alice"]
    socket = await arrive(alice.id)
    assert friend_cache.get(alice.id) == frozenset({people["bob"].id})
    await on_disconnect(socket, "transport close")
    assert friend_cache.get(alice.id) is None
    friend_reads.clear()
    assert await check(FakeSocket(user_id=alice.id), people["bob"].id) == {people["bob"].id: "offline"}
    assert friend_reads == [alice.id]  # read again from the database


async def test_without_a_ttl_nothing_is_cached(
    people: dict[str, Any],
    memory_store: MemoryPresenceStore,
    layer: RecordingLayer,
    friend_reads: list[str],
    settings: Any,
) -> None:
    settings.FRIEND_CACHE_TTL_SECONDS = 0
    socket = await arrive(people["alice"].id)
    await check(socket, people["bob"].id)
    await check(socket, people["bob"].id)
    assert friend_reads == [people["alice"].id] * 3


async def test_a_load_that_raced_with_an_invalidation_is_not_stored() -> None:
    cache = FriendCache()

    async def load(user_id: str) -> list[str]:
        cache.invalidate([user_id])  # the friendship changed while the database was read
        return ["old-friend"]

    assert await cache.friends_of("u", load) == frozenset({"old-friend"})
    assert cache.get("u") is None
    assert cache.put("u", ["x"], epoch=cache.epoch())
    assert cache.get("u") == frozenset({"x"})
    assert not cache.put("u", ["y"], epoch=cache.epoch() - 1)
    assert cache.get("u") == frozenset({"x"})


def test_friend_sets_read_only_what_is_missing_and_fresh_reads_everything() -> None:
    cache = FriendCache()
    loads: list[list[str]] = []

    def load_many(user_ids: list[str]) -> dict[str, list[str]]:
        loads.append(user_ids)
        return {uid: [f"{uid}-friend"] for uid in user_ids if uid != "lonely"}

    cache.put("known", ["k"], epoch=cache.epoch())
    sets = cache.friend_sets(["known", "new", "lonely", "new"], load_many)
    assert sets == {"known": frozenset({"k"}), "new": frozenset({"new-friend"}), "lonely": frozenset()}
    assert loads == [["new", "lonely"]]
    assert cache.friend_sets(["new"], load_many) == {"new": frozenset({"new-friend"})}
    assert loads == [["new", "lonely"]]  # cached now
    assert cache.friend_sets(["known"], load_many, fresh=True) == {"known": frozenset({"known-friend"})}
    assert cache.get("known") == frozenset({"known-friend"})

    def racing(user_ids: list[str]) -> dict[str, list[str]]:
        cache.invalidate(user_ids)  # changed while the database was read
        return {uid: ["stale"] for uid in user_ids}

    assert cache.friend_sets(["raced"], racing) == {"raced": frozenset({"stale"})}
    assert cache.get("raced") is None  # not stored
