"""Presence: online while ≥1 socket lives anywhere; status changes to friends only; batches on demand."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings

from chat.handlers.presence import on_check_status, on_connect, on_disconnect, on_user_online
from chat.presence_store import MemoryPresenceStore, RedisPresenceStore, set_presence_store
from chat.services import presence as presence_service
from retrochat.errors import DomainError
from retrochat.realtime.router import events
from tests.chat.dm_factories import (
    FakeSocket,
    RecordingLayer,
    befriend,
    make_user,
    redis_only,
)


@pytest.fixture
def memory_store() -> Iterator[MemoryPresenceStore]:
    store = MemoryPresenceStore()
    set_presence_store(store)
    yield store
    set_presence_store(None)


@pytest.fixture
def people(transactional_db: None) -> dict[str, Any]:
    """alice with friends bob and carol; mallory is nobody's friend."""
    alice, bob, carol, mallory = (make_user(n) for n in ("alice", "bob", "carol", "mallory"))
    befriend(alice, bob)
    befriend(carol, alice)
    return {"alice": alice, "bob": bob, "carol": carol, "mallory": mallory}


async def arrive(socket: FakeSocket) -> FakeSocket:
    """The engine's CONNECT: the hooks run, then (after the CONNECT reply) the spawned presence task."""
    await on_connect(socket, {})
    await socket.settle()
    return socket


def statuses(layer: RecordingLayer) -> list[tuple[str, str, list[str]]]:
    return [(p.payload["userId"], p.payload["status"], sorted(p.users)) for p in layer.named("user:status")]


def test_hooks_are_registered_after_the_authentication_hook() -> None:
    from chat.handlers import connection

    assert on_connect in events.connect_hooks
    assert on_disconnect in events.disconnect_hooks
    auth_hooks = [h for h in events.connect_hooks if getattr(h, "__module__", "") == connection.__name__]
    if auth_hooks:  # the authentication hook must run before presence reads socket.user_id
        assert events.connect_hooks.index(auth_hooks[0]) < events.connect_hooks.index(on_connect)


# --- the in-process store ------------------------------------------------------------------------


async def test_memory_store_counts_sockets() -> None:
    store = MemoryPresenceStore()
    assert await store.connect("u", "s1") is True
    assert await store.connect("u", "s2") is False
    assert await store.online(["u", "v"]) == {"u"}
    assert await store.disconnect("u", "s1") is False
    assert await store.disconnect("u", "s1") is False  # twice: no second transition
    assert await store.disconnect("u", "s2") is True
    assert await store.online(["u"]) == set()
    assert await store.disconnect("u", "s2") is False


# --- the service through the hooks ---------------------------------------------------------------


async def test_first_socket_announces_online_to_friends_only_and_gets_friend_statuses(
    people: dict[str, Any], memory_store: MemoryPresenceStore, layer: RecordingLayer
) -> None:
    alice, bob, carol, mallory = people["alice"], people["bob"], people["carol"], people["mallory"]
    bob_tab = FakeSocket(user_id=bob.id)
    await arrive(bob_tab)
    assert statuses(layer) == [(bob.id, "online", [alice.id])]  # bob's only friend; not mallory
    assert bob_tab.named("user:status-batch") == [({"statuses": [{"userId": alice.id, "status": "offline"}]},)]
    layer.sent.clear()

    tab1, tab2 = FakeSocket(user_id=alice.id), FakeSocket(user_id=alice.id)
    await arrive(tab1)
    assert statuses(layer) == [(alice.id, "online", sorted([bob.id, carol.id]))]
    assert tab1.named("user:status-batch") == [
        ({"statuses": [{"userId": bob.id, "status": "online"}, {"userId": carol.id, "status": "offline"}]},)
    ]
    await arrive(tab2)  # second tab: no new announcement, but its own batch
    assert len(statuses(layer)) == 1
    assert len(tab2.named("user:status-batch")) == 1

    await on_disconnect(tab1, "transport close")
    assert len(statuses(layer)) == 1  # still one tab open
    await on_disconnect(tab2, "transport close")
    assert statuses(layer)[-1] == (alice.id, "offline", sorted([bob.id, carol.id]))
    assert all(mallory.id not in users for _, _, users in statuses(layer))


async def test_user_without_friends_announces_nothing(
    people: dict[str, Any], memory_store: MemoryPresenceStore, layer: RecordingLayer
) -> None:
    socket = FakeSocket(user_id=people["mallory"].id)
    await arrive(socket)
    await on_disconnect(socket, "transport close")
    assert layer.sent == []
    assert socket.named("user:status-batch") == [({"statuses": []},)]


async def test_anonymous_socket_is_ignored(memory_store: MemoryPresenceStore, layer: RecordingLayer) -> None:
    socket = FakeSocket(user_id=None)
    await arrive(socket)
    await on_disconnect(socket, "transport close")
    assert socket.emitted == []
    assert layer.sent == []


