"""Races on PostgreSQL: idempotent sends, concurrent membership changes (row locks, unique keys)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from groups import services
from groups.models import GroupMember, GroupMessage
from retrochat.errors import DomainError
from tests.groups.conftest import FakeLayer, new_group

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks and concurrent writers need PostgreSQL"),
]


def race(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released together; results (or raised errors) in order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_concurrent_retries_store_and_deliver_one_message(people, layer: FakeLayer) -> None:
    alice, bob, carol, _ = people
    group = new_group(alice, [bob, carol])
    layer.clear()
    results = race(
        6,
        lambda _i: services.group_message_send(
            group_id=group.id, user_id=bob.id, content="only once", client_message_id="retry-1"
        ),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({r["id"] for r in results}) == 1
    assert GroupMessage.objects.count() == 1
    assert len(layer.named("group:message:receive")) == 1
    assert len(layer.named("group:message:sent")) == 1


def test_two_last_admins_leaving_together_still_leave_an_admin(people, layer: FakeLayer) -> None:
    alice, bob, carol, dave = people
    group = new_group(alice, [bob, carol, dave])
    GroupMember.objects.filter(group=group, user=bob).update(is_admin=True)
    leavers = [alice, bob]
    results = race(2, lambda i: services.group_leave(group_id=group.id, user_id=leavers[i].id))
    assert results == [None, None]
    admins = list(GroupMember.objects.filter(group=group, is_admin=True).values_list("user_id", flat=True))
    assert admins == [carol.id]


def test_adding_the_same_person_twice_at_once_adds_once(people, layer: FakeLayer) -> None:
    alice, bob, carol, dave = people
    group = new_group(alice, [bob, carol])
    layer.clear()
    results = race(4, lambda _i: services.group_member_add(group_id=group.id, actor_id=alice.id, user_id=dave.id))
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 3
    assert {r.message for r in refused} == {"User is already a member of this group"}
    assert GroupMember.objects.filter(group=group, user=dave).count() == 1
    assert len(layer.named("group:member:added")) == 1


def test_removing_the_last_two_admins_at_once_keeps_one(people, layer: FakeLayer) -> None:
    alice, bob, carol, _ = people
    group = new_group(alice, [bob, carol])
    GroupMember.objects.filter(group=group, user=bob).update(is_admin=True)
    # alice removes bob while bob removes alice: only one of them can win.
    pairs = [(alice, bob), (bob, alice)]
    results = race(
        2, lambda i: services.group_member_remove(group_id=group.id, actor_id=pairs[i][0].id, user_id=pairs[i][1].id)
    )
    assert sum(r is None for r in results) == 1
    assert GroupMember.objects.filter(group=group, is_admin=True).count() == 1


def test_an_admin_removed_while_waiting_for_the_lock_can_no_longer_act(people, layer: FakeLayer) -> None:
    from django.db import transaction

    from groups.models import Group
    from retrochat.errors import Forbidden

    alice, bob, carol, dave = people
    group = new_group(alice, [bob, carol])
    GroupMember.objects.filter(group=group, user=bob).update(is_admin=True)
    locked = threading.Event()

    def remove_bob_slowly(i: int) -> Any:
        if i == 0:
            with transaction.atomic():
                Group.objects.select_for_update().get(id=group.id)
                GroupMember.objects.filter(group=group, user=bob).delete()
                locked.set()
                threading.Event().wait(0.5)  # bob's request arrives and waits for the lock
            return None
        locked.wait(5)
        return services.group_member_add(group_id=group.id, actor_id=bob.id, user_id=dave.id)

    results = race(2, remove_bob_slowly)
    assert results[0] is None
    assert isinstance(results[1], Forbidden), results
    assert not GroupMember.objects.filter(group=group, user=dave).exists()
