"""Style-profile update rules (contract §5.3, fixed): when, from what, once at a time, and resets."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from aifriend import background, conf, services, style
from aifriend.models import StyleProfile
from chat.models import DirectMessage
from groups import services as group_services
from groups.models import GroupMessage, GroupStyleProfile
from tests.aifriend.conftest import make_person, new_group, say_direct, say_group
from tests.conftest import services_required

postgres_only = pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"] and not services_required(),
    reason="row locks need PostgreSQL",
)


def _profile(user_id: str) -> StyleProfile:
    return StyleProfile.objects.get(user_id=user_id)


# --- the AI friend ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_messages_no_profile() -> None:
    sam = make_person("sam")
    assert services.style_profile_refresh(user_id=sam.id) == "fresh"
    assert not StyleProfile.objects.filter(user_id=sam.id).exists()


@pytest.mark.django_db
def test_first_message_creates_the_profile_then_every_ten_with_the_switch_at_ten() -> None:
    sam = make_person("sam")
    friend = make_person("kim")
    outcomes = {}
    for n in range(1, 32):
        say_direct(sam, friend, [f"message number {n} lol"], start=timezone.now() - timedelta(seconds=100 - n))
        outcomes[n] = services.style_profile_refresh(user_id=sam.id)
    updated_at = [n for n, outcome in outcomes.items() if outcome == "updated"]
    assert updated_at == [1, 10, 20, 30]
    profile = _profile(sam.id)
    assert profile.message_count == 30
    assert profile.style_prompt
    assert profile.style_prompt.startswith("You are imitating")


@pytest.mark.django_db
def test_counted_messages_are_own_non_ai_direct_and_group_messages() -> None:
    sam, kim, lee = make_person("sam"), make_person("kim"), make_person("lee")
    say_direct(sam, kim, ["to a friend"] * 3)
    say_direct(sam, "kirhost", ["to the ai friend"] * 2)
    say_direct(kim, sam, ["not mine"] * 4)
    DirectMessage.objects.create(from_user_id="kirhost", to_user_id=sam.id, content="ai", is_ai_generated=True)
    group = new_group(sam, [kim, lee])
    say_group(group, [(sam, "in the group")] * 4 + [(kim, "someone else")] * 5)
    GroupMessage.objects.create(group=group, from_user_id=sam.id, content="flagged", is_ai_generated=True)
    assert services.style_profile_refresh(user_id=sam.id) == "updated"
    assert _profile(sam.id).message_count == 3 + 2 + 4


@pytest.mark.django_db
def test_analysis_reads_only_the_most_recent_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conf, "STYLE_SAMPLE_SIZE", 5)
    sam, kim = make_person("sam"), make_person("kim")
    say_direct(sam, kim, ["old habit 🐢 old habit 🐢"] * 3 + ["new vibe 🚀 new vibe"] * 5)
    seen: list[int] = []
    real = style.analyze

    def spy(messages: Any) -> style.StyleAnalysis:
        seen.append(len(messages))
        return real(messages)

    monkeypatch.setattr(style, "analyze", spy)
    services.style_profile_refresh(user_id=sam.id)
    profile = _profile(sam.id)
    assert seen == [5]
    assert profile.message_count == 8  # the count is an aggregate over everything
    assert profile.emoji_usage == {"🚀": 5}
    assert "new vibe" in (profile.common_phrases or [])


@pytest.mark.django_db
def test_profile_fields_hold_the_analysis() -> None:
    sam, kim = make_person("sam"), make_person("kim")
    texts = ["lol see you later 😂", "lol see you later 😂😂", "haha ok", "awesome!!"] * 3
    say_direct(sam, kim, texts)
    services.style_profile_refresh(user_id=sam.id)
    profile = _profile(sam.id)
    expected = style.analyze(texts)
    assert profile.message_count == 12
    assert profile.common_phrases == expected.common_phrases
    assert profile.emoji_usage == {"😂": 9}
    assert profile.average_message_length == expected.average_message_length
    assert profile.tone_indicators == expected.tone_indicators
    assert profile.style_prompt == style.friend_style_prompt(expected)


@pytest.mark.django_db
def test_reset_empties_the_profile_and_earlier_messages_stop_counting() -> None:
    sam, kim = make_person("sam"), make_person("kim")
    say_direct(sam, kim, ["before the reset 🐢 yes"] * 15, start=timezone.now() - timedelta(minutes=10))
    services.style_profile_refresh(user_id=sam.id)
    assert _profile(sam.id).message_count == 15

    services.style_profile_reset(user_id=sam.id)
    profile = _profile(sam.id)
    assert profile.message_count == 0
    assert profile.common_phrases == []
    assert profile.emoji_usage == {}
    assert profile.tone_indicators == {"casual": 0, "formal": 0, "enthusiastic": 0}
    assert profile.style_prompt == ""
    assert profile.reset_at is not None

    # The next message does NOT rebuild the profile from the whole history (contract §8 item 21).
    say_direct(sam, kim, ["after the reset 🚀 yes"], start=timezone.now())
    assert services.style_profile_refresh(user_id=sam.id) == "fresh"
    assert _profile(sam.id).message_count == 0

    say_direct(sam, kim, ["after the reset 🚀 yes"] * 9, start=timezone.now() + timedelta(seconds=1))
    assert services.style_profile_refresh(user_id=sam.id) == "updated"
    profile = _profile(sam.id)
    assert profile.message_count == 10
    assert profile.emoji_usage == {"🚀": 10}
    assert all("before" not in phrase for phrase in profile.common_phrases or [])


@pytest.mark.django_db
def test_reset_without_a_profile_is_a_no_op() -> None:
    sam = make_person("sam")
    services.style_profile_reset(user_id=sam.id)
    assert not StyleProfile.objects.filter(user_id=sam.id).exists()


@pytest.mark.django_db
def test_a_busy_profile_is_skipped_by_fire_and_forget_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    sam, kim = make_person("sam"), make_person("kim")
    say_direct(sam, kim, ["hello there friend"] * 3)
    with services._locks.hold(("friend", sam.id), wait=False) as held:
        assert held
        assert services.style_profile_refresh(user_id=sam.id) == "busy"
    assert not StyleProfile.objects.filter(user_id=sam.id).exists()
    assert services.style_profile_refresh(user_id=sam.id) == "updated"


@pytest.mark.django_db(transaction=True)
def test_never_two_updates_of_one_profile_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    sam, kim = make_person("sam"), make_person("kim")
    say_direct(sam, kim, ["hello there friend"] * 12)
    running = 0
    overlap = 0
    calls = 0
    guard = threading.Lock()
    real = style.analyze

    def slow(messages: Any) -> style.StyleAnalysis:
        nonlocal running, overlap, calls
        with guard:
            running += 1
            calls += 1
            overlap = max(overlap, running)
        time.sleep(0.2)
        with guard:
            running -= 1
        return real(messages)

    monkeypatch.setattr(style, "analyze", slow)
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def trigger(wait: bool) -> None:
        start.wait()
        try:
            outcomes.append(services.style_profile_refresh(user_id=sam.id, wait=wait))
        finally:
            connection.close()

    threads = [threading.Thread(target=trigger, args=(i == 3,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert overlap == 1
    assert calls == 1
    assert len(outcomes) == 4
    assert outcomes.count("updated") == 1
    # The others skipped it while it ran ("busy") or found nothing left to do ("fresh").
    assert set(outcomes) <= {"updated", "busy", "fresh"}
    assert _profile(sam.id).message_count == 12


@postgres_only
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_profile_locked_by_another_process_is_skipped_or_awaited() -> None:
    """Another process holds the row lock: fire-and-forget skips, an awaited update waits its turn."""
    sam, kim = make_person("sam"), make_person("kim")
    say_direct(sam, kim, ["hello there friend"] * 3)
    services.style_profile_refresh(user_id=sam.id)
    say_direct(sam, kim, ["more words here"] * 10)
    locked = threading.Event()
    release = threading.Event()

    def other_process() -> None:
        try:
            with transaction.atomic():
                StyleProfile.objects.select_for_update().get(user_id=sam.id)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=other_process)
    holder.start()
    assert locked.wait(5)
    try:
        # Bypass this process's lock: only the database lock is in the way.
        assert services._refresh_friend(sam.id, wait=False) == "busy"
        assert _profile(sam.id).message_count == 3
        waited: list[str] = []

        def wait_for_lock() -> None:
            try:
                waited.append(services._refresh_friend(sam.id, wait=True))
            finally:
                connection.close()

        waiter = threading.Thread(target=wait_for_lock)
        waiter.start()
        time.sleep(0.3)
        assert waited == []  # blocked on the row lock
    finally:
        release.set()
        holder.join(5)
    waiter.join(5)
    assert waited == ["updated"]
    assert _profile(sam.id).message_count == 13


@pytest.mark.django_db(transaction=True)
def test_refresh_soon_runs_off_the_request_path_after_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    sam, kim = make_person("sam"), make_person("kim")
    say_direct(sam, kim, ["hello there friend"] * 3)
    real = style.analyze

    def slow(messages: Any) -> style.StyleAnalysis:
        time.sleep(0.3)
        return real(messages)

    monkeypatch.setattr(style, "analyze", slow)
    started = time.monotonic()
    with transaction.atomic():
        services.style_profile_refresh_soon(user_id=sam.id)
        assert not StyleProfile.objects.filter(user_id=sam.id).exists()
    assert time.monotonic() - started < 0.2  # the caller did not wait for the analysis
    assert background.drain(5)
    assert _profile(sam.id).message_count == 3


@pytest.mark.django_db
def test_refresh_soon_does_nothing_if_the_transaction_rolls_back(django_capture_on_commit_callbacks: Any) -> None:
    sam = make_person("sam")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.style_profile_refresh_soon(user_id=sam.id)
    assert len(callbacks) == 1  # queued for the commit, not run
    services.style_profile_refresh_soon(user_id="kirhost")
    assert not StyleProfile.objects.filter(user_id="kirhost").exists()


# --- groups -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_group_profile_is_really_built_at_twenty_against_the_stored_count() -> None:
    alice, bob, carol = make_person("alice", "Alice"), make_person("bob", "Bob"), make_person("carol", "Carol")
    group = new_group(alice, [bob, carol])
    rows = [(alice, "hey team lets ship it 🚀"), (bob, "lol ok lets ship it")] * 9 + [(carol, "sounds great!")]
    say_group(group, rows)  # 19 messages
    assert services.group_style_refresh(group_id=group.id) == "fresh"
    stored = GroupStyleProfile.objects.get(group=group)
    assert stored.message_count == 0
    assert stored.style_prompt is None

    say_group(group, [(carol, "sounds great!")], start=timezone.now())
    assert services.group_style_refresh(group_id=group.id) == "updated"
    stored = GroupStyleProfile.objects.get(group=group)
    assert stored.message_count == 20
    assert stored.member_contributions == {alice.id: 9, bob.id: 9, carol.id: 2}
    assert "lets ship it" in stored.common_phrases
    # Alice's rocket is in messages 0, 2, ..., 16 of 20: five in the oldest half (x1), three in the
    # next 30% (x2), one in the newest 20% (x3).
    assert stored.emoji_usage == {"🚀": 5 + 3 * 2 + 3}
    assert stored.style_prompt is not None
    members_line = next(line for line in stored.style_prompt.split("\n") if "members have been chatting" in line)
    assert members_line.startswith("3 members have been chatting: ")
    names = members_line.split(": ", 1)[1].split(", ")
    assert sorted(names[:2]) == ["Alice", "Bob"]
    assert names[2] == "Carol"
    # Every 20 new messages against the STORED count; AI replies do not count.
    say_group(group, [(bob, "more chatter here")] * 19, start=timezone.now() + timedelta(seconds=1))
    GroupMessage.objects.create(group=group, from_user_id=group.ai_user_id, content="ai", is_ai_generated=True)
    assert services.group_style_refresh(group_id=group.id) == "fresh"
    say_group(group, [(bob, "more chatter here")], start=timezone.now() + timedelta(seconds=30))
    assert services.group_style_refresh(group_id=group.id) == "updated"
    stored.refresh_from_db()
    assert stored.message_count == 40


@pytest.mark.django_db
def test_group_weighting_and_contributions() -> None:
    alice, bob, carol = make_person("alice", "Alice"), make_person("bob", "Bob"), make_person("carol", "Carol")
    group = new_group(alice, [bob, carol])
    say_group(group, [(alice, "however therefore")] * 10 + [(bob, "lol haha")] * 10)
    services.group_style_refresh(group_id=group.id)
    stored = GroupStyleProfile.objects.get(group=group)
    assert stored.member_contributions == {alice.id: 10, bob.id: 10}
    expected = style.analyze_group(["however therefore"] * 10 + ["lol haha"] * 10)
    assert stored.tone_indicators == expected.tone_indicators
    assert stored.tone_indicators["casual"] > stored.tone_indicators["formal"]  # the newest half weighs more


@pytest.mark.django_db
def test_group_reset_watermark_is_respected() -> None:
    alice, bob, carol = make_person("alice"), make_person("bob"), make_person("carol")
    group = new_group(alice, [bob, carol])
    say_group(group, [(alice, "old times 🐢")] * 25, start=timezone.now() - timedelta(minutes=10))
    services.group_style_refresh(group_id=group.id)
    group_services.group_ai_reset(group_id=group.id, user_id=alice.id)
    assert services.group_style_refresh(group_id=group.id) == "fresh"
    say_group(group, [(bob, "new times 🚀")] * 20, start=timezone.now() + timedelta(seconds=1))
    assert services.group_style_refresh(group_id=group.id) == "updated"
    stored = GroupStyleProfile.objects.get(group=group)
    assert stored.message_count == 20
    assert stored.emoji_usage == {"🚀": 10 + 6 * 2 + 4 * 3}
    assert stored.member_contributions == {bob.id: 20}


@pytest.mark.django_db
def test_group_without_a_row_gets_one_only_from_twenty_messages() -> None:
    alice, bob, carol = make_person("alice"), make_person("bob"), make_person("carol")
    group = new_group(alice, [bob, carol])
    GroupStyleProfile.objects.filter(group=group).delete()
    say_group(group, [(alice, "hi all")] * 19)
    assert services.group_style_refresh(group_id=group.id) == "fresh"
    assert not GroupStyleProfile.objects.filter(group=group).exists()
    say_group(group, [(alice, "hi all")], start=timezone.now())
    assert services.group_style_refresh(group_id=group.id) == "updated"
    assert GroupStyleProfile.objects.get(group=group).message_count == 20
    assert services.group_style_refresh(group_id="not-a-uuid") == "fresh"
