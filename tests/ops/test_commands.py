"""The ops commands: success and failure paths, exit codes and what they change."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from chat.models import AuthSession, DirectMessage, Friendship, Profile, User
from chat.services.ai_users import ensure_ai_friend, ensure_group_ai_user
from chat.services.auth import session_create
from groups.models import Group, GroupMember, GroupMessage

pytestmark = pytest.mark.django_db(transaction=True)


def person(n: int) -> User:
    user = User.objects.create_user(f"ops{n}@example.com", "Secret123!", name=f"Ops {n}")
    Profile.objects.create(user=user, username=f"ops{n}", display_name=f"Ops {n}")
    return user


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def group_of(creator: User, *others: User) -> Group:
    group = Group.objects.create(name="Ops group", created_by=creator)
    GroupMember.objects.create(group=group, user=creator, is_admin=True)
    for other in others:
        GroupMember.objects.create(group=group, user=other)
    GroupMember.objects.create(group=group, user=ensure_group_ai_user(group.pk))
    return group


def test_ensure_ai_users_recreates_what_is_missing_and_is_idempotent() -> None:
    User.objects.filter(pk="kirhost").delete()
    a, b = person(1), person(2)
    group = group_of(a, b)
    User.objects.filter(pk=f"group-ai-{group.pk}").delete()
    out = run("ensure_ai_users")
    assert "kirhost: created" in out
    assert User.objects.get(pk="kirhost").profile.display_name == "🤖 kirhost"
    assert GroupMember.objects.filter(group=group, user_id=f"group-ai-{group.pk}", is_admin=False).exists()
    again = run("ensure_ai_users")
    assert "kirhost: ok" in again
    assert "0 group(s) repaired" in again


def test_purge_messages_deletes_only_old_messages_in_batches() -> None:
    a, b = person(1), person(2)
    old = timezone.now() - timedelta(days=100)
    for i in range(5):
        DirectMessage.objects.create(from_user=a, to_user=b, content=f"old {i}", timestamp=old)
    DirectMessage.objects.create(from_user=a, to_user=b, content="new")
    group = group_of(a, b)
    GroupMessage.objects.create(group=group, from_user=a, content="old", timestamp=old)
    GroupMessage.objects.create(group=group, from_user=a, content="new")

    dry = run("purge_messages", "--older-than", "90d", "--dry-run")
    assert "would delete 6 message(s)" in dry
    assert DirectMessage.objects.count() == 6

    out = run("purge_messages", "--older-than", "90d", "--batch-size", "2")
    assert "deleted 6 message(s)" in out
    assert "messages: 4 deleted" in out  # progress per batch
    assert list(DirectMessage.objects.values_list("content", flat=True)) == ["new"]
    assert list(GroupMessage.objects.values_list("content", flat=True)) == ["new"]


@pytest.mark.parametrize("bad", ["soon", "0d", "-3", "10y"])
def test_purge_messages_refuses_bad_ages(bad: str) -> None:
    person(1)
    with pytest.raises(CommandError, match="--older-than"):
        run("purge_messages", "--older-than", bad)


def test_export_user_writes_everything_but_secrets(tmp_path: object) -> None:
    a, b = person(1), person(2)
    session_create(user=a, ip_address="127.0.0.1", user_agent="pytest")
    Friendship.objects.create(user1=a, user2=b)
    DirectMessage.objects.create(from_user=b, to_user=a, content="hello there")
    data = json.loads(run("export_user", a.email))
    assert data["user"]["id"] == a.pk
    assert data["profile"]["username"] == "ops1"
    assert data["friendships"][0]["friendId"] == b.pk
    assert data["directMessages"][0]["content"] == "hello there"
    assert len(data["sessions"]) == 1
    assert "token" not in json.dumps(data["sessions"]).lower()


def test_export_user_unknown_user_fails() -> None:
    with pytest.raises(CommandError, match="no user"):
        run("export_user", "nobody@example.com")


def test_delete_user_needs_yes_and_then_erases_and_hands_over_groups() -> None:
    ensure_ai_friend()
    a, b, c = person(1), person(2), person(3)
    group = group_of(a, b, c)
    GroupMessage.objects.create(group=group, from_user=a, content="mine")
    GroupMessage.objects.create(group=group, from_user=b, content="theirs")
    DirectMessage.objects.create(from_user=a, to_user=b, content="dm")
    session_create(user=a)

    with pytest.raises(CommandError, match="--yes"):
        run("delete_user", a.pk)
    assert User.objects.filter(pk=a.pk).exists()

    run("delete_user", a.pk, "--yes")
    assert not User.objects.filter(pk=a.pk).exists()
    assert not AuthSession.objects.filter(user_id=a.pk).exists()
    assert not DirectMessage.objects.exists()
    group.refresh_from_db()
    assert group.created_by_id in {b.pk, c.pk}
    assert GroupMember.objects.filter(group=group, is_admin=True).exclude(user__id__startswith="group-ai-").exists()
    assert list(GroupMessage.objects.values_list("content", flat=True)) == ["theirs"]


def test_delete_user_refuses_ai_users() -> None:
    ensure_ai_friend()
    with pytest.raises(CommandError, match="AI users"):
        run("delete_user", "kirhost", "--yes")
    assert User.objects.filter(pk="kirhost").exists()


def test_check_realtime_reports_ready() -> None:
    out = run("check_realtime")
    assert "database: ok" in out
    assert "channel layer: ok" in out
    assert "realtime: ready" in out


def test_check_realtime_fails_when_the_channel_layer_is_unreachable() -> None:
    broken = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    with (
        override_settings(CHANNEL_LAYERS=broken, REDIS_URL="redis://127.0.0.1:1/0"),
        pytest.raises(CommandError, match="failed"),
    ):
        run("check_realtime")


def test_seed_demo_creates_a_usable_demo_and_is_idempotent() -> None:
    first = run("seed_demo")
    assert "alice@retrochat.test / RetroChat123!" in first
    alice = User.objects.get(email="alice@retrochat.test")
    assert alice.check_password("RetroChat123!")
    assert Friendship.objects.count() == 4
    group = Group.objects.get(name="Retro Crew")
    assert GroupMember.objects.filter(group=group).count() == 4  # alice, bob, carol and the group AI
    counts = (
        User.objects.count(),
        Friendship.objects.count(),
        DirectMessage.objects.count(),
        GroupMessage.objects.count(),
        Group.objects.count(),
    )
    assert counts[2] == 6
    assert counts[3] == 4

    second = run("seed_demo")
    assert "created" not in second.replace("0 created", "")
    assert counts == (
        User.objects.count(),
        Friendship.objects.count(),
        DirectMessage.objects.count(),
        GroupMessage.objects.count(),
        Group.objects.count(),
    )


def test_seed_demo_refuses_a_password_the_sign_up_rules_reject() -> None:
    with pytest.raises(CommandError, match="Password too short"):
        run("seed_demo", "--password", "short")
    assert not User.objects.filter(email="alice@retrochat.test").exists()
