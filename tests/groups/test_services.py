"""Services of the groups app: every rule, every refusal, rows written or not, events and recipients."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from chat.models import Profile, User
from groups import services
from groups.models import Group, GroupMember, GroupMessage, GroupMessageRead, GroupStyleProfile
from retrochat.errors import BadRequest, Conflict, Forbidden, NotFound
from tests.groups.conftest import FakeLayer, new_group

pytestmark = pytest.mark.django_db


def ai_id(group: Group) -> str:
    return f"group-ai-{group.id}"


def send(group: Group, user: User, content: str = "hello", **kw: Any) -> dict[str, Any]:
    return services.group_message_send(group_id=str(group.id), user_id=user.id, content=content, **kw)  # type: ignore[return-value]


# --- creation ---------------------------------------------------------------------------------


def test_create_writes_group_members_ai_user_and_empty_style_profile(people, layer: FakeLayer, commit) -> None:
    alice, bob, carol, _ = people
    with commit():
        detail = services.group_create(
            creator_id=alice.id, name="  Retro crew  ", description="  we chat  ", member_ids=[bob.id, carol.id]
        )
    group = detail.group
    stored = Group.objects.get(id=group.id)
    assert (stored.name, stored.description, stored.created_by_id, stored.ai_enabled) == (
        "Retro crew",
        "we chat",
        alice.id,
        True,
    )
    rows = list(GroupMember.objects.filter(group=group).order_by("joined_at").values_list("user_id", "is_admin"))
    assert rows == [(alice.id, True), (bob.id, False), (carol.id, False), (ai_id(group), False)]
    ai = User.objects.get(id=ai_id(group))
    assert (ai.name, ai.email, ai.email_verified, ai.has_usable_password()) == (
        "Group AI",
        f"{ai_id(group)}@retrochat.app",
        True,
        False,
    )
    profile = Profile.objects.get(user=ai)
    assert (profile.username, profile.display_name, profile.status_message) == (
        ai_id(group),
        "🤖 Group AI",
        "Learning from the group!",
    )
    style = GroupStyleProfile.objects.get(group=group)
    assert (style.message_count, style.member_contributions, style.common_phrases, style.emoji_usage) == (0, {}, [], {})
    assert (style.average_message_length, style.tone_indicators, style.style_prompt) == (
        0,
        {"casual": 0, "formal": 0, "enthusiastic": 0},
        None,
    )
    assert [m.user_id for m in detail.members] == [alice.id, bob.id, carol.id, ai_id(group)]


def test_create_sends_one_member_added_per_human_with_their_own_membership(people, layer: FakeLayer, commit) -> None:
    alice, bob, carol, _ = people
    with commit():
        group = services.group_create(creator_id=alice.id, name="G", member_ids=[bob.id, carol.id]).group
    added = layer.named("group:member:added")
    assert len(layer.sent) == 3
    assert sorted(tuple(p.users) for p in added) == sorted([(alice.id,), (bob.id,), (carol.id,)])
    for published in added:
        (recipient,) = published.users
        assert published.group == f"rt.user.{recipient}"
        assert published.payload["groupId"] == str(group.id)
        member = published.payload["member"]
        assert member["userId"] == recipient
        assert set(member) == {"id", "userId", "isAdmin", "joinedAt", "notificationsMuted", "user"}
        assert member["isAdmin"] is (recipient == alice.id)
        assert set(member["user"]) == {"id", "username", "displayName", "profilePictureUrl", "statusMessage"}


def test_create_without_description_stores_null_and_blank_description_is_null(people) -> None:
    alice, bob, carol, _ = people
    assert new_group(alice, [bob, carol]).description is None
    assert new_group(alice, [bob, carol], description="   ").description is None


@pytest.mark.parametrize(
    ("name", "description", "members", "message"),
    [
        ("   ", None, "bc", "Group name is required"),
        ("x" * 51, None, "bc", "Group name must be 50 characters or less"),
        ("G", "d" * 201, "bc", "Group description must be 200 characters or less"),
        ("G", None, "b", "Groups must have at least 3 members including the creator"),
        ("G", None, "", "Groups must have at least 3 members including the creator"),
        ("G", None, "ba", "memberIds must not include yourself: the creator is added as the group admin"),
        ("G", None, "bcb", "memberIds must not contain duplicates"),
        ("G", None, "b?", "One or more users not found"),
        ("G", None, "bk", "AI users cannot be added to a group"),
    ],
)
def test_create_refusals_write_nothing(people, layer: FakeLayer, commit, name, description, members, message) -> None:
    alice, bob, carol, _ = people
    ids = {"a": alice.id, "b": bob.id, "c": carol.id, "?": "no-such-user", "k": "kirhost"}
    users_before = User.objects.count()
    with commit(), pytest.raises(BadRequest) as err:
        services.group_create(
            creator_id=alice.id, name=name, description=description, member_ids=[ids[c] for c in members]
        )
    assert err.value.message == message
    assert err.value.status == 400
    assert Group.objects.count() == 0
    assert GroupMember.objects.count() == 0
    assert User.objects.count() == users_before
    assert layer.sent == []


def test_create_refuses_deactivated_users(people) -> None:
    alice, bob, carol, _ = people
    carol.is_active = False
    carol.save()
    with pytest.raises(BadRequest, match="One or more users not found"):
        new_group(alice, [bob, carol])


def test_create_is_one_transaction(people, layer: FakeLayer, commit, monkeypatch) -> None:
    alice, bob, carol, _ = people

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(GroupStyleProfile.objects, "create", boom)
    users_before = User.objects.count()
    with commit(), pytest.raises(RuntimeError):
        new_group(alice, [bob, carol])
    assert Group.objects.count() == 0
    assert GroupMember.objects.count() == 0
    assert User.objects.count() == users_before  # no orphaned group AI user
    assert layer.sent == []


# --- update -----------------------------------------------------------------------------------


def test_update_changes_only_the_keys_sent(crew, people, layer: FakeLayer, commit) -> None:
    alice = people[0]
    with commit():
        group = services.group_update(group_id=str(crew.id), user_id=alice.id, name="  New name ").group
    assert (group.name, group.description, group.ai_enabled) == ("New name", None, True)
    group = services.group_update(group_id=crew.id, user_id=alice.id, description="about", ai_enabled=False).group
    assert (group.name, group.description, group.ai_enabled) == ("New name", "about", False)
    detail = services.group_update(group_id=crew.id, user_id=alice.id, description="")
    assert Group.objects.get(id=crew.id).description is None
    assert len(detail.members) == 4
    assert layer.sent == []


@pytest.mark.parametrize("name", ["", "   ", None])
def test_update_refuses_empty_name(crew, people, name) -> None:
    with pytest.raises(BadRequest, match=r"^Group name cannot be empty$"):
        services.group_update(group_id=crew.id, user_id=people[0].id, name=name)
    assert Group.objects.get(id=crew.id).name == "Retro crew"


def test_update_is_for_admins_only(crew, people) -> None:
    bob, dave = people[1], people[3]
    for user in (bob, dave):
        with pytest.raises(Forbidden, match=r"^Only group admins can update group settings$"):
            services.group_update(group_id=crew.id, user_id=user.id, name="Hijacked")
    assert Group.objects.get(id=crew.id).name == "Retro crew"


@pytest.mark.parametrize("group_id", ["00000000-0000-4000-8000-000000000000", "not-a-uuid", ""])
def test_update_unknown_or_malformed_group_is_404(people, group_id) -> None:
    with pytest.raises(NotFound, match=r"^Group not found$"):
        services.group_update(group_id=group_id, user_id=people[0].id, name="x")


# --- delete -----------------------------------------------------------------------------------


def test_delete_removes_everything_and_tells_every_former_member(crew, people, layer: FakeLayer, commit) -> None:
    alice, bob, carol, _ = people
    message = send(crew, bob)
    GroupMessageRead.objects.create(message_id=message["id"], user=alice)
    layer.clear()
    with commit():
        services.group_delete(group_id=str(crew.id), user_id=alice.id)
    assert not Group.objects.filter(id=crew.id).exists()
    assert GroupMember.objects.count() == 0
    assert GroupMessage.objects.count() == 0
    assert GroupMessageRead.objects.count() == 0
    assert GroupStyleProfile.objects.count() == 0
    assert not User.objects.filter(id=ai_id(crew)).exists()
    assert not Profile.objects.filter(user_id=ai_id(crew)).exists()
    assert User.objects.filter(id__in=[alice.id, bob.id, carol.id]).count() == 3
    (published,) = layer.sent
    assert published.event == "group:deleted"
    assert published.payload == {"groupId": str(crew.id), "groupName": "Retro crew"}
    assert sorted(published.users) == sorted([alice.id, bob.id, carol.id])
    assert published.group == "rt.workers"


def test_delete_refusals(crew, people, layer: FakeLayer, commit) -> None:
    bob = people[1]
    with commit(), pytest.raises(Forbidden, match=r"^Only group admins can delete the group$"):
        services.group_delete(group_id=crew.id, user_id=bob.id)
    with pytest.raises(NotFound, match=r"^Group not found$"):
        services.group_delete(group_id="00000000-0000-4000-8000-000000000000", user_id=bob.id)
    assert Group.objects.filter(id=crew.id).exists()
    assert User.objects.filter(id=ai_id(crew)).exists()
    assert layer.sent == []


# --- add member -------------------------------------------------------------------------------


def test_add_member_tells_the_new_member_and_everyone_already_in(crew, people, layer: FakeLayer, commit) -> None:
    alice, bob, carol, dave = people
    with commit():
        member = services.group_member_add(group_id=str(crew.id), actor_id=alice.id, user_id=dave.id)
    assert (member.user_id, member.is_admin) == (dave.id, False)
    assert GroupMember.objects.filter(group=crew).count() == 5
    (published,) = layer.sent
    assert published.event == "group:member:added"
    assert sorted(published.users) == sorted([alice.id, bob.id, carol.id, dave.id])
    assert published.payload["groupId"] == str(crew.id)
    assert published.payload["member"]["userId"] == dave.id
    assert published.payload["member"]["isAdmin"] is False
    assert published.payload["member"]["user"]["username"] == "dave"


def test_add_member_refusals(crew, people, layer: FakeLayer, commit) -> None:
    alice, bob, _carol, dave = people
    cases: list[tuple[Any, str, str, type[Exception], str]] = [
        (crew.id, bob.id, dave.id, Forbidden, "Only group admins can add members"),
        (crew.id, dave.id, dave.id, Forbidden, "Only group admins can add members"),
        ("00000000-0000-4000-8000-000000000000", alice.id, dave.id, NotFound, "Group not found"),
        (crew.id, alice.id, "no-such-user", NotFound, "User not found"),
        (crew.id, alice.id, bob.id, BadRequest, "User is already a member of this group"),
        (crew.id, alice.id, "kirhost", BadRequest, "AI users cannot be added to a group"),
    ]
    with commit():
        for group_id, actor, target, error, message in cases:
            with pytest.raises(error) as err:
                services.group_member_add(group_id=group_id, actor_id=actor, user_id=target)
            assert err.value.message == message  # type: ignore[attr-defined]
    assert GroupMember.objects.filter(group=crew).count() == 4
    assert layer.sent == []


# --- remove member ----------------------------------------------------------------------------


def test_remove_member_tells_remaining_members_and_the_removed_one(crew, people, layer: FakeLayer, commit) -> None:
    alice, bob, carol, _ = people
    with commit():
        services.group_member_remove(group_id=str(crew.id), actor_id=alice.id, user_id=bob.id)
    assert not GroupMember.objects.filter(group=crew, user=bob).exists()
    (published,) = layer.sent
    assert published.event == "group:member:removed"
    assert published.payload == {"groupId": str(crew.id), "userId": bob.id}
    assert sorted(published.users) == sorted([alice.id, carol.id, bob.id])


def test_removed_member_gets_nothing_from_the_next_message_on(crew, people, layer: FakeLayer, commit) -> None:
    alice, bob, carol, _ = people
    services.group_member_remove(group_id=crew.id, actor_id=alice.id, user_id=bob.id)
    layer.clear()
    with commit():
        send(crew, carol, "after bob left")
    (received,) = layer.named("group:message:receive")
    assert received.users == [alice.id]
    with commit(), pytest.raises(Forbidden, match=r"^You are not a member of this group$"):
        send(crew, bob, "still here?")


def test_remove_member_refusals(crew, people, layer: FakeLayer, commit) -> None:
    alice, bob, _carol, dave = people
    cases: list[tuple[Any, str, str, type[Exception], str]] = [
        (crew.id, bob.id, alice.id, Forbidden, "Only group admins can remove members"),
        ("not-a-uuid", alice.id, bob.id, NotFound, "Group not found"),
        (crew.id, alice.id, dave.id, BadRequest, "User is not a member of this group"),
        (crew.id, alice.id, ai_id(crew), BadRequest, "The group AI cannot be removed from the group"),
        (
            crew.id,
            alice.id,
            alice.id,
            BadRequest,
            "Cannot remove the last admin. Transfer admin rights first or delete the group.",
        ),
    ]
    with commit():
        for group_id, actor, target, error, message in cases:
            with pytest.raises(error) as err:
                services.group_member_remove(group_id=group_id, actor_id=actor, user_id=target)
            assert err.value.message == message  # type: ignore[attr-defined]
    assert GroupMember.objects.filter(group=crew).count() == 4
    assert layer.sent == []


def test_an_admin_may_remove_another_admin_or_themselves_when_another_admin_remains(crew, people) -> None:
    alice, bob, _carol, _ = people
    GroupMember.objects.filter(group=crew, user=bob).update(is_admin=True)
    services.group_member_remove(group_id=crew.id, actor_id=bob.id, user_id=alice.id)
    assert list(GroupMember.objects.filter(group=crew, is_admin=True).values_list("user_id", flat=True)) == [bob.id]
    with pytest.raises(BadRequest, match=r"^Cannot remove the last admin"):
        services.group_member_remove(group_id=crew.id, actor_id=bob.id, user_id=bob.id)


# --- leave ------------------------------------------------------------------------------------


def test_member_leaves(crew, people, layer: FakeLayer, commit) -> None:
    alice, bob, carol, _ = people
    with commit():
        services.group_leave(group_id=str(crew.id), user_id=carol.id)
    assert not GroupMember.objects.filter(group=crew, user=carol).exists()
    assert GroupMember.objects.get(group=crew, user=alice).is_admin
    (published,) = layer.sent
    assert published.event == "group:member:removed"
    assert published.payload == {"groupId": str(crew.id), "userId": carol.id}
    assert sorted(published.users) == sorted([alice.id, bob.id, carol.id])


def test_last_admin_leaving_promotes_the_oldest_person_never_the_ai(crew, people) -> None:
    alice, bob, carol, dave = people
    services.group_leave(group_id=crew.id, user_id=bob.id)
    services.group_leave(group_id=crew.id, user_id=carol.id)
    services.group_member_add(group_id=crew.id, actor_id=alice.id, user_id=dave.id)
    # The group AI joined long before dave, but only a person can become admin.
    services.group_leave(group_id=crew.id, user_id=alice.id)
    admins = list(GroupMember.objects.filter(group=crew, is_admin=True).values_list("user_id", flat=True))
    assert admins == [dave.id]


def test_last_admin_leaving_promotes_by_join_order(crew, people) -> None:
    alice, bob, _carol, _ = people
    services.group_leave(group_id=crew.id, user_id=alice.id)
    admins = list(GroupMember.objects.filter(group=crew, is_admin=True).values_list("user_id", flat=True))
    assert admins == [bob.id]


def test_admin_leaving_while_another_admin_remains_promotes_nobody(crew, people) -> None:
    alice, bob, carol, _ = people
    GroupMember.objects.filter(group=crew, user=carol).update(is_admin=True)
    services.group_leave(group_id=crew.id, user_id=alice.id)
    admins = set(GroupMember.objects.filter(group=crew, is_admin=True).values_list("user_id", flat=True))
    assert admins == {carol.id}
    assert not GroupMember.objects.get(group=crew, user=bob).is_admin


def test_last_person_leaving_deletes_the_group_and_its_ai_user(crew, people, layer: FakeLayer, commit) -> None:
    alice, bob, carol, _ = people
    services.group_leave(group_id=crew.id, user_id=bob.id)
    services.group_leave(group_id=crew.id, user_id=carol.id)
    send(crew, alice, "anyone?")
    layer.clear()
    with commit():
        services.group_leave(group_id=crew.id, user_id=alice.id)
    assert not Group.objects.filter(id=crew.id).exists()
    assert not User.objects.filter(id=ai_id(crew)).exists()
    assert GroupMessage.objects.count() == 0
    (published,) = layer.sent
    assert published.event == "group:member:removed"
    assert published.payload == {"groupId": str(crew.id), "userId": alice.id}
    assert published.users == [alice.id]


def test_leave_refusals(crew, people, layer: FakeLayer, commit) -> None:
    dave = people[3]
    with commit():
        with pytest.raises(Forbidden, match=r"^You are not a member of this group$"):
            services.group_leave(group_id=crew.id, user_id=dave.id)
        with pytest.raises(NotFound, match=r"^Group not found$"):
            services.group_leave(group_id="00000000-0000-4000-8000-000000000000", user_id=dave.id)
    assert GroupMember.objects.filter(group=crew).count() == 4
    assert layer.sent == []


# --- messages ---------------------------------------------------------------------------------


def test_send_stores_and_delivers_after_commit(crew, people, layer: FakeLayer, commit) -> None:
    alice, bob, carol, _ = people
    with commit():
        ack = send(crew, bob, "  hi all  ")
    row = GroupMessage.objects.get()
    assert (row.content, row.from_user_id, row.group_id, row.is_ai_generated, row.mentioned_user_ids) == (
        "hi all",
        bob.id,
        crew.id,
        False,
        [],
    )
    assert ack == {
        "id": str(row.id),
        "groupId": str(crew.id),
        "fromUserId": bob.id,
        "content": "hi all",
        "timestamp": row.timestamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{row.timestamp.microsecond // 1000:03d}Z",
        "isAIGenerated": False,
        "mentionedUserIds": [],
        "fromUser": {
            "id": bob.id,
            "username": "bob",
            "displayName": "Bob",
            "profilePictureUrl": "https://cdn.example.com/bob.png",
        },
    }
    assert [p.event for p in layer.sent] == ["group:message:receive", "group:message:sent"]
    received, sent = layer.sent
    assert sorted(received.users) == sorted([alice.id, carol.id])  # never the sender, never the AI
    assert received.group == "rt.workers"  # one publish for all recipients
    assert sent.users == [bob.id]
    assert sent.group == f"rt.user.{bob.id}"
    assert received.payload == ack
    assert sent.payload == ack


@pytest.mark.django_db(transaction=True)
def test_nothing_is_published_before_commit(people, layer: FakeLayer) -> None:
    alice, bob, carol, _ = people
    group = new_group(alice, [bob, carol])
    layer.clear()
    with transaction.atomic():
        send(group, bob, "wait for it")
        services.group_member_add(group_id=group.id, actor_id=alice.id, user_id=people[3].id)
        assert layer.sent == []
    assert [p.event for p in layer.sent] == ["group:message:receive", "group:message:sent", "group:member:added"]


@pytest.mark.django_db(transaction=True)
def test_nothing_is_published_when_the_transaction_rolls_back(people, layer: FakeLayer) -> None:
    alice, bob, carol, _ = people
    group = new_group(alice, [bob, carol])
    layer.clear()

    def send_then_fail() -> None:
        with transaction.atomic():
            send(group, bob, "never happened")
            raise RuntimeError("rollback")

    with pytest.raises(RuntimeError):
        send_then_fail()
    assert layer.sent == []
    assert GroupMessage.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "Message content cannot be empty"),
        (" \n\t ", "Message content cannot be empty"),
        ("x" * 2001, "Message content must be shorter than or equal to 2000 characters"),
    ],
)
def test_send_refuses_invalid_content(crew, people, layer: FakeLayer, commit, style_checks, content, message) -> None:
    with commit(), pytest.raises(BadRequest) as err:
        send(crew, people[1], content)
    assert err.value.message == message
    assert GroupMessage.objects.count() == 0
    assert layer.sent == []
    assert style_checks == []


def test_send_accepts_2000_characters_after_trimming(crew, people) -> None:
    ack = send(crew, people[1], "  " + "x" * 2000 + "  ")
    assert len(ack["content"]) == 2000


@pytest.mark.parametrize("group_id", ["00000000-0000-4000-8000-000000000000", "nope", "crew"])
def test_send_by_non_member_or_to_unknown_group_is_refused(crew, people, layer, commit, group_id) -> None:
    dave = people[3]
    with commit(), pytest.raises(Forbidden, match=r"^You are not a member of this group$"):
        services.group_message_send(
            group_id=str(crew.id) if group_id == "crew" else group_id, user_id=dave.id, content="let me in"
        )
    assert GroupMessage.objects.count() == 0
    assert layer.sent == []


def test_send_with_client_message_id_is_idempotent(crew, people, layer: FakeLayer, commit, style_checks) -> None:
    bob = people[1]
    with commit():
        first = send(crew, bob, "once", client_message_id="c-1")
    with commit():
        again = send(crew, bob, "once", client_message_id="c-1")
    assert again == first
    assert first["clientMessageId"] == "c-1"
    assert GroupMessage.objects.count() == 1
    assert [p.event for p in layer.sent] == ["group:message:receive", "group:message:sent"]
    assert style_checks == [str(crew.id)]  # once, for the one stored message


def test_client_message_id_reused_in_another_group_conflicts(crew, people) -> None:
    alice, bob, _carol, dave = people
    other = new_group(bob, [alice, dave])
    send(crew, bob, "once", client_message_id="c-1")
    with pytest.raises(Conflict):
        send(other, bob, "twice", client_message_id="c-1")
    assert GroupMessage.objects.count() == 1


def test_client_message_ids_are_per_sender(crew, people) -> None:
    send(crew, people[1], "from bob", client_message_id="same")
    send(crew, people[2], "from carol", client_message_id="same")
    assert GroupMessage.objects.count() == 2


def test_send_resolves_mentions_to_member_ids(crew, people) -> None:
    alice, bob, carol, _dave = people
    Profile.objects.filter(user=carol).update(display_name="Carol 🎸 Jones")
    ack = send(crew, bob, "@ALICE and @carol 🎸 jones, ask @ai or @🤖 Group AI; @dave is not here")
    assert ack["mentionedUserIds"] == [alice.id, carol.id, ai_id(crew)]
    assert GroupMessage.objects.get().mentioned_user_ids == [alice.id, carol.id, ai_id(crew)]


def test_typing_goes_to_the_other_members_with_the_display_name(crew, people, layer: FakeLayer, commit) -> None:
    alice, bob, carol, dave = people
    Profile.objects.filter(user=bob).update(display_name="Bobby B")
    with commit():
        services.group_typing_notify(group_id=str(crew.id), user_id=bob.id)
    (published,) = layer.sent
    assert published.event == "group:typing"
    assert published.payload == {"groupId": str(crew.id), "userId": bob.id, "username": "Bobby B"}
    assert sorted(published.users) == sorted([alice.id, carol.id])
    layer.clear()
    with commit(), pytest.raises(Forbidden, match=r"^You are not a member of this group$"):
        services.group_typing_notify(group_id=str(crew.id), user_id=dave.id)
    assert layer.sent == []


# --- read receipts ----------------------------------------------------------------------------


def test_mark_read_inserts_unique_receipts_for_others_messages(crew, people) -> None:
    alice, bob, carol, dave = people
    send(crew, bob, "1")
    send(crew, carol, "2")
    mine = send(crew, alice, "3")
    assert services.group_messages_mark_read(group_id=str(crew.id), user_id=alice.id) == 2
    assert GroupMessageRead.objects.filter(user=alice).count() == 2
    assert not GroupMessageRead.objects.filter(message_id=mine["id"]).exists()
    assert services.group_messages_mark_read(group_id=crew.id, user_id=alice.id) == 0
    assert GroupMessageRead.objects.filter(user=alice).count() == 2
    with pytest.raises(Forbidden, match=r"^You are not a member of this group$"):
        services.group_messages_mark_read(group_id=crew.id, user_id=dave.id)
    with pytest.raises(NotFound, match=r"^Group not found$"):
        services.group_messages_mark_read(group_id="00000000-0000-4000-8000-000000000000", user_id=dave.id)


# --- the group AI -----------------------------------------------------------------------------


def test_ai_reset_empties_the_profile_and_sets_the_watermark(crew, people) -> None:
    alice, bob, *_ = people
    GroupStyleProfile.objects.filter(group=crew).update(
        message_count=25,
        member_contributions={bob.id: 25},
        common_phrases=["see you"],
        emoji_usage={"🎸": 3},
        average_message_length=12,
        tone_indicators={"casual": 50, "formal": 10, "enthusiastic": 40},
        style_prompt="You are...",
    )
    services.group_ai_reset(group_id=str(crew.id), user_id=alice.id)
    style = GroupStyleProfile.objects.get(group=crew)
    assert (style.message_count, style.member_contributions, style.common_phrases, style.emoji_usage) == (0, {}, [], {})
    assert (style.average_message_length, style.tone_indicators, style.style_prompt) == (
        0,
        {"casual": 0, "formal": 0, "enthusiastic": 0},
        None,
    )
    assert style.reset_at is not None
    assert style.reset_at == style.last_updated


def test_ai_reset_recreates_a_missing_profile(crew, people) -> None:
    GroupStyleProfile.objects.filter(group=crew).delete()
    services.group_ai_reset(group_id=crew.id, user_id=people[0].id)
    assert GroupStyleProfile.objects.filter(group=crew).exists()


def test_ai_reset_and_toggle_are_for_admins_only(crew, people) -> None:
    bob = people[1]
    with pytest.raises(Forbidden, match=r"^Only group admins can reset the AI style$"):
        services.group_ai_reset(group_id=crew.id, user_id=bob.id)
    with pytest.raises(Forbidden, match=r"^Only group admins can toggle the AI$"):
        services.group_ai_toggle(group_id=crew.id, user_id=bob.id, ai_enabled=False)
    with pytest.raises(NotFound, match=r"^Group not found$"):
        services.group_ai_toggle(group_id="x", user_id=bob.id, ai_enabled=False)
    assert Group.objects.get(id=crew.id).ai_enabled is True
    assert GroupStyleProfile.objects.get(group=crew).reset_at is None


def test_ai_toggle(crew, people) -> None:
    detail = services.group_ai_toggle(group_id=str(crew.id), user_id=people[0].id, ai_enabled=False)
    assert detail.group.ai_enabled is False
    assert Group.objects.get(id=crew.id).ai_enabled is False
    assert len(detail.members) == 4
    services.group_ai_toggle(group_id=crew.id, user_id=people[0].id, ai_enabled=True)
    assert Group.objects.get(id=crew.id).ai_enabled is True
