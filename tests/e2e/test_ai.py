"""The AI friend and the group AI end to end: a real server, real Socket.IO clients, the local provider."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar, cast

import httpx
import pytest
from channels.db import database_sync_to_async

from tests.e2e.helpers import Client, TestUser, amake_user, connect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

P = ParamSpec("P")
T = TypeVar("T")


def in_db_thread(fn: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    return cast("Callable[P, Awaitable[T]]", database_sync_to_async(fn))


LEARNING = (
    "I'm still learning your chat style! Keep chatting with your friends, and after 10 messages, "
    "I'll be able to chat just like you! 😊"
)
SAYS = [
    "honestly the pizza here slaps 🍕",
    "lol we should totally grab pizza later",
    "ngl that movie was kinda mid lol",
    "honestly the weather is wild today 🍕",
    "brb grabbing snacks lol",
    "honestly i could eat pizza every single day",
    "that game last night was wild ngl",
    "lol my cat just knocked over my coffee again",
    "honestly the new album slaps so hard 🍕",
    "we should totally go to the beach this weekend lol",
    "ngl i'm kinda tired but down to hang",
    "honestly pizza fixes everything lol 🍕",
]


@in_db_thread
def history(user: TestUser, texts: list[str], *, to: str | None = None) -> None:
    """Past direct messages of ``user`` (to a made-up friend unless ``to`` is given)."""
    from django.utils import timezone

    from chat.models import DirectMessage, User

    if to is None:
        to = User.objects.create_user(email=f"pal-{user.id[:8].lower()}@example.test", name="Pal").id
    start = timezone.now() - timedelta(minutes=5)
    DirectMessage.objects.bulk_create(
        DirectMessage(from_user_id=user.id, to_user_id=to, content=text, timestamp=start + timedelta(seconds=i))
        for i, text in enumerate(texts)
    )


@in_db_thread
def ai_replies(user: TestUser) -> list[tuple[str, str, bool]]:
    from chat.models import DirectMessage

    rows = DirectMessage.objects.filter(from_user_id="kirhost", to_user_id=user.id).order_by("timestamp")
    return [(str(m.id), m.content, m.is_ai_generated) for m in rows]


@in_db_thread
def group_history(group_id: str, senders: list[TestUser], count: int) -> None:
    from django.utils import timezone

    from groups.models import GroupMessage

    lines = ["lets ship it today 🚀", "lol ok lets ship it", "sounds great team!"]
    start = timezone.now() - timedelta(minutes=5)
    GroupMessage.objects.bulk_create(
        GroupMessage(
            group_id=group_id,
            from_user_id=senders[i % len(senders)].id,
            content=lines[i % len(lines)],
            timestamp=start + timedelta(seconds=i),
        )
        for i in range(count)
    )


def ai_friend_events(client: Client) -> list[tuple[str, Any]]:
    return [(name, args[0] if args else None) for name, args in client.events.received if name.startswith("ai-friend:")]


def assert_friend_sequence(client: Client, me: TestUser) -> dict[str, Any]:
    events = ai_friend_events(client)
    names = [name for name, _ in events]
    assert names[:2] == ["ai-friend:user-message-sent", "ai-friend:stream-start"], names
    assert names[-1] == "ai-friend:stream-end", names
    assert set(names[2:-1]) == {"ai-friend:stream-chunk"}, names
    sent = events[0][1]
    assert sent["fromUserId"] == me.id
    assert sent["toUserId"] == "kirhost"
    assert events[1][1] == {"messageId": sent["id"]}
    full = ""
    for index, (_name, chunk) in enumerate(events[2:-1]):
        full += chunk["chunk"]
        assert chunk == {"chunk": chunk["chunk"], "fullResponse": full, "index": index}
    message: dict[str, Any] = events[-1][1]["message"]
    assert message["fromUserId"] == "kirhost"
    assert message["toUserId"] == me.id
    assert message["isAIGenerated"] is True
    assert message["isRead"] is False
    assert message["content"] == full
    return message


async def test_ai_friend_full_sequence_with_the_local_provider(server: Any) -> None:
    sam = await amake_user(name="Sam")
    await history(sam, SAYS)
    tab = await connect(server, sam)
    other_tab = await connect(server, sam, transports=("polling",))
    try:
        ack = await tab.call("ai-friend:message", {"content": "what should we eat tonight?"})
        assert ack["content"] == "what should we eat tonight?"
        assert ack["toUserId"] == "kirhost"
        await tab.events.wait_for("ai-friend:stream-end", timeout=15)
        message = assert_friend_sequence(tab, sam)
        assert len(ai_friend_events(tab)) >= 5  # several chunks
        assert message["content"] != LEARNING
        vocabulary = {w for text in [*SAYS, "what should we eat tonight?"] for w in text.split()}
        assert set(message["content"].split()) <= vocabulary | {"🍕", "🍕🍕"}
        assert await ai_replies(sam) == [(message["id"], message["content"], True)]
        # The events belong to the asking socket (contract §4.4): the other tab sees none of them.
        await other_tab.events.assert_not_received("ai-friend:stream-start", within=0.3)
        # The history route shows both sides of the conversation.
        async with httpx.AsyncClient(base_url=server.base_url, headers={"Cookie": sam.cookie_header}) as http:
            response = await http.get("/api/messages/kirhost")
        assert response.status_code == 200
        assert [m["id"] for m in response.json()][-2:] == [ack["id"], message["id"]]
    finally:
        await tab.disconnect()
        await other_tab.disconnect()


async def test_ai_friend_below_threshold_text_for_a_new_user(server: Any) -> None:
    newbie = await amake_user(name="Newbie")
    tab = await connect(server, newbie)
    try:
        await tab.emit("ai-friend:message", {"content": "hi there"})
        await tab.events.wait_for("ai-friend:stream-end", timeout=10)
        message = assert_friend_sequence(tab, newbie)
        chunks = [payload for name, payload in ai_friend_events(tab) if name == "ai-friend:stream-chunk"]
        assert chunks == [{"chunk": LEARNING, "fullResponse": LEARNING, "index": 0}]
        assert message["content"] == LEARNING
        async with httpx.AsyncClient(base_url=server.base_url, headers={"Cookie": newbie.cookie_header}) as http:
            profile = await http.get("/api/ai-friend/profile")
        assert profile.status_code == 200
        assert profile.json()["messageCount"] == 1
        assert profile.json()["hasMinimumData"] is False
    finally:
        await tab.disconnect()


async def test_ai_friend_invalid_content_gets_the_error_event(server: Any) -> None:
    sam = await amake_user(name="Sam")
    tab = await connect(server, sam)
    try:
        ack = await tab.call("ai-friend:message", {"content": "   "})
        assert ack == {"error": {"code": "bad_request", "message": "content should not be empty"}}
        (error,) = await tab.events.wait_for("ai-friend:error")
        assert error == {"error": "content should not be empty"}
        await tab.events.assert_not_received("ai-friend:stream-start", within=0.2)
    finally:
        await tab.disconnect()


async def _group(server: Any, admin: TestUser, members: list[TestUser]) -> str:
    async with httpx.AsyncClient(base_url=server.base_url, headers={"Cookie": admin.cookie_header}) as http:
        response = await http.post("/api/groups", json={"name": "Ship crew", "memberIds": [m.id for m in members]})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_group_mention_streams_to_two_watching_members(server: Any) -> None:
    alice, bob, carol = await amake_user(name="Alice"), await amake_user(name="Bob"), await amake_user(name="Carol")
    gid = await _group(server, alice, [bob, carol])
    await group_history(gid, [alice, bob, carol], 21)
    alice_tab, bob_tab, carol_tab = (
        await connect(server, alice),
        await connect(server, bob),
        await connect(server, carol),
    )
    try:
        ack = await alice_tab.call("group:ai:mention", {"groupId": gid, "content": "@ai what do we do?"})
        assert ack["groupId"] == gid
        assert ack["messageId"].startswith("temp-")
        finals = []
        for tab in (bob_tab, carol_tab, alice_tab):
            (end,) = await tab.events.wait_for("group:ai:stream-end", timeout=15)
            names = [n for n, _ in tab.events.received if n.startswith("group:ai:")]
            assert names[0] == "group:ai:stream-start"
            assert names[-1] == "group:ai:stream-end"
            assert set(names[1:-1]) == {"group:ai:stream-chunk"}
            assert len(names) >= 4
            (start,) = tab.events.matching("group:ai:stream-start")[0]
            assert start == {"groupId": gid, "messageId": ack["messageId"]}
            chunks = [args[0] for args in tab.events.matching("group:ai:stream-chunk")]
            assert [c["index"] for c in chunks] == list(range(len(chunks)))
            assert all(c["groupId"] == gid for c in chunks)
            assert end["groupId"] == gid
            assert end["message"]["content"] == chunks[-1]["fullResponse"]
            finals.append(end["message"])
        message = finals[0]
        assert finals == [message] * 3
        assert message["fromUserId"] == f"group-ai-{gid}"
        assert message["isAIGenerated"] is True
        assert message["groupId"] == gid
        # Stored once, as a group message of the group AI; the history shows it.
        async with httpx.AsyncClient(base_url=server.base_url, headers={"Cookie": bob.cookie_header}) as http:
            page = (await http.get(f"/api/groups/{gid}/messages")).json()
            profile = (await http.get(f"/api/groups/{gid}/ai/profile")).json()
        assert [m["id"] for m in page if m["isAIGenerated"]] == [message["id"]]
        assert profile["commonPhrases"]  # the group profile really got built
    finally:
        for tab in (alice_tab, bob_tab, carol_tab):
            await tab.disconnect()


async def test_group_ai_disabled_answers_with_an_error_carrying_the_group_id(server: Any) -> None:
    alice, bob, carol = await amake_user(name="Alice"), await amake_user(name="Bob"), await amake_user(name="Carol")
    gid = await _group(server, alice, [bob, carol])
    await group_history(gid, [alice, bob, carol], 25)
    async with httpx.AsyncClient(base_url=server.base_url, headers={"Cookie": alice.cookie_header}) as http:
        toggled = await http.patch(f"/api/groups/{gid}/ai/toggle", json={"aiEnabled": False})
    assert toggled.status_code == 200
    assert toggled.json()["aiEnabled"] is False
    bob_tab, carol_tab = await connect(server, bob), await connect(server, carol)
    try:
        await bob_tab.emit("group:ai:mention", {"groupId": gid, "content": "@ai hello?"})
        (error,) = await bob_tab.events.wait_for("group:ai:error")
        assert error == {"groupId": gid, "error": "The group AI is turned off in this group"}
        await bob_tab.events.assert_not_received("group:ai:stream-start", within=0.3)
        await carol_tab.events.assert_not_received("group:ai:stream-start", within=0.1)
        await carol_tab.events.assert_not_received("group:ai:error", within=0.1)
    finally:
        await bob_tab.disconnect()
        await carol_tab.disconnect()
