"""Fan-out across workers: two daphne processes sharing one real Redis channel layer."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.helpers import ConnectRefused, amake_user, anew_session, arevoke_session, connect

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


async def test_emit_on_b_reaches_client_on_a(two_servers):
    a, b = two_servers
    alice = await amake_user()
    bob = await amake_user()
    on_a = await connect(a, alice)
    on_b = await connect(b, bob)
    try:
        await on_b.call("e2e:emit-to-users", {"userIds": [alice.id], "event": "e2e:cross", "data": {"from": "b"}})
        assert await on_a.events.assert_once("e2e:cross") == ({"from": "b"},)
        await on_b.events.assert_not_received("e2e:cross", within=0.1)
    finally:
        await on_a.disconnect()
        await on_b.disconnect()


async def test_user_on_both_workers_gets_each_event_once_per_socket(two_servers):
    a, b = two_servers
    carol = await amake_user()
    dave = await amake_user()
    carol_a = await connect(a, carol)
    carol_b = await connect(b, carol, transports=("polling",))
    dave_a = await connect(a, dave)
    try:
        # one user
        await dave_a.call("e2e:emit-to-users", {"userIds": [carol.id], "event": "e2e:one", "data": 1})
        # several users in one emit (goes through the all-workers group)
        await dave_a.call("e2e:emit-to-users", {"userIds": [carol.id, dave.id], "event": "e2e:many", "data": 2})
        for client in (carol_a, carol_b):
            assert await client.events.assert_once("e2e:one") == (1,)
            assert await client.events.assert_once("e2e:many", settle=0.1) == (2,)
        assert await dave_a.events.assert_once("e2e:many", settle=0.1) == (2,)
    finally:
        for client in (carol_a, carol_b, dave_a):
            await client.disconnect()


async def test_room_members_on_both_workers(two_servers):
    a, b = two_servers
    erin = await amake_user()
    frank = await amake_user()
    erin_a = await connect(a, erin)
    frank_b = await connect(b, frank)
    try:
        assert await erin_a.call("e2e:join", "group.cross-room") is True
        assert await frank_b.call("e2e:join", "group.cross-room") is True
        await frank_b.call("e2e:emit-to-room", {"room": "group.cross-room", "event": "e2e:room", "data": "x"})
        assert await erin_a.events.assert_once("e2e:room") == ("x",)
        assert await frank_b.events.assert_once("e2e:room") == ("x",)
    finally:
        await erin_a.disconnect()
        await frank_b.disconnect()


async def test_sign_out_revokes_that_sessions_sockets_on_both_workers(two_servers):
    a, b = two_servers
    gina = await amake_user()
    other_browser = await anew_session(gina)
    gina_a = await connect(a, gina)
    gina_b = await connect(b, gina, transports=("polling",))
    keeps = await connect(b, other_browser)
    try:
        started = asyncio.get_running_loop().time()
        await arevoke_session(gina)  # the service, from this process: after commit, through Redis
        await gina_a.wait_disconnected(timeout=1.0)
        await gina_b.wait_disconnected(timeout=1.0)
        assert asyncio.get_running_loop().time() - started < 1.0
        assert keeps.connected
        assert (await keeps.call("e2e:whoami"))["userId"] == gina.id
        with pytest.raises(ConnectRefused):
            await connect(a, gina)
    finally:
        for client in (gina_a, gina_b, keeps):
            await client.disconnect()


async def test_worker_without_sockets_of_the_user_gets_nothing_to_deliver(two_servers):
    a, b = two_servers
    henry = await amake_user()
    henry_a = await connect(a, henry)
    iris = await amake_user()
    iris_b = await connect(b, iris)
    try:
        await iris_b.call("e2e:emit-to-users", {"userIds": [henry.id], "event": "e2e:only-a", "data": None})
        assert await henry_a.events.assert_once("e2e:only-a") == (None,)
        await iris_b.events.assert_not_received("e2e:only-a", within=0.1)
    finally:
        await henry_a.disconnect()
        await iris_b.disconnect()
