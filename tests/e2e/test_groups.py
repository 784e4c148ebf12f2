"""Groups end to end: a real server, real Socket.IO clients, the REST API over HTTP.

Scenario of issue 5: three people (one with two tabs) → create → membership events → messages
both ways → typing → a fourth is added → one is removed (and stops receiving at once) → one
leaves → the group is deleted; pagination over 120 messages; fan-out across two workers.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from channels.db import database_sync_to_async

from tests.e2e.helpers import Client, TestUser, amake_user, connect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NOT_A_MEMBER = "You are not a member of this group"


def rest(server: Any, user: TestUser) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.base_url, headers={"Cookie": user.cookie_header}, timeout=10)


async def disconnect_all(*clients: Client) -> None:
    for client in clients:
        await client.disconnect()


def for_group(group_id: str) -> Any:
    return lambda payload: payload.get("groupId") == group_id


async def test_group_lifecycle_over_sockets_and_rest(server) -> None:
    alice = await amake_user(name="Alice Liddell")
    bob = await amake_user(name="Bob 🎸 Dylan")
    carol = await amake_user(name="Carol")
    dave = await amake_user(name="Dave")
    alice_tab = await connect(server, alice)
    bob_tab1 = await connect(server, bob)
    bob_tab2 = await connect(server, bob, transports=("polling", "websocket"))
    carol_tab = await connect(server, carol, transports=("polling",))
    dave_tab = await connect(server, dave)
    everyone = (alice_tab, bob_tab1, bob_tab2, carol_tab, dave_tab)
    try:
        # --- create: one group:member:added per socket of each member, carrying their own membership
        async with rest(server, alice) as http:
            response = await http.post("/api/groups", json={"name": "Wonderland", "memberIds": [bob.id, carol.id]})
        assert response.status_code == 201, response.text
        group = response.json()
        gid = group["id"]
        assert [m["userId"] for m in group["members"]] == [alice.id, bob.id, carol.id, f"group-ai-{gid}"]
        for client, user in ((alice_tab, alice), (bob_tab1, bob), (bob_tab2, bob), (carol_tab, carol)):
            (added,) = await client.events.assert_once("group:member:added", for_group(gid), settle=0.1)
            assert added["member"]["userId"] == user.id
        await dave_tab.events.assert_not_received("group:member:added", within=0.2)

        # --- messages both ways
        ack = await alice_tab.call("group:message:send", {"groupId": gid, "content": "Hi @bob 🎸 dylan!"})
        assert ack["content"] == "Hi @bob 🎸 dylan!"
        assert ack["mentionedUserIds"] == [bob.id]
        assert ack["fromUser"]["displayName"] == "Alice Liddell"
        for client in (bob_tab1, bob_tab2, carol_tab):
            (received,) = await client.events.assert_once("group:message:receive", settle=0.1)
            assert received == ack
        (sent,) = await alice_tab.events.assert_once("group:message:sent", settle=0.1)
        assert sent == ack
        await alice_tab.events.assert_not_received("group:message:receive", within=0.1)
        await dave_tab.events.assert_not_received("group:message:receive", within=0.1)

        reply = await bob_tab2.call(
            "group:message:send", {"groupId": gid, "content": "hey @ai and @Alice Liddell", "clientMessageId": "b-1"}
        )
        assert reply["mentionedUserIds"] == [f"group-ai-{gid}", alice.id]
        await alice_tab.events.wait_for("group:message:receive", lambda m: m["id"] == reply["id"])
        await carol_tab.events.wait_for("group:message:receive", lambda m: m["id"] == reply["id"])
        for client in (bob_tab1, bob_tab2):  # every tab of the sender is told
            await client.events.wait_for("group:message:sent", lambda m: m["id"] == reply["id"])
        # a retry with the same clientMessageId is answered with the stored message, delivered once
        retry = await bob_tab1.call(
            "group:message:send", {"groupId": gid, "content": "hey @ai and @Alice Liddell", "clientMessageId": "b-1"}
        )
        assert retry == reply
        await alice_tab.events.assert_once("group:message:receive", lambda m: m["id"] == reply["id"], settle=0.2)

        # --- typing: the other members, with the display name
        typing_ack = await carol_tab.call("group:typing", {"groupId": gid})
        assert typing_ack == {"ok": True, "throttled": False}
        for client in (alice_tab, bob_tab1, bob_tab2):
            (typing,) = await client.events.assert_once("group:typing", settle=0.1)
            assert typing == {"groupId": gid, "userId": carol.id, "username": "Carol"}
        await carol_tab.events.assert_not_received("group:typing", within=0.1)

        # --- add dave: dave and everyone already in are told
        async with rest(server, alice) as http:
            response = await http.post(f"/api/groups/{gid}/members", json={"userId": dave.id})
        assert response.status_code == 201
        assert response.json() == {"message": "Member added successfully"}
        for client in everyone:
            await client.events.wait_for("group:member:added", lambda p: p["member"]["userId"] == dave.id)

        # --- remove carol: she is told, and gets nothing from the next message on
        async with rest(server, alice) as http:
            response = await http.delete(f"/api/groups/{gid}/members/{carol.id}")
        assert response.status_code == 200
        for client in everyone:
            (removed,) = await client.events.wait_for("group:member:removed")
            assert removed == {"groupId": gid, "userId": carol.id}
        carol_tab.events.clear()
        after = await alice_tab.call("group:message:send", {"groupId": gid, "content": "carol is gone"})
        await dave_tab.events.wait_for("group:message:receive", lambda m: m["id"] == after["id"])
        await bob_tab1.events.wait_for("group:message:receive", lambda m: m["id"] == after["id"])
        await carol_tab.events.assert_not_received("group:message:receive", within=0.3)
        refused = await carol_tab.call("group:message:send", {"groupId": gid, "content": "let me back"})
        assert refused == {"error": {"code": "forbidden", "message": NOT_A_MEMBER}}
        (error,) = await carol_tab.events.wait_for("group:message:error")
        assert error == {"error": NOT_A_MEMBER}
        await alice_tab.events.assert_not_received("group:message:receive", lambda m: m["content"] == "let me back")

        # --- bob leaves: both of his tabs and the remaining members are told
        for client in everyone:
            client.events.clear()
        async with rest(server, bob) as http:
            response = await http.post(f"/api/groups/{gid}/leave", headers={"Content-Type": "application/json"})
        assert response.status_code == 201
        assert response.json() == {"message": "Left group successfully"}
        for client in (alice_tab, bob_tab1, bob_tab2, dave_tab):
            (removed,) = await client.events.assert_once("group:member:removed", settle=0.1)
            assert removed == {"groupId": gid, "userId": bob.id}
        await carol_tab.events.assert_not_received("group:member:removed", within=0.1)

        # --- delete: every former member still in the group is told
        async with rest(server, alice) as http:
            response = await http.delete(f"/api/groups/{gid}")
            assert response.status_code == 200
            assert response.json() == {"message": "Group deleted successfully"}
            assert (await http.get("/api/groups")).json() == []
        for client in (alice_tab, dave_tab):
            (deleted,) = await client.events.assert_once("group:deleted", settle=0.1)
            assert deleted == {"groupId": gid, "groupName": "Wonderland"}
        for client in (bob_tab1, bob_tab2, carol_tab):
            await client.events.assert_not_received("group:deleted", within=0.1)
    finally:
        await disconnect_all(*everyone)


async def test_scrolling_up_through_120_messages_returns_each_once(server) -> None:
    from groups import services

    alice = await amake_user(name="Alice")
    bob = await amake_user(name="Bob")
    carol = await amake_user(name="Carol")
    alice_tab = await connect(server, alice)
    try:
        async with rest(server, alice) as http:
            response = await http.post("/api/groups", json={"name": "Busy", "memberIds": [bob.id, carol.id]})
            gid = response.json()["id"]
            sent_ids: list[str] = []
            # a few through the socket, the rest straight through the service (same code path)
            for i in range(5):
                ack = await alice_tab.call("group:message:send", {"groupId": gid, "content": f"m{i}"})
                sent_ids.append(ack["id"])
            send = database_sync_to_async(services.group_message_send)
            for i in range(5, 120):
                sender = (alice, bob, carol)[i % 3]
                message = await send(group_id=gid, user_id=sender.id, content=f"m{i}")
                sent_ids.append(message["id"])

            seen: list[dict[str, Any]] = []
            page = (await http.get(f"/api/groups/{gid}/messages?limit=50")).json()
            sizes = []
            while True:
                sizes.append(len(page))
                seen[:0] = page
                if len(page) < 50:
                    break
                response = await http.get(f"/api/groups/{gid}/messages", params={"limit": 50, "before": page[0]["id"]})
                assert response.status_code == 200, response.text
                page = response.json()
        assert sizes == [50, 50, 20]
        assert [m["id"] for m in seen] == sent_ids
        assert [m["content"] for m in seen] == [f"m{i}" for i in range(120)]
        assert all(m["fromUser"]["id"] == m["fromUserId"] for m in seen)
    finally:
        await alice_tab.disconnect()


@pytest.mark.redis
async def test_members_on_two_workers_each_receive_every_message_once(two_servers) -> None:
    first, second = two_servers
    alice = await amake_user(name="Alice")
    bob = await amake_user(name="Bob")
    carol = await amake_user(name="Carol")
    alice_tab = await connect(first, alice)
    bob_on_first = await connect(first, bob)
    bob_on_second = await connect(second, bob)
    carol_tab = await connect(second, carol)
    clients = (alice_tab, bob_on_first, bob_on_second, carol_tab)
    try:
        async with rest(second, carol) as http:
            response = await http.post("/api/groups", json={"name": "Spread", "memberIds": [alice.id, bob.id]})
        assert response.status_code == 201
        gid = response.json()["id"]
        for client in clients:
            await client.events.assert_once("group:member:added", for_group(gid), settle=0.1)

        for n, (sender, receivers) in enumerate(
            [
                (alice_tab, (bob_on_first, bob_on_second, carol_tab)),
                (carol_tab, (alice_tab, bob_on_first, bob_on_second)),
                (bob_on_second, (alice_tab, carol_tab)),
            ]
        ):
            ack = await sender.call("group:message:send", {"groupId": gid, "content": f"hop {n}"})
            for client in receivers:
                await client.events.assert_once("group:message:receive", lambda m, i=ack["id"]: m["id"] == i)
            await sender.events.assert_once("group:message:sent", lambda m, i=ack["id"]: m["id"] == i)
        # bob's other tab (on the other worker) also got the confirmation of his own message
        await bob_on_first.events.assert_once("group:message:sent", lambda m: m["content"] == "hop 2")
        await bob_on_first.events.assert_not_received("group:message:receive", lambda m: m["content"] == "hop 2")
    finally:
        await disconnect_all(*clients)
