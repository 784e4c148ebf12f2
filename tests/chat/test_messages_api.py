"""Direct-message REST (contract §3.5): history with limit and cursors, unread count, read marking."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chat.models import DirectMessage
from chat.selectors import messages as selectors
from chat.services.ai_users import ensure_ai_friend
from tests.chat.dm_factories import befriend, client_for, make_user

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 11, 8, 10, 30, 0, 123456, tzinfo=UTC)


def msg(a: Any, b: Any, n: int, *, at: datetime | None = None, **extra: Any) -> DirectMessage:
    return DirectMessage.objects.create(
        from_user=a, to_user=b, content=f"m{n}", timestamp=at or T0 + timedelta(seconds=n), **extra
    )


@pytest.fixture
def chat() -> tuple[Any, Any, list[DirectMessage]]:
    """alice and bob with 120 messages alternating direction, m0 oldest."""
    alice, bob = make_user("alice"), make_user("bob")
    befriend(alice, bob)
    rows = [msg(alice, bob, n) if n % 2 == 0 else msg(bob, alice, n) for n in range(120)]
    return alice, bob, rows


def contents(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [m["content"] for m in response.json()]


def test_history_default_is_newest_50_oldest_first_with_exact_shape(chat: Any) -> None:
    alice, bob, rows = chat
    response = client_for(alice).get(f"/api/messages/{bob.id}")
    assert contents(response) == [f"m{n}" for n in range(70, 120)]
    first = response.json()[0]
    assert first == {
        "id": str(rows[70].id),
        "fromUserId": alice.id,
        "toUserId": bob.id,
        "content": "m70",
        "timestamp": "2025-11-08T10:31:10.123Z",
        "isRead": False,
        "isAIGenerated": False,
    }


@pytest.mark.parametrize(("limit", "count"), [("10", 10), ("0", 1), ("-4", 1), ("1", 1), ("100", 100), ("500", 100)])
def test_limit_is_clamped(chat: Any, limit: str, count: int) -> None:
    alice, bob, _ = chat
    got = contents(client_for(alice).get(f"/api/messages/{bob.id}", {"limit": limit}))
    assert got == [f"m{n}" for n in range(120 - count, 120)]


@pytest.mark.parametrize("limit", ["abc", "1.5", "10x", "1e3"])
def test_non_numeric_limit_is_400(chat: Any, limit: str) -> None:
    alice, bob, _ = chat
    response = client_for(alice).get(f"/api/messages/{bob.id}", {"limit": limit})
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "message": "limit must be an integer number", "error": "Bad Request"}


def test_before_and_after_cursors_page_through_everything_once(chat: Any) -> None:
    alice, bob, rows = chat
    client = client_for(alice)
    older = contents(client.get(f"/api/messages/{bob.id}", {"limit": "20", "before": str(rows[70].id)}))
    assert older == [f"m{n}" for n in range(50, 70)]
    newer = contents(client.get(f"/api/messages/{bob.id}", {"limit": "20", "after": str(rows[70].id)}))
    assert newer == [f"m{n}" for n in range(71, 91)]
    # Catching up from the last message seen walks forward until a short page.
    seen: list[str] = []
    cursor = str(rows[9].id)
    while True:
        page = client.get(f"/api/messages/{bob.id}", {"limit": "50", "after": cursor}).json()
        seen += [m["content"] for m in page]
        if len(page) < 50:
            break
        cursor = page[-1]["id"]
    assert seen == [f"m{n}" for n in range(10, 120)]
    assert contents(client.get(f"/api/messages/{bob.id}", {"after": str(rows[119].id)})) == []


def test_identical_timestamps_are_ordered_by_id_and_cursors_do_not_skip_or_repeat() -> None:
    alice, bob = make_user("alice"), make_user("bob")
    same = [msg(alice, bob, n, at=T0) for n in range(6)]
    by_id = sorted(same, key=lambda m: m.id)
    client = client_for(alice)
    all_ids = [m["id"] for m in client.get(f"/api/messages/{bob.id}").json()]
    assert all_ids == [str(m.id) for m in by_id]
    after = [m["id"] for m in client.get(f"/api/messages/{bob.id}", {"after": str(by_id[2].id)}).json()]
    assert after == [str(m.id) for m in by_id[3:]]
    before = [m["id"] for m in client.get(f"/api/messages/{bob.id}", {"before": str(by_id[2].id)}).json()]
    assert before == [str(m.id) for m in by_id[:2]]


def test_cursor_outside_the_conversation_is_404_like_a_missing_one(chat: Any) -> None:
    alice, bob, _ = chat
    carol, dave = make_user("carol"), make_user("dave")
    foreign = msg(carol, dave, 1)
    mine_with_carol = msg(alice, carol, 2)
    client = client_for(alice)
    for cursor in (str(foreign.id), str(mine_with_carol.id), str(uuid.uuid4()), "garbage"):
        for key in ("before", "after"):
            response = client.get(f"/api/messages/{bob.id}", {key: cursor})
            assert response.status_code == 404
            assert response.json()["message"] == f"Message with ID {cursor} not found"


def test_both_cursors_at_once_is_400(chat: Any) -> None:
    alice, bob, rows = chat
    response = client_for(alice).get(f"/api/messages/{bob.id}", {"before": str(rows[5].id), "after": str(rows[1].id)})
    assert (response.status_code, response.json()["message"]) == (400, "Use either before or after, not both")


def test_history_only_ever_returns_my_conversations() -> None:
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    msg(bob, carol, 1)
    assert contents(client_for(alice).get(f"/api/messages/{carol.id}")) == []
    assert contents(client_for(alice).get("/api/messages/nobody")) == []


def test_ai_friend_history_is_reachable_as_kirhost() -> None:
    alice = make_user("alice")
    kirhost = ensure_ai_friend()
    msg(alice, kirhost, 1)
    msg(kirhost, alice, 2, is_ai_generated=True)
    body = client_for(alice).get("/api/messages/kirhost").json()
    assert [(m["fromUserId"], m["isAIGenerated"]) for m in body] == [(alice.id, False), ("kirhost", True)]


def test_history_page_query_counts(chat: Any, django_assert_num_queries: Any) -> None:
    alice, bob, rows = chat
    with django_assert_num_queries(1):
        assert len(selectors.conversation_page(user_id=alice.id, other_id=bob.id, limit=50)) == 50
    with django_assert_num_queries(2):  # the cursor, then the page
        page = selectors.conversation_page(user_id=alice.id, other_id=bob.id, limit=50, before=str(rows[60].id))
    assert [m.content for m in page] == [f"m{n}" for n in range(10, 60)]


def test_unread_count_route_wins_and_counts_only_unread_to_me(chat: Any) -> None:
    alice, _bob, rows = chat
    DirectMessage.objects.filter(pk__in=[rows[1].pk, rows[3].pk]).update(is_read=True)
    response = client_for(alice).get("/api/messages/unread")
    assert response.status_code == 200
    assert response.json() == {"count": 58}  # 60 from bob, 2 read


def test_mark_read_recipient_only_201_empty(chat: Any) -> None:
    alice, bob, rows = chat
    to_alice = rows[1]
    carol = make_user("carol")
    for who in (bob, carol):  # the sender and a stranger: the message does not exist for them
        response = client_for(who).post(f"/api/messages/read/{to_alice.id}", "", content_type="application/json")
        assert response.status_code == 404
        assert response.json()["message"] == f"Message with ID {to_alice.id} not found"
    assert DirectMessage.objects.get(pk=to_alice.pk).is_read is False

    response = client_for(alice).post(f"/api/messages/read/{to_alice.id}", "", content_type="application/json")
    assert response.status_code == 201
    assert response.content == b""
    assert "Content-Type" not in response.headers
    assert DirectMessage.objects.get(pk=to_alice.pk).is_read is True
    for bad in ("garbage", str(uuid.uuid4())):
        r = client_for(alice).post(f"/api/messages/read/{bad}", "", content_type="application/json")
        assert (r.status_code, r.json()["message"]) == (404, f"Message with ID {bad} not found")
