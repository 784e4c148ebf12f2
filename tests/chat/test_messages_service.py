"""message_send: validation, authorization, idempotency, persist-then-deliver events, query counts."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from chat.models import DirectMessage
from chat.schemas.messages import message_out
from chat.services.ai_users import ensure_ai_friend, ensure_group_ai_user
from chat.services.messages import message_send
from retrochat.errors import DomainError
from tests.chat.dm_factories import RecordingLayer, befriend, make_user, style_refresh_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def pair() -> tuple[Any, Any]:
    alice, bob = make_user("alice"), make_user("bob")
    befriend(alice, bob)
    return alice, bob


def refused(**kwargs: Any) -> tuple[int, str]:
    with pytest.raises(DomainError) as exc:
        message_send(**kwargs)
    return int(exc.value.status), exc.value.message


def test_send_stores_trimmed_message_and_delivers_after_commit_to_both_users(
    pair: tuple[Any, Any], layer: RecordingLayer, django_capture_on_commit_callbacks: Any
) -> None:
    alice, bob = pair
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = message_send(sender_id=alice.id, to_user_id=bob.id, content="  hello bob \n")
    assert layer.sent == []  # nothing leaves before the COMMIT
    assert result.created is True
    row = DirectMessage.objects.get()
    assert (row.from_user_id, row.to_user_id, row.content) == (alice.id, bob.id, "hello bob")
    assert (row.is_read, row.is_ai_generated, row.client_message_id) == (False, False, None)

    for callback in callbacks:
        callback()
    assert layer.events() == [("message:receive", [bob.id]), ("message:sent", [alice.id])]
    assert [p.group for p in layer.sent] == [f"rt.user.{bob.id}", f"rt.user.{alice.id}"]
    payload = layer.sent[0].payload
    assert payload == layer.sent[1].payload == message_out(row)
    assert payload == {
        "id": str(row.id),
        "fromUserId": alice.id,
        "toUserId": bob.id,
        "content": "hello bob",
        "timestamp": payload["timestamp"],
        "isRead": False,
        "isAIGenerated": False,
    }
    assert ISO_Z.match(payload["timestamp"])
    assert isinstance(payload["isRead"], bool)
    assert isinstance(payload["isAIGenerated"], bool)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", (400, "Message content cannot be empty")),
        (" \t\n ", (400, "Message content cannot be empty")),
        ("x" * 2001, (400, "Message content must be shorter than or equal to 2000 characters")),
        (5, (400, "content must be a string")),
    ],
)
def test_bad_content_is_refused_and_nothing_is_stored(
    pair: tuple[Any, Any],
    layer: RecordingLayer,
    django_capture_on_commit_callbacks: Any,
    style_refresh: list[str],
    content: Any,
    expected: Any,
) -> None:
    alice, bob = pair
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert refused(sender_id=alice.id, to_user_id=bob.id, content=content) == expected
    assert callbacks == []
    assert not DirectMessage.objects.exists()
    assert layer.sent == []
    assert style_refresh == []


def test_limits_are_inclusive_after_trimming(pair: tuple[Any, Any]) -> None:
    alice, bob = pair
    assert message_send(sender_id=alice.id, to_user_id=bob.id, content=" " + "x" * 2000 + " ").created
    assert message_send(sender_id=alice.id, to_user_id=bob.id, content="y").created
    assert sorted(len(m.content) for m in DirectMessage.objects.all()) == [1, 2000]


def test_non_friends_and_unknown_ids_get_the_same_refusal(layer: RecordingLayer) -> None:
    alice, stranger = make_user("alice"), make_user("stranger")
    expected = (403, "You can only send messages to your friends")
    assert refused(sender_id=alice.id, to_user_id=stranger.id, content="hi") == expected
    assert refused(sender_id=alice.id, to_user_id="no-such-user", content="hi") == expected
    assert refused(sender_id=alice.id, to_user_id=alice.id, content="hi") == expected
    assert not DirectMessage.objects.exists()


def test_ai_recipients_are_refused() -> None:
    alice = make_user("alice")
    ensure_ai_friend()
    group_ai = ensure_group_ai_user(uuid.uuid4())
    for target in ("kirhost", group_ai.id):
        assert refused(sender_id=alice.id, to_user_id=target, content="hi") == (
            400,
            "Cannot send direct messages to an AI user",
        )
    assert not DirectMessage.objects.exists()


def test_unfriending_stops_new_messages(pair: tuple[Any, Any]) -> None:
    from chat.services.friends import friendship_remove

    alice, bob = pair
    message_send(sender_id=alice.id, to_user_id=bob.id, content="before")
    friendship_remove(user_id=bob.id, friend_id=alice.id)
    assert refused(sender_id=alice.id, to_user_id=bob.id, content="after")[0] == 403
    assert DirectMessage.objects.count() == 1


def test_retried_client_message_id_returns_the_stored_message_and_is_not_delivered_again(
    pair: tuple[Any, Any], layer: RecordingLayer, django_capture_on_commit_callbacks: Any, style_refresh: list[str]
) -> None:
    alice, bob = pair
    with django_capture_on_commit_callbacks(execute=True):
        first = message_send(sender_id=alice.id, to_user_id=bob.id, content="once", client_message_id="c-1")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = message_send(sender_id=alice.id, to_user_id=bob.id, content="once", client_message_id="c-1")
    assert callbacks == []
    assert (first.created, again.created) == (True, False)
    assert style_refresh == [alice.id]  # the AI-friend style profile learns from the stored send only
    assert again.message.pk == first.message.pk
    assert DirectMessage.objects.count() == 1
    assert layer.events() == [("message:receive", [bob.id]), ("message:sent", [alice.id])]
    assert layer.sent[0].payload["clientMessageId"] == "c-1"
    assert message_out(again.message) == layer.sent[0].payload


def test_client_message_id_is_per_sender(pair: tuple[Any, Any]) -> None:
    alice, bob = pair
    message_send(sender_id=alice.id, to_user_id=bob.id, content="a", client_message_id="same")
    assert message_send(sender_id=bob.id, to_user_id=alice.id, content="b", client_message_id="same").created
    assert DirectMessage.objects.count() == 2


def test_client_message_id_reused_for_another_recipient_is_a_conflict(pair: tuple[Any, Any]) -> None:
    alice, bob = pair
    carol = make_user("carol")
    befriend(alice, carol)
    message_send(sender_id=alice.id, to_user_id=bob.id, content="a", client_message_id="k")
    assert refused(sender_id=alice.id, to_user_id=carol.id, content="a", client_message_id="k") == (
        409,
        "clientMessageId was already used for another message",
    )


def test_send_query_count(pair: tuple[Any, Any], django_assert_num_queries: Any) -> None:
    alice, bob = pair
    # friendship check, INSERT (inside the test's transaction: SAVEPOINT + RELEASE around it)
    with django_assert_num_queries(4):
        message_send(sender_id=alice.id, to_user_id=bob.id, content="hi")
    # + the clientMessageId lookup, and the insert's own savepoint
    with django_assert_num_queries(7):
        message_send(sender_id=alice.id, to_user_id=bob.id, content="hi", client_message_id="q")
    # a retry: the lookup only
    with django_assert_num_queries(1):
        message_send(sender_id=alice.id, to_user_id=bob.id, content="hi", client_message_id="q")
