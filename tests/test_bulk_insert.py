"""`retrochat.bulk.insert_new` (COPY on PostgreSQL, bulk_create elsewhere) stores exactly what the
ORM would, and `retrochat.ids.new_uuid4s` gives distinct version-4 ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from chat.models import DirectMessage, User
from groups.models import Group, GroupMessage
from retrochat.bulk import insert_new
from retrochat.ids import new_uuid4s

pytestmark = pytest.mark.django_db


def test_new_uuid4s_are_distinct_random_ids() -> None:
    ids = new_uuid4s(500)
    assert len(set(ids)) == 500
    assert {i.version for i in ids} == {4}
    assert {i.variant for i in ids} == {uuid.RFC_4122}
    assert new_uuid4s(0) == []


def test_inserted_rows_read_back_exactly() -> None:
    alice = User.objects.create(id="bulk-alice", email="alice@bulk.test", name="Alice")
    bob = User.objects.create(id="bulk-bob", email="bob@bulk.test", name="Bob")
    group = Group.objects.create(name="Bulk", created_by=alice)
    when = datetime(2026, 12, 6, 13, 0, 37, 961000, tzinfo=UTC)
    ids = new_uuid4s(3)
    direct = [
        DirectMessage(id=ids[0], from_user=alice, to_user=bob, content="héllo 👋 \\ 'quoted' \t tab"),
        DirectMessage(id=ids[1], from_user=bob, to_user=alice, content="x", timestamp=when, is_ai_generated=True),
    ]
    grouped = [
        GroupMessage(id=ids[2], group=group, from_user=alice, content="@Bob hi", mentioned_user_ids=[bob.id, "ai"])
    ]
    insert_new(direct)
    insert_new(grouped)
    insert_new([])

    assert all(not m._state.adding for m in direct + grouped)
    stored = {m.id: m for m in DirectMessage.objects.all()}
    assert stored[ids[0]].content == direct[0].content
    assert stored[ids[0]].timestamp == direct[0].timestamp  # the default, filled before the insert
    assert (stored[ids[0]].is_read, stored[ids[0]].is_ai_generated, stored[ids[0]].client_message_id) == (
        False,
        False,
        None,
    )
    assert (stored[ids[1]].timestamp, stored[ids[1]].is_ai_generated) == (when, True)
    message = GroupMessage.objects.get()
    assert (message.id, message.group_id, message.from_user_id) == (ids[2], group.id, alice.id)
    assert message.mentioned_user_ids == [bob.id, "ai"]
