"""Presence end to end: online while at least one tab is open anywhere, friends only, expiring.

A user goes offline only when the last tab closes — whichever workers the tabs sit on — or, when
the worker holding them is killed, within the presence TTL (``PRESENCE_TTL_SECONDS``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from channels.db import database_sync_to_async

from tests.e2e.fixtures import require_redis
from tests.e2e.helpers import Client, TestUser, amake_user, connect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def befriend(a: TestUser, b: TestUser) -> Any:
    from chat.models import Friendship

    return database_sync_to_async(Friendship.objects.create)(user1_id=a.id, user2_id=b.id)


def status_of(user: TestUser, status: str) -> Any:
    return lambda payload: payload == {"userId": user.id, "status": status}


def batch(*pairs: tuple[TestUser, str]) -> dict[str, Any]:
    return {"statuses": [{"userId": u.id, "status": s} for u, s in pairs]}


async def disconnect_all(*clients: Client) -> None:
    for client in clients:
        await client.disconnect()


async def test_online_with_the_first_tab_offline_after_the_last_friends_only(server: Any) -> None:
    alice = await amake_user(name="Alice")
    bob = await amake_user(name="Bob")
    carol = await amake_user(name="Carol")  # nobody's friend
    dave = await amake_user(name="Dave")  # alice's friend, stays offline
    await befriend(alice, bob)
    await befriend(dave, alice)
    bob_tab = await connect(server, bob)
    carol_tab = await connect(server, carol)
    alice_tabs: list[Client] = []
    try:
        (first_batch,) = await bob_tab.events.assert_once("user:status-batch", settle=0.1)
        assert first_batch == batch((alice, "offline"))

        alice_tabs.append(await connect(server, alice))
        await bob_tab.events.assert_once("user:status", status_of(alice, "online"), settle=0.2)
        (alice_batch,) = await alice_tabs[0].events.assert_once("user:status-batch", settle=0.1)
        assert alice_batch == batch((bob, "online"), (dave, "offline"))
        await carol_tab.events.assert_not_received("user:status", within=0.1)

        alice_tabs.append(await connect(server, alice, transports=("polling", "websocket")))
        await alice_tabs[1].events.wait_for("user:status-batch")
        await asyncio.sleep(0.3)
        assert bob_tab.events.matching("user:status") == [({"userId": alice.id, "status": "online"},)]

        # check-status: the friend's real status; a stranger who is online reads as offline
        answer = await bob_tab.call("user:check-status", {"userIds": [alice.id, carol.id]})
        assert answer == batch((alice, "online"), (carol, "offline"))
        (pushed,) = await bob_tab.events.wait_for("user:status-batch", count=2)
        assert pushed == answer

        await alice_tabs[0].disconnect()
        await bob_tab.events.assert_not_received("user:status", status_of(alice, "offline"), within=0.5)
        await alice_tabs[1].disconnect()
        await bob_tab.events.assert_once("user:status", status_of(alice, "offline"), settle=0.3)
        await carol_tab.events.assert_not_received("user:status", within=0.05)
        answer = await bob_tab.call("user:check-status", {"userIds": [alice.id]})
        assert answer == batch((alice, "offline"))

        # bob's own coming and going reaches alice's friends list, not carol
        alice_tabs.append(await connect(server, alice))
        await bob_tab.disconnect()
        await alice_tabs[2].events.assert_once("user:status", status_of(bob, "offline"), settle=0.2)
        await carol_tab.events.assert_not_received("user:status", within=0.05)
    finally:
        await disconnect_all(bob_tab, carol_tab, *alice_tabs)


@pytest.mark.redis
async def test_tabs_on_two_workers_offline_only_after_both(two_servers: Any) -> None:
    first, second = two_servers
    alice = await amake_user(name="Alice")
    bob = await amake_user(name="Bob")
    await befriend(alice, bob)
    bob_tab = await connect(first, bob)
    alice_a = await connect(first, alice)
    alice_b = await connect(second, alice)
    try:
        await bob_tab.events.assert_once("user:status", status_of(alice, "online"), settle=0.3)
        (seen_from_b,) = await alice_b.events.wait_for("user:status-batch")
        assert seen_from_b == batch((bob, "online"))  # bob's socket is on the other worker
        await alice_a.disconnect()
        await bob_tab.events.assert_not_received("user:status", status_of(alice, "offline"), within=0.5)
        assert await bob_tab.call("user:check-status", {"userIds": [alice.id]}) == batch((alice, "online"))
        await alice_b.disconnect()
        await bob_tab.events.assert_once("user:status", status_of(alice, "offline"), settle=0.3)
    finally:
        await disconnect_all(bob_tab, alice_a, alice_b)


@pytest.mark.redis
@pytest.mark.slow
async def test_killed_worker_users_go_offline_within_the_ttl(server_factory: Any) -> None:
    require_redis()
    ttl = 2.0
    doomed = server_factory(env={"PRESENCE_TTL_SECONDS": str(ttl)}, name="doomed")
    survivor = server_factory(env={"PRESENCE_TTL_SECONDS": str(ttl)}, name="survivor")
    alice = await amake_user(name="Alice")
    bob = await amake_user(name="Bob")
    await befriend(alice, bob)
    bob_tab = await connect(survivor, bob)
    alice_tab = await connect(doomed, alice, reconnection=False)
    try:
        await bob_tab.events.assert_once("user:status", status_of(alice, "online"), settle=0.2)
        await asyncio.sleep(ttl)  # several heartbeats: the entry is being refreshed, alice stays online
        await bob_tab.events.assert_not_received("user:status", status_of(alice, "offline"), within=0.1)

        doomed.kill()
        killed_at = time.monotonic()
        await bob_tab.events.wait_for("user:status", status_of(alice, "offline"), timeout=ttl + 3)
        elapsed = time.monotonic() - killed_at
        assert elapsed <= ttl + 0.5, f"offline announced {elapsed:.2f}s after the kill (TTL {ttl}s)"
        assert await bob_tab.call("user:check-status", {"userIds": [alice.id]}) == batch((alice, "offline"))
        assert len(bob_tab.events.matching("user:status", status_of(alice, "offline"))) == 1
    finally:
        await disconnect_all(bob_tab, alice_tab)