async def test_check_status_answers_friends_truthfully_and_everyone_else_offline(
    people: dict[str, Any], memory_store: MemoryPresenceStore, layer: RecordingLayer
) -> None:
    alice, bob, carol, mallory = people["alice"], people["bob"], people["carol"], people["mallory"]
    await arrive(FakeSocket(user_id=bob.id))
    await arrive(FakeSocket(user_id=mallory.id))  # online, but not alice's friend
    socket = FakeSocket(user_id=alice.id)
    ack = await on_check_status(socket, {"userIds": [bob.id, mallory.id, carol.id, "ghost", bob.id]})
    expected = {
        "statuses": [
            {"userId": bob.id, "status": "online"},
            {"userId": mallory.id, "status": "offline"},
            {"userId": carol.id, "status": "offline"},
            {"userId": "ghost", "status": "offline"},
        ]
    }
    assert ack == expected
    assert socket.named("user:status-batch") == [(expected,)]


@pytest.mark.parametrize("payload", [None, [], {"userIds": "bob"}, {"userIds": [1, 2]}, {}])
async def test_check_status_rejects_malformed_payloads(
    people: dict[str, Any], memory_store: MemoryPresenceStore, payload: Any
) -> None:
    socket = FakeSocket(user_id=people["alice"].id)
    with pytest.raises(DomainError) as exc:
        await on_check_status(socket, payload)
    assert exc.value.status == 400
    assert socket.emitted == []


async def test_user_online_event_is_accepted_and_ignored(memory_store: MemoryPresenceStore) -> None:
    socket = FakeSocket(user_id="someone")
    await on_user_online(socket)
    assert socket.emitted == []


async def test_unfriending_stops_status_updates(
    people: dict[str, Any], memory_store: MemoryPresenceStore, layer: RecordingLayer
) -> None:
    from chat.services.friends import friendship_remove

    alice, bob = people["alice"], people["bob"]
    await database_sync_to_async(friendship_remove)(user_id=alice.id, friend_id=bob.id)
    layer.sent.clear()
    await arrive(FakeSocket(user_id=bob.id))
    assert layer.named("user:status") == []


