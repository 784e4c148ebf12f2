"""Query counts on the hot paths: constant in the number of members, groups and messages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.models import User
from groups import selectors, services
from tests.groups.conftest import client_for, make_person, new_group

pytestmark = pytest.mark.django_db


class Counted:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def queries() -> Iterator[Counted]:
    """Statements run inside the block, savepoints left out (tests run inside a transaction,
    so every ``atomic`` of the code under test shows up as a savepoint that production never runs)."""
    counted = Counted()
    with CaptureQueriesContext(connection) as ctx:
        yield counted
    counted.statements = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"].upper()]


def group_of(size: int) -> tuple[Any, list[User]]:
    people = [make_person() for _ in range(size)]
    return new_group(people[0], people[1:]), people


@pytest.mark.parametrize("size", [3, 40])
def test_send_costs_two_queries_whatever_the_group_size(size: int, layer) -> None:
    group, people = group_of(size)
    with queries() as q:
        services.group_message_send(group_id=str(group.id), user_id=people[1].id, content="@user1 hi")
    assert q.count == 2, q.statements  # member list (ids, names, cards) + insert


@pytest.mark.parametrize("size", [3, 40])
def test_send_with_client_id_costs_two_queries(size: int, layer) -> None:
    group, people = group_of(size)
    with queries() as q:
        services.group_message_send(group_id=group.id, user_id=people[1].id, content="hi", client_message_id="c1")
    assert q.count == 2, q.statements


@pytest.mark.parametrize("size", [3, 40])
def test_typing_costs_one_query(size: int, layer) -> None:
    group, people = group_of(size)
    with queries() as q:
        services.group_typing_notify(group_id=group.id, user_id=people[1].id)
    assert q.count == 1, q.statements


@pytest.mark.parametrize("size", [3, 40])
def test_member_list_costs_one_query(size: int) -> None:
    group, people = group_of(size)
    with queries() as q:
        members = selectors.members_for_member(str(group.id), people[0].id)
        names = [m.user.profile.display_name for m in members]
    assert len(names) == size + 1
    assert q.count == 1, q.statements


@pytest.mark.parametrize(("groups", "size"), [(1, 3), (6, 12)])
def test_group_list_costs_two_queries(groups: int, size: int) -> None:
    me = make_person()
    for _ in range(groups):
        others = [make_person() for _ in range(size - 1)]
        new_group(me, others)
    with queries() as q:
        listed = selectors.groups_for_user(me.id)
        names = [m.user.profile.display_name for g in listed for m in g.members]
    assert len(listed) == groups
    assert len(names) == groups * (size + 1)
    assert q.count == 2, q.statements


@pytest.mark.parametrize("messages", [5, 120])
def test_history_page_costs_one_query(messages: int, layer) -> None:
    group, people = group_of(4)
    for i in range(messages):
        services.group_message_send(group_id=group.id, user_id=people[i % 4].id, content=f"m{i}")
    with queries() as q:
        page = selectors.message_page(group.id, limit=50)
        cards = [m.from_user.profile.display_name for m in page]
    assert len(cards) == min(messages, 50)
    assert q.count == 1, q.statements


def rest_count(client: Any, path: str) -> int:
    with queries() as q:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return q.count


@pytest.mark.parametrize(
    "path",
    [
        "/api/groups",
        "/api/groups/{gid}",
        "/api/groups/{gid}/members",
        "/api/groups/{gid}/messages",
        "/api/groups/{gid}/messages?before={mid}",
        "/api/groups/{gid}/ai/profile",
        "/api/groups/unread",
    ],
)
def test_rest_reads_do_not_grow_with_members_groups_or_messages(path: str, layer) -> None:
    def setup(size: int, groups: int, messages: int) -> Callable[[], int]:
        me = make_person()
        others: list[User] = []
        for _ in range(groups):
            others = [make_person() for _ in range(size - 1)]
            group = new_group(me, others)
        ids = [me.id, *(o.id for o in others)]
        sent = [
            services.group_message_send(group_id=group.id, user_id=ids[i % len(ids)], content=f"m{i}")
            for i in range(messages)
        ]
        url = path.format(gid=group.id, mid=sent[-1]["id"])
        client = client_for(me)
        return lambda: rest_count(client, url)

    small = setup(3, 1, 3)()
    large = setup(25, 4, 80)()
    assert small == large
