"""REST routes of contract §3.7: exact paths, status codes, keys and messages."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chat.models import Profile
from groups import services
from groups.models import Group, GroupMember, GroupMessage, GroupMessageRead, GroupStyleProfile
from tests.groups.conftest import FakeLayer, client_for

pytestmark = pytest.mark.django_db

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UNKNOWN = "00000000-0000-4000-8000-000000000000"
GROUP_KEYS = ["id", "name", "description", "createdBy", "createdAt", "updatedAt", "aiEnabled", "members"]
MEMBER_KEYS = ["id", "userId", "isAdmin", "joinedAt", "notificationsMuted", "user"]
MEMBER_USER_KEYS = ["id", "username", "displayName", "profilePictureUrl", "statusMessage"]
MESSAGE_KEYS = ["id", "groupId", "fromUserId", "content", "timestamp", "isAIGenerated", "mentionedUserIds", "fromUser"]


def post(client: Any, path: str, body: Any = None) -> Any:
    data = "" if body is None else json.dumps(body)
    return client.post(path, data=data, content_type="application/json")


def patch(client: Any, path: str, body: Any = None) -> Any:
    data = "" if body is None else json.dumps(body)
    return client.patch(path, data=data, content_type="application/json")


def error(status: int, message: Any) -> dict[str, Any]:
    phrase = {400: "Bad Request", 403: "Forbidden", 404: "Not Found"}[status]
    return {"statusCode": status, "message": message, "error": phrase}


@pytest.fixture
def alice_client(people) -> Any:
    return client_for(people[0])


# --- auth and routing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/groups"),
        ("post", "/api/groups"),
        ("get", "/api/groups/unread"),
        ("get", f"/api/groups/{UNKNOWN}"),
        ("get", f"/api/groups/{UNKNOWN}/messages"),
        ("post", f"/api/groups/{UNKNOWN}/leave"),
        ("patch", f"/api/groups/{UNKNOWN}/ai/toggle"),
    ],
)
def test_every_route_needs_a_session(client, method: str, path: str) -> None:
    response = getattr(client, method)(path, content_type="application/json")
    assert response.status_code == 401
    assert response.json() == {"code": "UNAUTHORIZED", "message": "Unauthorized"}


def test_unread_is_not_taken_for_a_group_id(alice_client) -> None:
    response = alice_client.get("/api/groups/unread")
    assert response.status_code == 200
    assert response.json() == {"unreadCount": 0}


# --- create -----------------------------------------------------------------------------------


def test_create_returns_201_group_with_members_including_the_ai(people, alice_client, layer, commit) -> None:
    alice, bob, carol, _ = people
    Profile.objects.filter(user=bob).update(status_message="brb")
    with commit():
        response = post(alice_client, "/api/groups", {"name": "Retro crew", "memberIds": [bob.id, carol.id]})
    assert response.status_code == 201
    body = response.json()
    group = Group.objects.get()
    assert list(body) == GROUP_KEYS
    assert body["id"] == str(group.id)
    assert (body["name"], body["description"], body["createdBy"], body["aiEnabled"]) == (
        "Retro crew",
        None,
        alice.id,
        True,
    )
    assert ISO_Z.match(body["createdAt"])
    assert ISO_Z.match(body["updatedAt"])
    members = body["members"]
    assert [m["userId"] for m in members] == [alice.id, bob.id, carol.id, f"group-ai-{group.id}"]
    assert [m["isAdmin"] for m in members] == [True, False, False, False]
    for member in members:
        assert list(member) == MEMBER_KEYS
        assert list(member["user"]) == MEMBER_USER_KEYS
        assert ISO_Z.match(member["joinedAt"])
        assert member["notificationsMuted"] is False
    assert members[1]["user"] == {
        "id": bob.id,
        "username": "bob",
        "displayName": "Bob",
        "profilePictureUrl": "https://cdn.example.com/bob.png",
        "statusMessage": "brb",
    }
    assert members[3]["user"] == {
        "id": f"group-ai-{group.id}",
        "username": f"group-ai-{group.id}",
        "displayName": "🤖 Group AI",
        "profilePictureUrl": None,
        "statusMessage": "Learning from the group!",
    }
    assert len(layer.named("group:member:added")) == 3


def test_create_with_description(people, alice_client) -> None:
    _, bob, carol, _ = people
    body = {"name": "G", "description": " about us ", "memberIds": [bob.id, carol.id]}
    response = post(alice_client, "/api/groups", body)
    assert response.status_code == 201
    assert response.json()["description"] == "about us"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "", "memberIds": ["b", "c"]}, 400, ["name should not be empty"]),
        ({"memberIds": ["b", "c"]}, 400, ["name should not be empty"]),
        ({"name": 7, "memberIds": ["b", "c"]}, 400, ["name must be a string"]),
        ({"name": "x" * 51, "memberIds": ["b", "c"]}, 400, ["name must be shorter than or equal to 50 characters"]),
        ({"name": "G", "description": 3, "memberIds": ["b", "c"]}, 400, ["description must be a string"]),
        (
            {"name": "G", "description": "d" * 201, "memberIds": ["b", "c"]},
            400,
            ["description must be shorter than or equal to 200 characters"],
        ),
        ({"name": "G", "memberIds": "b"}, 400, ["memberIds must be an array"]),
        ({"name": "G", "memberIds": ["b", 3]}, 400, ["each value in memberIds must be a string"]),
        ({"name": "G", "memberIds": ["b"]}, 400, ["Groups must have at least 3 members including the creator"]),
        ({"name": "G", "memberIds": ["b", "c"], "aiEnabled": False}, 400, ["property aiEnabled should not exist"]),
        ({"name": "   ", "memberIds": ["b", "c"]}, 400, "Group name is required"),
        ({"name": "G", "memberIds": ["b", "b"]}, 400, "memberIds must not contain duplicates"),
        (
            {"name": "G", "memberIds": ["b", "a"]},
            400,
            "memberIds must not include yourself: the creator is added as the group admin",
        ),
        ({"name": "G", "memberIds": ["b", "nobody"]}, 400, "One or more users not found"),
    ],
)
def test_create_refusals(people, alice_client, body, status, message) -> None:
    alice, bob, carol, _ = people
    ids = {"a": alice.id, "b": bob.id, "c": carol.id}
    if isinstance(body.get("memberIds"), list):
        body["memberIds"] = [ids.get(x, x) if isinstance(x, str) else x for x in body["memberIds"]]
    response = post(alice_client, "/api/groups", body)
    assert response.status_code == status
    assert response.json() == error(status, message)
    assert Group.objects.count() == 0


def test_create_with_malformed_json_is_400(alice_client) -> None:
    response = alice_client.post("/api/groups", data="{nope", content_type="application/json")
    assert response.status_code == 400
    assert Group.objects.count() == 0


# --- list and get -----------------------------------------------------------------------------


def test_list_returns_only_my_groups_with_members(crew, people) -> None:
    _alice, bob, _carol, dave = people
    mine = client_for(bob).get("/api/groups")
    assert mine.status_code == 200
    (group,) = mine.json()
    assert group["id"] == str(crew.id)
    assert len(group["members"]) == 4
    assert client_for(dave).get("/api/groups").json() == []


def test_get_group(crew, people) -> None:
    _alice, _bob, carol, dave = people
    response = client_for(carol).get(f"/api/groups/{crew.id}")
    assert response.status_code == 200
    assert list(response.json()) == GROUP_KEYS
    assert client_for(dave).get(f"/api/groups/{crew.id}").json() == error(403, "You are not a member of this group")
    assert client_for(dave).get(f"/api/groups/{UNKNOWN}").json() == error(404, "Group not found")
    response = client_for(dave).get("/api/groups/not-a-uuid")
    assert response.status_code == 404
    assert response.json() == error(404, "Group not found")


# --- update -----------------------------------------------------------------------------------


def test_patch_group(crew, people, alice_client) -> None:
    response = patch(alice_client, f"/api/groups/{crew.id}", {"name": " Renamed ", "description": "d"})
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["description"], body["aiEnabled"]) == ("Renamed", "d", True)
    assert list(body) == GROUP_KEYS
    response = patch(alice_client, f"/api/groups/{crew.id}", {"aiEnabled": False})
    assert (response.json()["name"], response.json()["description"], response.json()["aiEnabled"]) == (
        "Renamed",
        "d",
        False,
    )
    response = patch(alice_client, f"/api/groups/{crew.id}", {"description": ""})
    assert response.json()["description"] is None


@pytest.mark.parametrize(
    ("who", "body", "status", "message"),
    [
        ("bob", {"name": "X"}, 403, "Only group admins can update group settings"),
        ("dave", {"name": "X"}, 403, "Only group admins can update group settings"),
        ("alice", {"name": "  "}, 400, "Group name cannot be empty"),
        ("alice", {"name": "x" * 51}, 400, ["name must be shorter than or equal to 50 characters"]),
        ("alice", {"aiEnabled": "yes"}, 400, ["aiEnabled must be a boolean value"]),
        ("alice", {"members": []}, 400, ["property members should not exist"]),
    ],
)
def test_patch_refusals(crew, people, who, body, status, message) -> None:
    user = {"alice": people[0], "bob": people[1], "dave": people[3]}[who]
    response = patch(client_for(user), f"/api/groups/{crew.id}", body)
    assert response.status_code == status
    assert response.json() == error(status, message)
    assert Group.objects.get(id=crew.id).name == "Retro crew"


def test_patch_unknown_group_is_404(alice_client) -> None:
    response = patch(alice_client, f"/api/groups/{UNKNOWN}", {"name": "X"})
    assert response.json() == error(404, "Group not found")


# --- delete -----------------------------------------------------------------------------------


def test_delete_group(crew, people, alice_client, layer: FakeLayer, commit) -> None:
    assert client_for(people[1]).delete(f"/api/groups/{crew.id}").json() == error(
        403, "Only group admins can delete the group"
    )
    with commit():
        response = alice_client.delete(f"/api/groups/{crew.id}")
    assert response.status_code == 200
    assert response.json() == {"message": "Group deleted successfully"}
    assert not Group.objects.exists()
    assert [p.event for p in layer.sent] == ["group:deleted"]
    assert alice_client.delete(f"/api/groups/{crew.id}").json() == error(404, "Group not found")


# --- members ----------------------------------------------------------------------------------


def test_add_member(crew, people, alice_client, layer: FakeLayer, commit) -> None:
    dave = people[3]
    with commit():
        response = post(alice_client, f"/api/groups/{crew.id}/members", {"userId": dave.id})
    assert response.status_code == 201
    assert response.json() == {"message": "Member added successfully"}
    assert GroupMember.objects.filter(group=crew, user=dave, is_admin=False).exists()
    (published,) = layer.sent
    assert dave.id in published.users


@pytest.mark.parametrize(
    ("who", "body", "status", "message"),
    [
        ("bob", {"userId": "dave"}, 403, "Only group admins can add members"),
        ("alice", {"userId": "nobody"}, 404, "User not found"),
        ("alice", {"userId": "bob"}, 400, "User is already a member of this group"),
        ("alice", {"userId": ""}, 400, ["userId should not be empty"]),
        ("alice", {}, 400, ["userId should not be empty"]),
        ("alice", {"userId": 5}, 400, ["userId must be a string"]),
        ("alice", {"userId": "dave", "isAdmin": True}, 400, ["property isAdmin should not exist"]),
    ],
)
def test_add_member_refusals(crew, people, who, body, status, message) -> None:
    ids = {"alice": people[0], "bob": people[1], "dave": people[3]}
    if isinstance(body.get("userId"), str) and body["userId"] in ids:
        body["userId"] = ids[body["userId"]].id
    response = post(client_for(ids[who]), f"/api/groups/{crew.id}/members", body)
    assert response.status_code == status
    assert response.json() == error(status, message)
    assert GroupMember.objects.filter(group=crew).count() == 4


def test_add_member_to_unknown_group_is_404(people, alice_client) -> None:
    response = post(alice_client, f"/api/groups/{UNKNOWN}/members", {"userId": people[3].id})
    assert response.json() == error(404, "Group not found")


def test_remove_member(crew, people, alice_client, layer: FakeLayer, commit) -> None:
    bob = people[1]
    with commit():
        response = alice_client.delete(f"/api/groups/{crew.id}/members/{bob.id}")
    assert response.status_code == 200
    assert response.json() == {"message": "Member removed successfully"}
    assert [p.event for p in layer.sent] == ["group:member:removed"]
    assert alice_client.delete(f"/api/groups/{crew.id}/members/{bob.id}").json() == error(
        400, "User is not a member of this group"
    )
    assert alice_client.delete(f"/api/groups/{crew.id}/members/group-ai-{crew.id}").json() == error(
        400, "The group AI cannot be removed from the group"
    )
    assert alice_client.delete(f"/api/groups/{crew.id}/members/{people[0].id}").json() == error(
        400, "Cannot remove the last admin. Transfer admin rights first or delete the group."
    )
    assert client_for(people[2]).delete(f"/api/groups/{crew.id}/members/{people[0].id}").json() == error(
        403, "Only group admins can remove members"
    )


def test_leave(crew, people, layer: FakeLayer, commit) -> None:
    carol_client = client_for(people[2])
    with commit():
        # The frontend posts with a JSON content type and no body at all.
        response = carol_client.post(f"/api/groups/{crew.id}/leave", content_type="application/json")
    assert response.status_code == 201
    assert response.json() == {"message": "Left group successfully"}
    assert [p.event for p in layer.sent] == ["group:member:removed"]
    again = carol_client.post(f"/api/groups/{crew.id}/leave", content_type="application/json")
    assert again.json() == error(403, "You are not a member of this group")
    assert carol_client.post(f"/api/groups/{UNKNOWN}/leave").json() == error(404, "Group not found")


def test_members(crew, people) -> None:
    alice, bob, carol, dave = people
    response = client_for(bob).get(f"/api/groups/{crew.id}/members")
    assert response.status_code == 200
    body = response.json()
    assert [m["userId"] for m in body] == [alice.id, bob.id, carol.id, f"group-ai-{crew.id}"]
    assert all(list(m) == MEMBER_KEYS for m in body)
    assert "groupId" not in body[0]
    assert client_for(dave).get(f"/api/groups/{crew.id}/members").json() == error(
        403, "You are not a member of this group"
    )
    assert client_for(dave).get(f"/api/groups/{UNKNOWN}/members").json() == error(404, "Group not found")


def test_member_without_profile_has_empty_names(crew, people) -> None:
    Profile.objects.filter(user=people[2]).delete()
    body = client_for(people[0]).get(f"/api/groups/{crew.id}/members").json()
    carol = next(m for m in body if m["userId"] == people[2].id)
    assert carol["user"] == {
        "id": people[2].id,
        "username": "",
        "displayName": "",
        "profilePictureUrl": None,
        "statusMessage": None,
    }


# --- messages, read receipts, unread ----------------------------------------------------------


def test_messages_carry_from_user(crew, people, layer) -> None:
    alice, bob, *_ = people
    services.group_message_send(group_id=crew.id, user_id=bob.id, content="hi @alice")
    response = client_for(alice).get(f"/api/groups/{crew.id}/messages")
    assert response.status_code == 200
    (message,) = response.json()
    assert list(message) == MESSAGE_KEYS
    assert message["mentionedUserIds"] == [alice.id]
    assert message["fromUser"] == {
        "id": bob.id,
        "username": "bob",
        "displayName": "Bob",
        "profilePictureUrl": "https://cdn.example.com/bob.png",
    }
    assert ISO_Z.match(message["timestamp"])
    assert client_for(people[3]).get(f"/api/groups/{crew.id}/messages").json() == error(
        403, "You are not a member of this group"
    )


def test_mark_read_and_unread_count(crew, people, layer) -> None:
    alice, bob, carol, _ = people
    for text in ("one", "two"):
        services.group_message_send(group_id=crew.id, user_id=bob.id, content=text)
    services.group_message_send(group_id=crew.id, user_id=alice.id, content="mine")
    alice_client = client_for(alice)
    assert alice_client.get("/api/groups/unread").json() == {"unreadCount": 2}
    assert client_for(carol).get("/api/groups/unread").json() == {"unreadCount": 3}
    # Body-less JSON POST; a body with messageIds is ignored.
    response = post(alice_client, f"/api/groups/{crew.id}/messages/read", {"messageIds": ["x"]})
    assert response.status_code == 201
    assert response.json() == {"message": "Messages marked as read"}
    assert GroupMessageRead.objects.filter(user=alice).count() == 2
    assert alice_client.get("/api/groups/unread").json() == {"unreadCount": 0}
    response = alice_client.post(f"/api/groups/{crew.id}/messages/read", content_type="application/json")
    assert response.status_code == 201
    assert GroupMessageRead.objects.filter(user=alice).count() == 2
    dave = client_for(people[3])
    assert dave.post(f"/api/groups/{crew.id}/messages/read").json() == error(403, "You are not a member of this group")


# --- the group AI -----------------------------------------------------------------------------


def test_ai_profile_shape_with_live_count_of_human_messages(crew, people, layer) -> None:
    alice, bob, *_ = people
    GroupStyleProfile.objects.filter(group=crew).update(
        message_count=3,
        member_contributions={bob.id: 2},
        common_phrases=["see you soon"],
        emoji_usage={"🎸": 2},
        average_message_length=14,
        tone_indicators={"casual": 60, "formal": 10, "enthusiastic": 30},
        style_prompt="Imitate the group",
    )
    for i in range(4):
        services.group_message_send(group_id=crew.id, user_id=bob.id, content=f"m{i}")
    GroupMessage.objects.create(group=crew, from_user_id=f"group-ai-{crew.id}", content="beep", is_ai_generated=True)
    response = client_for(alice).get(f"/api/groups/{crew.id}/ai/profile")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == [
        "groupId",
        "messageCount",
        "memberContributions",
        "commonPhrases",
        "emojiUsage",
        "averageMessageLength",
        "toneIndicators",
        "stylePrompt",
        "lastUpdated",
    ]
    assert body["groupId"] == str(crew.id)
    assert body["messageCount"] == 4  # live, not the stored 3; the AI's message does not count
    assert body["memberContributions"] == {bob.id: 2}
    assert body["commonPhrases"] == ["see you soon"]
    assert body["emojiUsage"] == {"🎸": 2}
    assert body["averageMessageLength"] == 14
    assert body["toneIndicators"] == {"casual": 60, "formal": 10, "enthusiastic": 30}
    assert body["stylePrompt"] == "Imitate the group"
    assert ISO_Z.match(body["lastUpdated"])
    assert "hasMinimumData" not in body


def test_ai_profile_refusals(crew, people) -> None:
    assert client_for(people[3]).get(f"/api/groups/{crew.id}/ai/profile").json() == error(
        403, "You are not a member of this group"
    )
    GroupStyleProfile.objects.filter(group=crew).delete()
    assert client_for(people[0]).get(f"/api/groups/{crew.id}/ai/profile").json() == error(
        400, "Group AI profile not found"
    )


def test_ai_reset_then_only_new_messages_count(crew, people, layer) -> None:
    alice, bob, *_ = people
    for i in range(3):
        services.group_message_send(group_id=crew.id, user_id=bob.id, content=f"old {i}")
    alice_client = client_for(alice)
    assert alice_client.get(f"/api/groups/{crew.id}/ai/profile").json()["messageCount"] == 3
    assert post(client_for(bob), f"/api/groups/{crew.id}/ai/reset").json() == error(
        403, "Only group admins can reset the AI style"
    )
    response = alice_client.post(f"/api/groups/{crew.id}/ai/reset", content_type="application/json")
    assert response.status_code == 201
    assert response.json() == {"message": "Group AI style reset successfully"}
    assert alice_client.get(f"/api/groups/{crew.id}/ai/profile").json()["messageCount"] == 0
    services.group_message_send(group_id=crew.id, user_id=bob.id, content="new")
    assert alice_client.get(f"/api/groups/{crew.id}/ai/profile").json()["messageCount"] == 1


def test_ai_toggle(crew, people, alice_client) -> None:
    response = patch(alice_client, f"/api/groups/{crew.id}/ai/toggle", {"aiEnabled": False})
    assert response.status_code == 200
    assert list(response.json()) == GROUP_KEYS
    assert response.json()["aiEnabled"] is False
    assert Group.objects.get(id=crew.id).ai_enabled is False


@pytest.mark.parametrize("body", [None, {}, {"aiEnabled": "false"}, {"aiEnabled": 0}, {"aiEnabled": None}])
def test_ai_toggle_needs_a_boolean(crew, alice_client, body) -> None:
    response = patch(alice_client, f"/api/groups/{crew.id}/ai/toggle", body)
    assert response.status_code == 400
    assert response.json()["message"] in ("aiEnabled must be a boolean value", ["aiEnabled must be a boolean value"])
    assert Group.objects.get(id=crew.id).ai_enabled is True


def test_ai_toggle_is_for_admins(crew, people) -> None:
    response = patch(client_for(people[1]), f"/api/groups/{crew.id}/ai/toggle", {"aiEnabled": False})
    assert response.json() == error(403, "Only group admins can toggle the AI")
    assert Group.objects.get(id=crew.id).ai_enabled is True
