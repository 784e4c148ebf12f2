"""Group history pages (contract §3.7, §5.5, §8 item 24): ``before`` = message id or ISO date, ``after`` = catch-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from groups.models import Group, GroupMessage
from tests.groups.conftest import client_for, new_group

pytestmark = pytest.mark.django_db

BASE = datetime(2025, 11, 8, 10, 30, tzinfo=UTC)


def fill(group: Group, senders: list[Any], count: int) -> list[GroupMessage]:
    """``count`` messages; every three share one timestamp, so only the id breaks the tie."""
    rows = [
        GroupMessage(
            group=group,
            from_user=senders[i % len(senders)],
            content=f"message {i}",
            timestamp=BASE + timedelta(milliseconds=i // 3),
        )
        for i in range(count)
    ]
    GroupMessage.objects.bulk_create(rows)
    return sorted(rows, key=lambda m: (m.timestamp, m.id))


@pytest.fixture
def history(people: list[Any]) -> tuple[Group, list[GroupMessage], Any]:
    alice, bob, carol, _ = people
    group = new_group(alice, [bob, carol])
    return group, fill(group, [alice, bob, carol], 120), client_for(alice)


def page(client: Any, group: Group, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/api/groups/{group.id}/messages{query}")
    assert response.status_code == 200, response.content
    body: list[dict[str, Any]] = response.json()
    return body


def test_scrolling_up_with_before_id_returns_every_message_exactly_once(history) -> None:
    group, ordered, client = history
    seen: list[str] = []
    sizes: list[int] = []
    batch = page(client, group)
    while True:
        sizes.append(len(batch))
        seen[:0] = [m["id"] for m in batch]
        if len(batch) < 50:
            break
        batch = page(client, group, f"?limit=50&before={batch[0]['id']}")
    assert sizes == [50, 50, 20]
    assert seen == [str(m.id) for m in ordered]
    assert len(set(seen)) == 120


def test_a_page_is_the_newest_limit_returned_oldest_first(history) -> None:
    group, ordered, client = history
    body = page(client, group, "?limit=10")
    assert [m["id"] for m in body] == [str(m.id) for m in ordered[-10:]]
    assert body[0]["timestamp"] <= body[-1]["timestamp"]


def test_before_iso_date_returns_messages_strictly_older(history) -> None:
    group, ordered, client = history
    cut = BASE + timedelta(milliseconds=10)  # messages 30.. have timestamps >= cut
    for text in (
        cut.isoformat().replace("+00:00", "Z"),
        cut.isoformat().replace("+", "%2B"),
        cut.isoformat(),  # "+" unencoded: arrives as a space
        cut.replace(tzinfo=None).isoformat(),
        (cut + timedelta(hours=2)).isoformat().replace("+00:00", "%2B02:00"),
    ):
        body = page(client, group, "?limit=100&before=" + text)
        assert [m["id"] for m in body] == [str(m.id) for m in ordered[:30]], text


def test_after_id_returns_the_following_messages_oldest_first(history) -> None:
    group, ordered, client = history
    body = page(client, group, f"?after={ordered[40].id}&limit=5")
    assert [m["id"] for m in body] == [str(m.id) for m in ordered[41:46]]
    body = page(client, group, f"?after={ordered[-1].id}")
    assert body == []


def test_after_and_before_together_bound_both_sides(history) -> None:
    group, ordered, client = history
    body = page(client, group, f"?after={ordered[10].id}&before={ordered[15].id}")
    assert [m["id"] for m in body] == [str(m.id) for m in ordered[11:15]]


@pytest.mark.parametrize(("limit", "expected"), [("0", 1), ("-3", 1), ("1", 1), ("100", 100), ("500", 100), ("", 50)])
def test_limit_is_clamped_to_1_100(history, limit: str, expected: int) -> None:
    group, _ordered, client = history
    assert len(page(client, group, f"?limit={limit}")) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=ten", "limit must be an integer"),
        ("before=yesterday", "before must be the id of a message in this group or an ISO 8601 date"),
        (
            "before=00000000-0000-4000-8000-000000000000",
            "before must be the id of a message in this group or an ISO 8601 date",
        ),
        ("after=soon", "after must be the id of a message in this group or an ISO 8601 date"),
    ],
)
def test_bad_cursor_or_limit_is_400(history, query: str, message: str) -> None:
    group, _ordered, client = history
    response = client.get(f"/api/groups/{group.id}/messages?{query}")
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "message": message, "error": "Bad Request"}


def test_a_message_id_of_another_group_is_not_a_cursor(history, people) -> None:
    group, _ordered, client = history
    alice, bob, _carol, dave = people
    other = new_group(alice, [bob, dave])
    (foreign,) = fill(other, [bob], 1)
    response = client.get(f"/api/groups/{group.id}/messages?before={foreign.id}")
    assert response.status_code == 400