async def test_a_failing_store_never_breaks_the_connection(
    people: dict[str, Any], layer: RecordingLayer, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(MemoryPresenceStore):
        async def connect(self, user_id: str, sid: str) -> bool:
            raise ConnectionError("store down")

    set_presence_store(Broken())
    try:
        await arrive(FakeSocket(user_id=people["alice"].id))  # must not raise
    finally:
        set_presence_store(None)
    assert "presence: connect" in caplog.text


# --- Redis: shared between workers, expiring ----------------------------------------------------


@pytest.fixture
async def redis_stores() -> AsyncIterator[tuple[RedisPresenceStore, RedisPresenceStore]]:
    """Two "workers" sharing one Redis namespace, with a 1 s TTL (entries live 0.8 s)."""
    prefix = f"{os.environ.get('CHANNEL_LAYER_PREFIX', 'retrochat')}-test-{uuid.uuid4().hex[:8]}"
    one = RedisPresenceStore(settings.REDIS_URL, prefix=prefix, ttl_seconds=1.0)
    two = RedisPresenceStore(settings.REDIS_URL, prefix=prefix, ttl_seconds=1.0)
    yield one, two
    client = one._client().redis
    keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await one.aclose()
    await two.aclose()


@pytest.mark.redis
@redis_only
async def test_redis_lookups_made_together_share_one_script_call(
    redis_stores: tuple[RedisPresenceStore, RedisPresenceStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, _ = redis_stores
    assert await one.connect("u", "a") is True
    assert await one.connect("w", "b") is True
    client = one._client()
    calls: list[int] = []
    script = client.online

    async def counted(*, keys: list[str], args: list[Any]) -> Any:
        calls.append(len(keys))
        return await script(keys=keys, args=args)

    monkeypatch.setattr(client, "online", counted)
    results = await asyncio.gather(
        one.online(["u", "v"]), one.online(["w"]), one.online(["v", "u", "w"]), one.online(["nobody"])
    )
    assert list(results) == [{"u"}, {"w"}, {"u", "w"}, set()]
    assert calls == [4]  # u, v, w, nobody: one call for the four lookups
    assert await one.online(["w"]) == {"w"}
    assert calls == [4, 1]


@pytest.mark.redis
@redis_only
async def test_redis_two_workers_one_user(redis_stores: tuple[RedisPresenceStore, RedisPresenceStore]) -> None:
    one, two = redis_stores
    assert await one.connect("u", "a") is True
    assert await two.connect("u", "b") is False  # other worker, same user: already online
    assert await two.online(["u", "v"]) == {"u"}
    assert await one.disconnect("u", "a") is False
    assert await one.online(["u"]) == {"u"}
    assert await two.disconnect("u", "b") is True
    assert await two.disconnect("u", "b") is False
    assert await one.online(["u"]) == set()


@pytest.mark.redis
@redis_only
async def test_redis_killed_worker_expires_and_is_swept_once(
    redis_stores: tuple[RedisPresenceStore, RedisPresenceStore],
) -> None:
    dead, alive = redis_stores
    assert await dead.connect("u", "a") is True
    assert await dead.connect("w", "c") is True
    assert await alive.connect("w", "d") is False
    dead.forget_local()  # the worker is killed: nobody refreshes its entries any more
    for _ in range(3):  # the survivor keeps its own entries fresh
        await asyncio.sleep(0.3)
        assert await alive.refresh_local() == []
    assert await alive.online(["u", "w"]) == {"w"}  # expired entries count as offline at once
    assert await alive.sweep() == ["u"]  # w still has a live socket on the surviving worker
    assert await alive.sweep() == []
    assert await dead.sweep() == []


@pytest.mark.redis
@redis_only
async def test_redis_refresh_after_a_false_expiry_comes_back_online(
    redis_stores: tuple[RedisPresenceStore, RedisPresenceStore],
) -> None:
    slow, other = redis_stores
    assert await slow.connect("u", "a") is True
    await asyncio.sleep(1.0)  # the worker stalled past the entry's lifetime
    assert await other.sweep() == ["u"]
    assert await slow.refresh_local() == ["u"]  # its next heartbeat revives the socket → online again
    assert await other.online(["u"]) == {"u"}
    assert await slow.disconnect("u", "a") is True


@pytest.mark.redis
@redis_only
async def test_redis_heartbeat_tick_announces_swept_users_to_friends(
    people: dict[str, Any], layer: RecordingLayer, redis_stores: tuple[RedisPresenceStore, RedisPresenceStore]
) -> None:
    dead, alive = redis_stores
    alice, bob = people["alice"], people["bob"]
    set_presence_store(dead)
    try:
        await arrive(FakeSocket(user_id=alice.id))
        presence_service.stop_heartbeat()
    finally:
        set_presence_store(None)
    assert statuses(layer) == [(alice.id, "online", sorted([bob.id, people["carol"].id]))]
    dead.forget_local()
    await asyncio.sleep(0.9)
    set_presence_store(alive)
    try:
        await presence_service.presence_tick()
    finally:
        set_presence_store(None)
    assert statuses(layer)[-1] == (alice.id, "offline", sorted([bob.id, people["carol"].id]))
    assert len(statuses(layer)) == 2


async def test_socket_refused_after_the_hooks_is_never_recorded(
    people: dict[str, Any], memory_store: MemoryPresenceStore, layer: RecordingLayer
) -> None:
    """A later check (e.g. too many connections) refuses the socket: the engine cancels its tasks."""
    socket = FakeSocket(user_id=people["alice"].id)
    await on_connect(socket, {})
    for task in socket.tasks:
        task.cancel()
    await asyncio.gather(*socket.tasks, return_exceptions=True)
    assert await memory_store.online([people["alice"].id]) == set()
    assert layer.sent == []
    assert socket.emitted == []


async def test_disconnect_while_the_connect_work_is_in_flight_leaves_nothing_behind(
    people: dict[str, Any], memory_store: MemoryPresenceStore, layer: RecordingLayer
) -> None:
    alice = people["alice"]
    socket = FakeSocket(user_id=alice.id)
    await on_connect(socket, {})
    await asyncio.sleep(0)  # the presence task has started (store updated, friends being read)
    await socket.close(events.disconnect_hooks)
    assert await memory_store.online([alice.id]) == set()
    online = [p for p in layer.named("user:status") if p.payload["status"] == "online"]
    offline = [p for p in layer.named("user:status") if p.payload["status"] == "offline"]
    assert len(offline) <= 1
    assert len(online) <= len(offline)


async def test_new_friends_see_each_other_online_after_the_accept_commits(
    people: dict[str, Any], memory_store: MemoryPresenceStore, layer: RecordingLayer
) -> None:
    from chat.models import FriendRequest
    from chat.services.friends import friend_request_accept

    bob, mallory = people["bob"], people["mallory"]
    await arrive(FakeSocket(user_id=bob.id))
    await arrive(FakeSocket(user_id=mallory.id))
    request = await database_sync_to_async(FriendRequest.objects.create)(from_user=mallory, to_user=bob)
    layer.sent.clear()
    await database_sync_to_async(friend_request_accept)(request_id=str(request.id), user_id=bob.id)
    assert sorted(statuses(layer)) == sorted([(bob.id, "online", [mallory.id]), (mallory.id, "online", [bob.id])])


async def test_new_friend_who_is_offline_is_not_announced(
    people: dict[str, Any], memory_store: MemoryPresenceStore, layer: RecordingLayer
) -> None:
    from chat.models import FriendRequest
    from chat.services.friends import friend_request_accept

    bob, mallory = people["bob"], people["mallory"]
    await arrive(FakeSocket(user_id=bob.id))
    request = await database_sync_to_async(FriendRequest.objects.create)(from_user=mallory, to_user=bob)
    layer.sent.clear()
    await database_sync_to_async(friend_request_accept)(request_id=str(request.id), user_id=bob.id)
    assert statuses(layer) == [(bob.id, "online", [mallory.id])]
