"""The Django admin renders every model's pages with a query count that does not grow with data."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aifriend.models import StyleProfile
from chat.models import AuthSession, DirectMessage, FriendRequest, Friendship, Profile, User
from chat.services.ai_users import ensure_ai_friend, ensure_group_ai_user
from chat.services.auth import session_create
from groups.models import Group, GroupMember, GroupMessage, GroupStyleProfile
from tests import recording_layer

pytestmark = pytest.mark.django_db

_seq = itertools.count()


def _person() -> User:
    n = next(_seq)
    user = User.objects.create_user(f"person{n}@example.com", "Secret123!", name=f"Person {n}")
    Profile.objects.create(user=user, username=f"person{n}", display_name=f"Person {n}")
    session_create(user=user, ip_address="127.0.0.1", user_agent="pytest")
    return user


def _seed(scale: int) -> None:
    """`scale` rows of every model, all connected, so list pages have related objects to show."""
    ensure_ai_friend()
    for _ in range(scale):
        a, b, c = _person(), _person(), _person()
        FriendRequest.objects.create(from_user=a, to_user=b)
        Friendship.objects.create(user1=a, user2=c)
        DirectMessage.objects.create(from_user=a, to_user=c, content="hello " * 20)
        group = Group.objects.create(name=f"Group {a.pk[:4]}", created_by=a)
        ai = ensure_group_ai_user(group.pk)
        for user, is_admin in ((a, True), (b, False), (c, False), (ai, False)):
            GroupMember.objects.create(group=group, user=user, is_admin=is_admin)
        GroupMessage.objects.create(group=group, from_user=b, content="hi all")
        GroupStyleProfile.objects.create(group=group)
        StyleProfile.objects.create(user=a, message_count=3)


@pytest.fixture
def admin_client_() -> Client:
    staff = User.objects.create_superuser("admin@example.com", "Admin123!")
    client = Client()
    client.force_login(staff)
    return client


def _pages(client: Client) -> dict[str, int]:
    """Query count of every registered model's changelist and of one change page each."""
    counts: dict[str, int] = {}
    for model in admin.site._registry:
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        counts[url] = len(ctx.captured_queries)
        obj: Any = model._default_manager.order_by("pk").first()
        if obj is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(change)
            assert response.status_code == 200, (change, response.status_code)
            counts[change] = len(ctx.captured_queries)
    return counts


def test_every_admin_page_renders_with_bounded_queries(admin_client_: Client) -> None:
    _seed(2)
    small = _pages(admin_client_)
    _seed(10)
    large = _pages(admin_client_)
    grown = {url: (small[url], large[url]) for url in small if url in large and large[url] > small[url]}
    assert not grown, f"query count grows with data (N+1): {grown}"
    assert max(small.values()) <= 40


def test_every_model_is_registered() -> None:
    registered = set(admin.site._registry)
    for model in (User, AuthSession, Profile, FriendRequest, Friendship, DirectMessage, Group, GroupMessage):
        if model is Profile:
            continue  # edited inline on the user page
        assert model in registered, model


def test_ai_users_are_marked_and_have_no_password_field(admin_client_: Client) -> None:
    ensure_ai_friend()
    response = admin_client_.get(reverse("admin:chat_user_changelist"))
    assert "AI user (cannot log in)" in response.content.decode()
    kirhost = User.objects.get(pk="kirhost")
    assert not kirhost.has_usable_password()
    page = admin_client_.get(reverse("admin:chat_user_change", args=["kirhost"])).content.decode()
    assert 'name="password"' not in page


def test_style_profile_reset_actions(admin_client_: Client) -> None:
    _seed(1)
    profile = StyleProfile.objects.get()
    profile.style_prompt = "imitate"
    profile.save()
    group_profile = GroupStyleProfile.objects.get()
    GroupStyleProfile.objects.filter(pk=group_profile.pk).update(message_count=25, style_prompt="group prompt")
    for url, pk in (
        (reverse("admin:aifriend_styleprofile_changelist"), profile.pk),
        (reverse("admin:groups_groupstyleprofile_changelist"), group_profile.pk),
    ):
        response = admin_client_.post(url, {"action": "reset_profiles", "_selected_action": [str(pk)]})
        assert response.status_code == 302
    profile.refresh_from_db()
    group_profile.refresh_from_db()
    assert (profile.message_count, profile.style_prompt, profile.reset_at is not None) == (0, "", True)
    assert (group_profile.message_count, group_profile.style_prompt, group_profile.reset_at is not None) == (
        0,
        None,
        True,
    )


def test_delete_message_action_tells_participants(
    admin_client_: Client, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    layer = recording_layer.install(monkeypatch)
    _seed(1)
    message = DirectMessage.objects.get()
    url = reverse("admin:chat_directmessage_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_.post(url, {"action": "delete_and_notify", "_selected_action": [str(message.pk)]})
    assert response.status_code == 302
    assert not DirectMessage.objects.filter(pk=message.pk).exists()
    [published] = layer.sent
    assert published.event == "message:deleted"
    assert published.payload == {
        "messageId": str(message.pk),
        "fromUserId": message.from_user_id,
        "toUserId": message.to_user_id,
    }
    assert set(published.users) == {message.from_user_id, message.to_user_id}


def test_deactivate_action_ends_sessions(admin_client_: Client) -> None:
    person = _person()
    assert AuthSession.objects.filter(user=person).exists()
    url = reverse("admin:chat_user_changelist")
    response = admin_client_.post(url, {"action": "deactivate_users", "_selected_action": [person.pk]})
    assert response.status_code == 302
    person.refresh_from_db()
    assert not person.is_active
    assert not AuthSession.objects.filter(user=person).exists()
