"""Fire-and-forget style checks are coalesced per profile, and the pool keeps its connections.

- one waiting check covers every trigger before it starts;
- a trigger while a check runs gets exactly one trailing check, after it (never overlapping);
- checks of one key start at least the interval apart; `drain` runs waiting checks at once;
- the last message is always seen by some check;
- a pool job closes its database connection when CONN_MAX_AGE is 0 and keeps it otherwise.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction

from aifriend import background, services, style
from aifriend.models import StyleProfile
from tests.aifriend.conftest import make_person, say_direct


def _recorder() -> tuple[list[tuple[str, float, float]], Callable[[str, float], Callable[[], None]]]:
    runs: list[tuple[str, float, float]] = []
    lock = threading.Lock()

    def make(name: str, seconds: float) -> Callable[[], None]:
        def call() -> None:
            started = time.monotonic()
            time.sleep(seconds)
            with lock:
                runs.append((name, started, time.monotonic()))

        return call

    return runs, make


def test_a_waiting_check_covers_every_later_trigger() -> None:
    runs, make = _recorder()
    gate, inside = threading.Event(), threading.Event()
    key = ("test", "covered")

    def occupy() -> None:
        inside.set()
        gate.wait(5)

    # Occupy the key: a first check runs until the gate opens.
    assert background.submit_coalesced(key, occupy, min_interval=0)
    assert inside.wait(5)
    queued = [background.submit_coalesced(key, make("later", 0), min_interval=0) for _ in range(20)]
    assert queued == [True] + [False] * 19  # one trailing check, the others are covered by it
    gate.set()
    assert background.drain(5)
    assert [name for name, *_ in runs] == ["later"]


def test_runs_of_one_key_never_overlap_and_keep_the_interval() -> None:
    runs, make = _recorder()
    key = ("test", "interval")
    inside = threading.Event()
    first = make("first", 0.1)

    def flagged() -> None:
        inside.set()
        first()

    assert background.submit_coalesced(key, flagged, min_interval=0.3)
    assert inside.wait(5)  # the first one is running
    assert background.submit_coalesced(key, make("second", 0), min_interval=0.3)
    deadline = time.monotonic() + 5
    while len(runs) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [name for name, *_ in runs] == ["first", "second"]
    (_, first_start, first_end), (_, second_start, _) = runs
    assert second_start >= first_end  # never overlapping
    assert second_start - first_start >= 0.3  # at least the interval apart
    assert background.drain(5)


def test_drain_runs_waiting_checks_at_once_and_keys_are_independent() -> None:
    runs, make = _recorder()
    assert background.submit_coalesced(("test", "a"), make("a1", 0), min_interval=60)
    assert background.drain(5)
    # Within the interval: the next checks wait on the timer, drain starts them now.
    assert background.submit_coalesced(("test", "a"), make("a2", 0), min_interval=60)
    assert background.submit_coalesced(("test", "b"), make("b1", 0), min_interval=60)
    assert not background.submit_coalesced(("test", "a"), make("a3", 0), min_interval=60)
    started = time.monotonic()
    assert background.drain(5)
    assert time.monotonic() - started < 5
    assert sorted(name for name, *_ in runs) == ["a1", "a2", "b1"]


@pytest.mark.django_db(transaction=True)
def test_many_messages_make_few_checks_and_the_last_one_is_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    sam, kim = make_person("sam"), make_person("kim")
    calls: list[str] = []
    real = services.style_profile_refresh

    def counted(*, user_id: str, wait: bool = False) -> services.RefreshOutcome:
        calls.append(user_id)
        return real(user_id=user_id, wait=wait)

    monkeypatch.setattr(services, "style_profile_refresh", counted)
    for i in range(25):
        with transaction.atomic():
            say_direct(sam, kim, [f"message number {i} here"])
            services.style_profile_refresh_soon(user_id=sam.id)
    assert background.drain(10)
    assert 1 <= len(calls) <= 3  # not one check per message
    # Some check saw all 25 messages: no update is left due (the stored count moves in steps of 10).
    stored = StyleProfile.objects.get(user_id=sam.id).message_count
    assert not services.friend_update_due(25, stored)
    assert real(user_id=sam.id) == "fresh"


@pytest.mark.django_db(transaction=True)
def test_a_message_sent_during_a_check_is_seen_by_a_trailing_check(monkeypatch: pytest.MonkeyPatch) -> None:
    sam, kim = make_person("sam"), make_person("kim")
    say_direct(sam, kim, ["hello there friend"] * 3)
    inside = threading.Event()
    release = threading.Event()
    real = style.analyze

    def held(messages: Any) -> style.StyleAnalysis:
        inside.set()
        release.wait(5)
        return real(messages)

    monkeypatch.setattr(style, "analyze", held)
    with transaction.atomic():
        services.style_profile_refresh_soon(user_id=sam.id)
    assert inside.wait(5)  # the first check is building the profile from 3 messages
    with transaction.atomic():
        say_direct(sam, kim, ["more words here"] * 10)
        services.style_profile_refresh_soon(user_id=sam.id)
    release.set()
    assert background.drain(10)
    assert StyleProfile.objects.get(user_id=sam.id).message_count == 13


def _connection_after_job(max_age: int, monkeypatch: pytest.MonkeyPatch) -> tuple[bool, bool]:
    """In one thread: two pool jobs; (open after the first, same connection in the second)."""
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", max_age)
    seen: list[object] = []
    result: list[bool] = []

    def query() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        seen.append(connection.connection)

    def thread() -> None:
        try:
            background._run_job(query)
            result.append(connection.connection is not None)
            background._run_job(query)
            result.append(seen[0] is seen[1])
        finally:
            connection.close()

    worker = threading.Thread(target=thread)
    worker.start()
    worker.join(10)
    return result[0], result[1]


@pytest.mark.django_db(transaction=True)
def test_pool_jobs_close_their_connection_when_conn_max_age_is_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _connection_after_job(0, monkeypatch) == (False, False)


@pytest.mark.django_db(transaction=True)
def test_pool_jobs_keep_their_connection_with_conn_max_age(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _connection_after_job(600, monkeypatch) == (True, True)
