"""Friends and direct messages end to end: a real server, real Socket.IO clients, REST over HTTP.

Every user has two tabs (one of them on long-polling with upgrade, as a fallback browser would):
every event reaches every tab exactly once; a retried ``clientMessageId`` is stored and delivered
once; a reconnecting client catches up with ``after=``; sender and recipient may sit on different
workers.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from channels.db import database_sync_to_async

from tests.e2e.helpers import Client, TestUser, amake_user, connect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MESSAGE_KEYS = {"id", "fromUserId", "toUserId", "content", "timestamp", "isRead", "isAIGenerated"}


def rest(server: Any, user: TestUser) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.base_url, headers={"Cookie": user.cookie_header}, timeout=10)


async def disconnect_all(*clients: Client) -> None:
    for client in clients:
        await client.disconnect()


def befriend(a: TestUser, b: TestUser) -> Any:
    from chat.models import Friendship

    return database_sync_to_async(Friendship.objects.create)(user1_id=a.id, user2_id=b.id)


def with_id(message_id: str) -> Any:
    return lambda payload: payload.get("id") == message_id


def assert_message_shape(message: dict[str, Any]) -> None:
    assert MESSAGE_KEYS <= set(message) <= MESSAGE_KEYS | {"clientMessageId"}
    assert ISO_Z.match(message["timestamp"])
    assert isinstance(message["isRead"], bool)
    assert isinstance(message["isAIGenerated"], bool)


async def test_friendship_then_chat_every_tab_once(server: Any) -> None:
    alice = await amake_user(name="Alice")
    bob = await amake_user(name="Bob")
    carol = await amake_user(name="Carol")
    alice_tabs = [await connect(server, alice), await connect(server, alice, transports=("polling", "websocket"))]
    bob_tabs = [await connect(server, bob, transports=("polling",)), await connect(server, bob)]
    carol_tab = await connect(server, carol)
    everyone = (*alice_tabs, *bob_tabs, carol_tab)
    try:
        # --- request: every tab of bob hears of it once; the response carries both user cards
        async with rest(server, alice) as http:
            response = await http.post("/api/friends/request", json={"toUserId": bob.id})
        assert response.status_code == 201, response.text
        request = response.json()
        assert request["fromUser"]["id"] == alice.id
        assert request["toUser"]["id"] == bob.id
        for tab in bob_tabs:
            (event,) = await tab.events.assert_once("friend:request", settle=0.1)
            assert event == request
        for tab in (*alice_tabs, carol_tab):
            await tab.events.assert_not_received("friend:request", within=0.05)

        # --- accept: every tab of alice (the requester) hears of it once, with the accepter as toUser
        async with rest(server, bob) as http:
            response = await http.post(
                f"/api/friends/accept/{request['id']}", headers={"Content-Type": "application/json"}
            )
            assert response.status_code == 201, response.text
            accepted = response.json()
            assert accepted["status"] == "accepted"
            assert accepted["toUser"]["id"] == bob.id
            friends = (await http.get("/api/friends")).json()
        assert [f["id"] for f in friends] == [alice.id]
        for tab in alice_tabs:
            (event,) = await tab.events.assert_once("friend:accepted", settle=0.1)
            assert event == accepted
        for tab in bob_tabs:
            await tab.events.assert_not_received("friend:accepted", within=0.05)
        # friends now: each sees the other online, on every tab (strangers did not before)
        for tabs, other in ((alice_tabs, bob), (bob_tabs, alice)):
            for tab in tabs:
                (status,) = await tab.events.assert_once("user:status", settle=0.1)
                assert status == {"userId": other.id, "status": "online"}
        await carol_tab.events.assert_not_received("user:status", within=0.05)

        # --- a message: the ack is the stored message; bob's tabs receive it, alice's tabs are told it was sent
        ack = await alice_tabs[0].call("message:send", {"toUserId": bob.id, "content": "  hi bob 👋  "})
        assert_message_shape(ack)
        assert (ack["fromUserId"], ack["toUserId"], ack["content"]) == (alice.id, bob.id, "hi bob 👋")
        for tab in bob_tabs:
            (received,) = await tab.events.assert_once("message:receive", settle=0.1)
            assert received == ack
        for tab in alice_tabs:
            (sent,) = await tab.events.assert_once("message:sent", settle=0.1)
            assert sent == ack
            await tab.events.assert_not_received("message:receive", within=0.05)
        await carol_tab.events.assert_not_received("message:receive", within=0.05)

        # --- the reply from bob's polling tab, the same way back
        reply = await bob_tabs[0].call("message:send", {"toUserId": alice.id, "content": "hey alice"})
        for tab in alice_tabs:
            await tab.events.assert_once("message:receive", with_id(reply["id"]), settle=0.1)
        for tab in bob_tabs:
            await tab.events.assert_once("message:sent", with_id(reply["id"]), settle=0.1)

        # --- typing reaches every tab of the friend, as {fromUserId}
        assert await alice_tabs[1].call("user:typing", {"toUserId": bob.id}) == {"ok": True, "throttled": False}
        for tab in bob_tabs:
            (typing,) = await tab.events.assert_once("user:typing", settle=0.1)
            assert typing == {"fromUserId": alice.id}
        await carol_tab.events.assert_not_received("user:typing", within=0.05)

        # --- history over REST, oldest first
        async with rest(server, bob) as http:
            history = (await http.get(f"/api/messages/{alice.id}")).json()
        assert [m["id"] for m in history] == [ack["id"], reply["id"]]

        # --- refusals: message:error to the sending socket only, an ack error, nothing stored or delivered
        for tab in everyone:
            tab.events.clear()
        refused = await carol_tab.call("message:send", {"toUserId": alice.id, "content": "let me in"})
        assert refused == {"error": {"code": "forbidden", "message": "You can only send messages to your friends"}}
        (error,) = await carol_tab.events.assert_once("message:error", settle=0.1)
        assert error == {"error": "You can only send messages to your friends"}
        empty = await alice_tabs[0].call("message:send", {"toUserId": bob.id, "content": "   "})
        assert empty == {"error": {"code": "bad_request", "message": "Message content cannot be empty"}}
        to_ai = await alice_tabs[0].call("message:send", {"toUserId": "kirhost", "content": "hello"})
        assert to_ai["error"]["message"] == "Cannot send direct messages to an AI user"
        await alice_tabs[0].events.wait_for("message:error", count=2)
        await alice_tabs[1].events.assert_not_received("message:error", within=0.05)
        for tab in (*alice_tabs, *bob_tabs):
            await tab.events.assert_not_received("message:receive", within=0.05)
            await tab.events.assert_not_received("message:sent", within=0.05)

        # --- unfriend: both sides told on every tab; messages refused from then on
        async with rest(server, bob) as http:
            response = await http.delete(f"/api/friends/{alice.id}")
        assert response.status_code == 200
        for tab in alice_tabs:
            (removed,) = await tab.events.assert_once("friend:removed", settle=0.1)
            assert removed == {"userId": bob.id}
        for tab in bob_tabs:
            (removed,) = await tab.events.assert_once("friend:removed", settle=0.1)
            assert removed == {"userId": alice.id}
        after = await alice_tabs[0].call("message:send", {"toUserId": bob.id, "content": "still there?"})
        assert after["error"]["code"] == "forbidden"
    finally:
        await disconnect_all(*everyone)


async def test_retried_client_message_id_is_stored_and_delivered_once(server: Any) -> None:
    from chat.models import DirectMessage

    alice = await amake_user(name="Alice")
    bob = await amake_user(name="Bob")
    await befriend(alice, bob)
    alice_tab = await connect(server, alice)
    bob_tabs = [await connect(server, bob), await connect(server, bob)]
    try:
        payload = {"toUserId": bob.id, "content": "only once", "clientMessageId": "alice-tab-1-0001"}
        first = await alice_tab.call("message:send", payload)
        assert first["clientMessageId"] == "alice-tab-1-0001"
        second = await alice_tab.call("message:send", payload)  # the client never saw the first ack, say
        assert second == first
        # A reconnected tab retrying the same send gets the same answer too.
        await alice_tab.disconnect()
        alice_tab = await connect(server, alice)
        assert await alice_tab.call("message:send", payload) == first
        for tab in bob_tabs:
            await tab.events.assert_once("message:receive", with_id(first["id"]), settle=0.5)
        count = await database_sync_to_async(DirectMessage.objects.filter(client_message_id="alice-tab-1-0001").count)()
        assert count == 1
    finally:
        await disconnect_all(alice_tab, *bob_tabs)


async def test_reconnecting_client_catches_up_with_after(server: Any) -> None:
    alice = await amake_user(name="Alice")
    bob = await amake_user(name="Bob")
    await befriend(bob, alice)
    alice_tab = await connect(server, alice)
    bob_tab = await connect(server, bob)
    try:
        seen = await alice_tab.call("message:send", {"toUserId": bob.id, "content": "m0"})
        await bob_tab.events.wait_for("message:receive", with_id(seen["id"]))
        await bob_tab.disconnect()

        missed = []
        bob_phone = await connect(server, bob)  # bob writes from another device meanwhile
        for i in range(1, 6):  # both directions while bob's tab is away
            sender, to = (alice_tab, bob) if i % 2 else (bob_phone, alice)
            missed.append(await sender.call("message:send", {"toUserId": to.id, "content": f"m{i}"}))
        await bob_phone.disconnect()

        bob_tab = await connect(server, bob)
        async with rest(server, bob) as http:
            response = await http.get(f"/api/messages/{alice.id}", params={"after": seen["id"]})
            assert response.status_code == 200
            caught_up = response.json()
            assert [m["id"] for m in caught_up] == [m["id"] for m in missed]
            assert [m["content"] for m in caught_up] == [f"m{i}" for i in range(1, 6)]
            # nothing newer than the last one
            tail = await http.get(f"/api/messages/{alice.id}", params={"after": caught_up[-1]["id"]})
            assert tail.json() == []
            # somebody else's message id as a cursor is "not found"
            carol = await amake_user(name="Carol")
            async with rest(server, carol) as carol_http:
                foreign = await carol_http.get(f"/api/messages/{bob.id}", params={"after": seen["id"]})
            assert foreign.status_code == 404
    finally:
        await disconnect_all(alice_tab, bob_tab)


@pytest.mark.redis
async def test_sender_and_recipient_on_different_workers(two_servers: Any) -> None:
    first, second = two_servers
    alice = await amake_user(name="Alice")
    bob = await amake_user(name="Bob")
    await befriend(alice, bob)
    alice_a = await connect(first, alice)
    alice_b = await connect(second, alice, transports=("polling",))
    bob_b = await connect(second, bob)
    bob_a = await connect(first, bob)
    clients = (alice_a, alice_b, bob_a, bob_b)
    try:
        ack = await alice_a.call("message:send", {"toUserId": bob.id, "content": "across workers"})
        for tab in (bob_a, bob_b):
            assert (await tab.events.assert_once("message:receive", settle=0.2)) == (ack,)
        for tab in (alice_a, alice_b):
            assert (await tab.events.assert_once("message:sent", settle=0.2)) == (ack,)
        await alice_b.call("user:typing", {"toUserId": bob.id})
        for tab in (bob_a, bob_b):
            assert (await tab.events.assert_once("user:typing", settle=0.2)) == ({"fromUserId": alice.id},)

        # a friend request made through worker B's REST reaches the recipient's socket on worker A
        carol = await amake_user(name="Carol")
        carol_a = await connect(first, carol)
        try:
            async with rest(second, carol) as http:
                response = await http.post("/api/friends/request", json={"toUserId": bob.id})
            assert response.status_code == 201
            for tab in (bob_a, bob_b):
                (event,) = await tab.events.assert_once("friend:request", settle=0.2)
                assert event["id"] == response.json()["id"]
        finally:
            await carol_a.disconnect()
    finally:
        await disconnect_all(*clients)
