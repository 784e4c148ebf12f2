"""Socket flows: ``ai-friend:message`` and ``group:ai:mention`` — exact events, recipients and rows."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aifriend import conf, handlers
from aifriend.models import StyleProfile
from chat.models import DirectMessage, User
from groups.models import Group, GroupMessage, GroupStyleProfile
from retrochat.errors import Conflict, Forbidden, RateLimited
from retrochat.realtime.router import events
from tests.aifriend.conftest import (
    SAM_SAYS,
    FakeSocket,
    in_db_thread,
    make_person,
    new_group,
    say_direct,
    say_group,
)
from tests.aifriend.fake_openai import FakeOpenAI, Hang, Status, Stream
from tests.recording_layer import RecordingLayer

pytestmark = pytest.mark.django_db(transaction=True)


@in_db_thread
def person(username: str, display: str | None = None) -> User:
    return make_person(username, display)


@in_db_thread
def chatty_person(username: str = "sam") -> User:
    """Someone with 12 messages to a friend: enough for the AI friend to imitate them."""
    user = make_person(username)
    say_direct(user, make_person("pal"), SAM_SAYS)
    return user


@in_db_thread
def rows(user_id: str) -> tuple[list[DirectMessage], list[DirectMessage]]:
    """(prompts to kirhost, replies from kirhost) of the user, oldest first."""
    prompts = list(DirectMessage.objects.filter(from_user_id=user_id, to_user_id="kirhost").order_by("timestamp"))
    replies = list(DirectMessage.objects.filter(from_user_id="kirhost", to_user_id=user_id).order_by("timestamp"))
    return prompts, replies


def assert_stream(sock: FakeSocket, *, chunks_at_least: int = 1) -> dict[str, Any]:
    """The exact AI friend event sequence; returns the stored reply message."""
    names = sock.events()
    assert names[0] == "ai-friend:user-message-sent"
    assert names[1] == "ai-friend:stream-start"
    assert names[-1] == "ai-friend:stream-end"
    middle = names[2:-1]
    assert middle == ["ai-friend:stream-chunk"] * len(middle)
    assert len(middle) >= chunks_at_least
    sent = sock.named("ai-friend:user-message-sent")[0]
    assert sock.named("ai-friend:stream-start") == [{"messageId": sent["id"]}]
    full = ""
    for index, chunk in enumerate(sock.named("ai-friend:stream-chunk")):
        assert list(chunk) == ["chunk", "fullResponse", "index"]
        full += chunk["chunk"]
        assert chunk == {"chunk": chunk["chunk"], "fullResponse": full, "index": index}
    end = sock.named("ai-friend:stream-end")[0]
    assert list(end) == ["message"]
    message: dict[str, Any] = end["message"]
    assert message["fromUserId"] == "kirhost"
    assert message["toUserId"] == sent["fromUserId"]
    assert message["isAIGenerated"] is True
    assert message["isRead"] is False
    assert message["content"] == full
    return message


# --- the AI friend ----------------------------------------------------------------------------


def test_handlers_are_registered_with_their_error_events() -> None:
    friend = events.lookup("ai-friend:message")
    group = events.lookup("group:ai:mention")
    assert friend is not None
    assert friend.error_event == "ai-friend:error"
    assert friend.failure_message == "Failed to generate AI response"
    # group:ai:error must carry groupId, so the handler sends it itself.
    assert group is not None
    assert group.error_event is None


async def test_full_sequence_with_the_local_provider() -> None:
    sam = await chatty_person()
    sock = FakeSocket(user_id=sam.id)
    ack = await handlers.ai_friend_message(sock, {"content": "  what should we eat tonight?  "})
    await sock.settle()
    sent = sock.named("ai-friend:user-message-sent")[0]
    assert ack == sent
    assert list(sent) == ["id", "fromUserId", "toUserId", "content", "timestamp", "isRead", "isAIGenerated"]
    assert sent["fromUserId"] == sam.id
    assert sent["toUserId"] == "kirhost"
    assert sent["content"] == "what should we eat tonight?"
    assert sent["isAIGenerated"] is False
    message = assert_stream(sock, chunks_at_least=2)
    assert message["content"] not in (conf.FRIEND_LEARNING_TEXT, conf.FAILURE_TEXT)
    prompts, replies = await rows(sam.id)
    assert [p.content for p in prompts] == ["what should we eat tonight?"]
    assert [(str(r.id), r.content, r.is_ai_generated) for r in replies] == [(message["id"], message["content"], True)]
    # The reply is written in Sam's words.
    vocabulary = {w for text in [*SAM_SAYS, "what should we eat tonight?"] for w in text.split()}
    assert set(message["content"].split()) <= vocabulary | {"🍕", "🍕🍕"}


async def test_a_new_user_gets_the_still_learning_text_as_one_chunk() -> None:
    newbie = await person("newbie")
    sock = FakeSocket(user_id=newbie.id)
    await handlers.ai_friend_message(sock, {"content": "hi kirhost"})
    await sock.settle()
    message = assert_stream(sock)
    assert sock.named("ai-friend:stream-chunk") == [
        {"chunk": conf.FRIEND_LEARNING_TEXT, "fullResponse": conf.FRIEND_LEARNING_TEXT, "index": 0}
    ]
    assert message["content"] == conf.FRIEND_LEARNING_TEXT
    profile = await in_db_thread(StyleProfile.objects.get)(user_id=newbie.id)
    assert profile.message_count == 1  # the first message created the profile


async def test_minimum_reached_without_a_prompt_gives_the_still_analyzing_text() -> None:
    sam = await chatty_person()
    await in_db_thread(StyleProfile.objects.create)(user_id=sam.id, message_count=12, style_prompt="")
    sock = FakeSocket(user_id=sam.id)
    await handlers.ai_friend_message(sock, {"content": "hello?"})
    await sock.settle()
    assert assert_stream(sock)["content"] == conf.FRIEND_ANALYZING_TEXT


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"content": "   "}, "content should not be empty"),
        ({"content": "x" * 2001}, "content must be shorter than or equal to 2000 characters"),
        ({"content": 42}, "content must be a string"),
        ({}, "content must be a string"),
        (None, "content must be a string"),
    ],
)
async def test_invalid_content_is_refused_before_anything_is_stored(payload: Any, message: str) -> None:
    sam = await person("sam")
    sock = FakeSocket(user_id=sam.id)
    with pytest.raises(Exception, match=message) as refused:
        await handlers.ai_friend_message(sock, payload)
    assert refused.value.message == message  # type: ignore[attr-defined]
    assert sock.emitted == []
    assert sock.tasks == []
    assert await rows(sam.id) == ([], [])


async def test_content_of_exactly_2000_characters_is_accepted() -> None:
    sam = await person("sam")
    sock = FakeSocket(user_id=sam.id)
    await handlers.ai_friend_message(sock, {"content": "y" * 2000})
    await sock.settle()
    prompts, replies = await rows(sam.id)
    assert len(prompts[0].content) == 2000
    assert len(replies) == 1


async def test_a_second_prompt_while_streaming_is_refused(fake_openai: FakeOpenAI) -> None:
    sam = await chatty_person()
    fake_openai.script(Stream(["one", " two", " three", " four"], delay=0.15))
    first, second = FakeSocket(user_id=sam.id, sid="tab-1"), FakeSocket(user_id=sam.id, sid="tab-2")
    await handlers.ai_friend_message(first, {"content": "first"})
    with pytest.raises(Conflict, match=conf.REPLY_IN_PROGRESS):
        await handlers.ai_friend_message(second, {"content": "second"})
    assert second.emitted == []
    await first.settle()
    assert assert_stream(first)["content"] == "one two three four"
    prompts, replies = await rows(sam.id)
    assert [p.content for p in prompts] == ["first"]
    assert len(replies) == 1
    # Once the reply is done, the next prompt is welcome (from any tab).
    fake_openai.script(Stream(["ok"]))
    await handlers.ai_friend_message(second, {"content": "second"})
    await second.settle()
    assert assert_stream(second)["content"] == "ok"


async def test_ai_calls_are_rate_limited_per_user(settings: Any) -> None:
    settings.AI_RATE_LIMIT_PER_MINUTE = 2
    sam, kim = await person("sam"), await person("kim")
    sock = FakeSocket(user_id=sam.id)
    for text in ("one", "two"):
        await handlers.ai_friend_message(sock, {"content": text})
        await sock.settle()
    with pytest.raises(RateLimited, match="too fast"):
        await handlers.ai_friend_message(sock, {"content": "three"})
    prompts, replies = await rows(sam.id)
    assert [p.content for p in prompts] == ["one", "two"]
    assert len(replies) == 2
    # Another user has their own budget.
    other = FakeSocket(user_id=kim.id)
    await handlers.ai_friend_message(other, {"content": "hi"})
    await other.settle()
    assert other.events()[-1] == "ai-friend:stream-end"


# --- the AI friend with the OpenAI-compatible provider -----------------------------------


async def _profile_prompt(user_id: str) -> str:
    profile = await in_db_thread(StyleProfile.objects.get)(user_id=user_id)
    assert profile.style_prompt
    return profile.style_prompt


async def test_openai_normal_stream(fake_openai: FakeOpenAI) -> None:
    sam = await chatty_person()
    fake_openai.script(Stream(["Hey", " there", "!"]))
    sock = FakeSocket(user_id=sam.id)
    await handlers.ai_friend_message(sock, {"content": "yo"})
    await sock.settle()
    message = assert_stream(sock)
    assert [c["chunk"] for c in sock.named("ai-friend:stream-chunk")] == ["Hey", " there", "!"]
    assert message["content"] == "Hey there!"
    assert fake_openai.requests[0].body["messages"] == [
        {"role": "system", "content": await _profile_prompt(sam.id)},
        {"role": "user", "content": "yo"},
    ]
    _prompts, replies = await rows(sam.id)
    assert [r.content for r in replies] == ["Hey there!"]


async def test_openai_slow_stream_forwards_chunks_as_they_come(fake_openai: FakeOpenAI) -> None:
    sam = await chatty_person()
    fake_openai.script(Stream(["a", "b", "c", "d"], delay=0.1))
    sock = FakeSocket(user_id=sam.id)
    await handlers.ai_friend_message(sock, {"content": "yo"})
    for _ in range(200):
        if len(sock.named("ai-friend:stream-chunk")) >= 2:
            break
        await asyncio.sleep(0.01)
    assert "ai-friend:stream-end" not in sock.events()  # chunks are out before the reply is complete
    await sock.settle()
    assert assert_stream(sock)["content"] == "abcd"


async def test_openai_rate_limited_then_success(fake_openai: FakeOpenAI) -> None:
    sam = await chatty_person()
    fake_openai.script(Status(429, retry_after=0), Stream(["second", " time"]))
    sock = FakeSocket(user_id=sam.id)
    await handlers.ai_friend_message(sock, {"content": "yo"})
    await sock.settle()
    assert assert_stream(sock)["content"] == "second time"
    assert len(fake_openai.requests) == 2


@pytest.mark.parametrize("behaviour", [Status(500), Hang(30)], ids=["server-error", "timeout"])
async def test_openai_failure_gives_the_oops_text_once(fake_openai: FakeOpenAI, behaviour: Any) -> None:
    sam = await chatty_person()
    fake_openai.script(behaviour)
    sock = FakeSocket(user_id=sam.id)
    await handlers.ai_friend_message(sock, {"content": "yo"})
    await sock.settle()
    message = assert_stream(sock)
    assert sock.named("ai-friend:stream-chunk") == [
        {"chunk": conf.FAILURE_TEXT, "fullResponse": conf.FAILURE_TEXT, "index": 0}
    ]
    assert message["content"] == conf.FAILURE_TEXT
    assert len(fake_openai.requests) == 3  # the first try and two retries
    _prompts, replies = await rows(sam.id)
    assert [r.content for r in replies] == [conf.FAILURE_TEXT]


async def test_openai_empty_answer_gives_the_sorry_text(fake_openai: FakeOpenAI) -> None:
    sam = await chatty_person()
    fake_openai.script(Stream([]))
    sock = FakeSocket(user_id=sam.id)
    await handlers.ai_friend_message(sock, {"content": "yo"})
    await sock.settle()
    assert assert_stream(sock)["content"] == conf.EMPTY_REPLY_TEXT


async def test_openai_server_drops_mid_stream_the_streamed_part_is_the_reply(fake_openai: FakeOpenAI) -> None:
    sam = await chatty_person()
    fake_openai.script(Stream(["Hel", "lo", " there", " friend"], drop_after=2))
    sock = FakeSocket(user_id=sam.id)
    await handlers.ai_friend_message(sock, {"content": "yo"})
    await sock.settle()
    assert assert_stream(sock)["content"] == "Hello"
    _prompts, replies = await rows(sam.id)
    assert [r.content for r in replies] == ["Hello"]


async def test_client_disconnect_mid_stream_cancels_and_stores_nothing(fake_openai: FakeOpenAI) -> None:
    sam = await chatty_person()
    fake_openai.script(Stream([f" w{i}" for i in range(40)], delay=0.05))
    before = asyncio.all_tasks()
    sock = FakeSocket(user_id=sam.id)
    await handlers.ai_friend_message(sock, {"content": "yo"})
    for _ in range(300):
        if len(sock.named("ai-friend:stream-chunk")) >= 2:
            break
        await asyncio.sleep(0.01)
    await sock.disconnect()
    assert all(task.done() for task in sock.tasks)
    assert "ai-friend:stream-end" not in sock.events()
    assert "ai-friend:error" not in sock.events()
    prompts, replies = await rows(sam.id)
    assert [p.content for p in prompts] == ["yo"]
    assert replies == []  # the partial reply is discarded, never half-saved
    assert await asyncio.to_thread(fake_openai.client_gone.wait, 5)  # the HTTP request was closed
    assert fake_openai.completed == 0
    await asyncio.sleep(0)
    assert asyncio.all_tasks() - before == set()
    # The reply slot was released: a new connection can talk to the AI friend at once.
    fake_openai.script(Stream(["back"]))
    again = FakeSocket(user_id=sam.id, sid="sid-2")
    await handlers.ai_friend_message(again, {"content": "back?"})
    await again.settle()
    assert assert_stream(again)["content"] == "back"


# --- the group AI -----------------------------------------------------------------------------


@in_db_thread
def crew(*, messages: int = 0, ai_enabled: bool = True) -> tuple[Group, list[User]]:
    alice, bob, carol = make_person("alice", "Alice"), make_person("bob", "Bob"), make_person("carol", "Carol")
    group = new_group(alice, [bob, carol], ai_enabled=ai_enabled)
    lines = [(alice, "lets ship it today 🚀"), (bob, "lol ok lets ship it"), (carol, "sounds great team!")]
    say_group(group, [lines[i % 3] for i in range(messages)])
    return group, [alice, bob, carol]


@in_db_thread
def ai_messages(group: Group) -> list[GroupMessage]:
    return list(GroupMessage.objects.filter(group=group, is_ai_generated=True))


def assert_group_stream(layer: RecordingLayer, group: Group, recipients: list[str]) -> dict[str, Any]:
    names = [p.event for p in layer.sent]
    assert names[0] == "group:ai:stream-start"
    assert names[-1] == "group:ai:stream-end"
    assert names[1:-1] == ["group:ai:stream-chunk"] * (len(names) - 2)
    assert all(p.users == recipients for p in layer.sent)  # one publish per event, to every member
    start = layer.named("group:ai:stream-start")[0].payload
    assert list(start) == ["groupId", "messageId"]
    assert start["groupId"] == str(group.id)
    assert start["messageId"].startswith("temp-")
    full = ""
    for index, published in enumerate(layer.named("group:ai:stream-chunk")):
        full += published.payload["chunk"]
        assert published.payload == {
            "groupId": str(group.id),
            "chunk": published.payload["chunk"],
            "fullResponse": full,
            "index": index,
        }
    end = layer.named("group:ai:stream-end")[0].payload
    assert list(end) == ["groupId", "message"]
    assert end["groupId"] == str(group.id)
    message: dict[str, Any] = end["message"]
    assert message["fromUserId"] == f"group-ai-{group.id}"
    assert message["groupId"] == str(group.id)
    assert message["isAIGenerated"] is True
    assert message["content"] == full
    assert message["fromUser"]["displayName"] == "🤖 Group AI"
    return message


async def test_group_mention_streams_to_every_member(layer: RecordingLayer) -> None:
    group, (alice, bob, carol) = await crew(messages=21)
    sock = FakeSocket(user_id=bob.id)
    ack = await handlers.group_ai_mention(sock, {"groupId": str(group.id), "content": "@ai what now?"})
    await sock.settle()
    assert sock.emitted == []  # everything went to the members' rooms
    message = assert_group_stream(layer, group, [alice.id, bob.id, carol.id])
    assert ack == {"groupId": str(group.id), "messageId": layer.named("group:ai:stream-start")[0].payload["messageId"]}
    assert len(layer.named("group:ai:stream-chunk")) >= 2
    stored = await ai_messages(group)
    assert [(str(m.id), m.content, m.from_user_id) for m in stored] == [
        (message["id"], message["content"], f"group-ai-{group.id}")
    ]
    # The awaited profile check built the group profile before answering.
    profile = await in_db_thread(GroupStyleProfile.objects.get)(group=group)
    assert profile.message_count == 21
    assert profile.style_prompt


async def test_group_below_twenty_messages_gets_the_still_learning_text(layer: RecordingLayer) -> None:
    group, (alice, bob, carol) = await crew(messages=5)
    sock = FakeSocket(user_id=alice.id)
    await handlers.group_ai_mention(sock, {"groupId": str(group.id), "content": "@ai hi"})
    await sock.settle()
    message = assert_group_stream(layer, group, [alice.id, bob.id, carol.id])
    assert [p.payload["chunk"] for p in layer.named("group:ai:stream-chunk")] == [conf.GROUP_LEARNING_TEXT]
    assert message["content"] == conf.GROUP_LEARNING_TEXT


async def test_group_ai_disabled_is_refused_with_the_group_id(layer: RecordingLayer) -> None:
    group, (alice, _bob, _carol) = await crew(messages=25, ai_enabled=False)
    sock = FakeSocket(user_id=alice.id)
    with pytest.raises(Forbidden, match=conf.GROUP_AI_DISABLED):
        await handlers.group_ai_mention(sock, {"groupId": str(group.id), "content": "@ai hi"})
    assert sock.emitted == [("group:ai:error", {"groupId": str(group.id), "error": conf.GROUP_AI_DISABLED})]
    assert layer.sent == []
    assert sock.tasks == []
    assert await ai_messages(group) == []


async def test_group_non_member_is_refused_with_the_group_id(layer: RecordingLayer) -> None:
    group, _members = await crew(messages=25)
    stranger = await person("stranger")
    sock = FakeSocket(user_id=stranger.id)
    with pytest.raises(Forbidden, match="You are not a member of this group"):
        await handlers.group_ai_mention(sock, {"groupId": str(group.id), "content": "@ai hi"})
    assert sock.emitted == [
        ("group:ai:error", {"groupId": str(group.id), "error": "You are not a member of this group"})
    ]
    for bad in ("not-a-uuid", 42):
        sock.emitted.clear()
        with pytest.raises(Forbidden):
            await handlers.group_ai_mention(sock, {"groupId": bad, "content": "@ai hi"})
        assert sock.emitted == [
            ("group:ai:error", {"groupId": bad if isinstance(bad, str) else "", "error": conf.NOT_A_MEMBER})
        ]
    assert layer.sent == []


async def test_one_group_stream_at_a_time(layer: RecordingLayer, fake_openai: FakeOpenAI) -> None:
    group, (alice, bob, carol) = await crew(messages=21)
    fake_openai.script(Stream(["we", " ship", " it"], delay=0.15))
    first, second = FakeSocket(user_id=alice.id), FakeSocket(user_id=bob.id, sid="sid-b")
    await handlers.group_ai_mention(first, {"groupId": str(group.id), "content": "@ai go"})
    with pytest.raises(Conflict):
        await handlers.group_ai_mention(second, {"groupId": str(group.id), "content": "@ai me too"})
    assert second.emitted == [("group:ai:error", {"groupId": str(group.id), "error": conf.GROUP_REPLY_IN_PROGRESS})]
    await first.settle()
    assert assert_group_stream(layer, group, [alice.id, bob.id, carol.id])["content"] == "we ship it"
    assert len(await ai_messages(group)) == 1


async def test_group_asker_disconnect_cancels_and_tells_the_others(
    layer: RecordingLayer, fake_openai: FakeOpenAI
) -> None:
    group, (alice, bob, carol) = await crew(messages=21)
    fake_openai.script(Stream([f" w{i}" for i in range(40)], delay=0.05))
    sock = FakeSocket(user_id=alice.id)
    await handlers.group_ai_mention(sock, {"groupId": str(group.id), "content": "@ai go"})
    for _ in range(300):
        if len(layer.named("group:ai:stream-chunk")) >= 2:
            break
        await asyncio.sleep(0.01)
    await sock.disconnect()
    assert layer.named("group:ai:stream-end") == []
    errors = layer.named("group:ai:error")
    assert [(e.payload, e.users) for e in errors] == [
        ({"groupId": str(group.id), "error": conf.GENERATION_FAILED}, [bob.id, carol.id])
    ]
    assert await ai_messages(group) == []
    assert await asyncio.to_thread(fake_openai.client_gone.wait, 5)


class ClosingSocket(FakeSocket):
    """A socket that is already going away: `spawn` refuses, like the engine's."""

    def spawn(self, coro: Any, *, name: str) -> None:  # type: ignore[override]
        coro.close()


async def test_a_socket_going_away_before_the_reply_starts_frees_the_reply_slot() -> None:
    sam = await person("sam")
    await handlers.ai_friend_message(ClosingSocket(user_id=sam.id), {"content": "hello?"})
    sock = FakeSocket(user_id=sam.id, sid="sid-2")
    await handlers.ai_friend_message(sock, {"content": "hello again"})
    await sock.settle()
    assert sock.events()[-1] == "ai-friend:stream-end"
    prompts, replies = await rows(sam.id)
    assert [p.content for p in prompts] == ["hello?", "hello again"]
    assert len(replies) == 1
