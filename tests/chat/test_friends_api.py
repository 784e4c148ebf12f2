"""Friends over REST (contract §3.4 + the additive unfriend/cancel/outgoing routes) and their events."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from chat.models import FriendRequest, FriendRequestStatus, Friendship
from chat.selectors import friends as selectors
from chat.services.ai_users import ensure_ai_friend, ensure_group_ai_user
from tests.chat.dm_factories import (
    RecordingLayer,
    befriend,
    client_for,
    make_user,
)

pytestmark = pytest.mark.django_db

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def summary(user: Any) -> dict[str, Any]:
    p = user.profile
    return {
        "id": user.id,
        "username": p.username,
        "displayName": p.display_name,
        "profilePictureUrl": p.profile_picture_url,
    }


def post(client: Any, path: str, body: Any = None) -> Any:
    if body is None:  # the frontend's body-less JSON POST (data="": the test client sends "{}" for None)
        return client.post(path, "", content_type="application/json")
    return client.post(path, body, content_type="application/json")


# --- POST /api/friends/request -------------------------------------------------------------------


def test_request_created_with_both_user_cards_and_event_to_recipient_after_commit(
    layer: RecordingLayer, django_capture_on_commit_callbacks: Any
) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(client_for(alice), "/api/friends/request", {"toUserId": bob.id})
        assert layer.sent == []  # nothing before the commit
    assert response.status_code == 201
    body = response.json()
    row = FriendRequest.objects.get()
    assert body == {
        "id": str(row.id),
        "fromUserId": alice.id,
        "toUserId": bob.id,
        "status": "pending",
        "createdAt": body["createdAt"],
        "fromUser": summary(alice),
        "toUser": summary(bob),
    }
    assert ISO_Z.match(body["createdAt"])
    assert (row.from_user_id, row.to_user_id, row.status) == (alice.id, bob.id, "pending")

    for callback in callbacks:
        callback()
    assert layer.events() == [("friend:request", [bob.id])]
    assert layer.sent[0].payload == body
    assert layer.sent[0].group == f"rt.user.{bob.id}"


def test_request_omits_cards_of_users_without_profile(layer: RecordingLayer) -> None:
    alice, ghost = make_user("alice", profile=False), make_user("ghost", profile=False)
    body = post(client_for(alice), "/api/friends/request", {"toUserId": ghost.id}).json()
    assert "fromUser" not in body
    assert "toUser" not in body
    assert set(body) == {"id", "fromUserId", "toUserId", "status", "createdAt"}


@pytest.mark.parametrize(
    ("body", "messages"),
    [
        ({}, ["toUserId should not be empty"]),
        ({"toUserId": ""}, ["toUserId should not be empty"]),
        ({"toUserId": 42}, ["toUserId must be a string"]),
        ({"toUserId": "x", "extra": 1}, ["property extra should not exist"]),
    ],
)
def test_request_body_validation(body: dict[str, Any], messages: list[str]) -> None:
    alice = make_user("alice")
    response = post(client_for(alice), "/api/friends/request", body)
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "message": messages, "error": "Bad Request"}
    assert not FriendRequest.objects.exists()


def test_request_check_order_and_messages(layer: RecordingLayer, django_capture_on_commit_callbacks: Any) -> None:
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    client = client_for(alice)

    def refused(to: str) -> tuple[int, Any]:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            r = post(client, "/api/friends/request", {"toUserId": to})
        assert callbacks == []
        return r.status_code, r.json()["message"]

    assert refused(alice.id) == (400, "Cannot send friend request to yourself")
    assert refused("nobody-at-all") == (404, "Recipient user not found")
    befriend(alice, bob)
    assert refused(bob.id) == (409, "Users are already friends")
    FriendRequest.objects.create(from_user=carol, to_user=alice)  # pending in the other direction
    assert refused(carol.id) == (409, "Friend request already exists")
    assert FriendRequest.objects.count() == 1
    assert layer.sent == []


def test_request_to_ai_users_is_refused() -> None:
    alice = make_user("alice")
    ensure_ai_friend()
    group_ai = ensure_group_ai_user(uuid.uuid4())
    for target in ("kirhost", group_ai.id):
        response = post(client_for(alice), "/api/friends/request", {"toUserId": target})
        assert response.status_code == 400
        assert response.json()["message"] == "Cannot send friend request to an AI user"
    assert not FriendRequest.objects.exists()


def test_same_direction_duplicate_is_409_and_rejected_requests_do_not_block() -> None:
    alice, bob = make_user("alice"), make_user("bob")
    client = client_for(alice)
    first = post(client, "/api/friends/request", {"toUserId": bob.id})
    assert first.status_code == 201
    again = post(client, "/api/friends/request", {"toUserId": bob.id})
    assert (again.status_code, again.json()["message"]) == (409, "Friend request already exists")
    assert post(client_for(bob), f"/api/friends/reject/{first.json()['id']}").status_code == 201
    assert post(client, "/api/friends/request", {"toUserId": bob.id}).status_code == 201
    assert FriendRequest.objects.filter(status="pending").count() == 1


def test_unauthenticated_is_401_with_better_auth_body() -> None:
    from django.test import Client

    response = Client().get("/api/friends")
    assert response.status_code == 401
    assert response.json() == {"code": "UNAUTHORIZED", "message": "Unauthorized"}


# --- accept / reject / cancel ------------------------------------------------------------------


def test_accept_creates_friendship_and_tells_only_the_requester_after_commit(
    layer: RecordingLayer, django_capture_on_commit_callbacks: Any
) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    req = FriendRequest.objects.create(from_user=alice, to_user=bob)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(client_for(bob), f"/api/friends/accept/{req.id}")
    assert layer.sent == []
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == str(req.id)
    assert body["status"] == "accepted"
    assert (body["fromUserId"], body["toUserId"]) == (alice.id, bob.id)
    assert body["toUser"] == summary(bob)  # the accepter
    assert body["fromUser"] == summary(alice)
    friendship = Friendship.objects.get()
    assert (friendship.user1_id, friendship.user2_id) == (alice.id, bob.id)

    for callback in callbacks:
        callback()
    assert layer.events() == [("friend:accepted", [alice.id])]
    assert layer.sent[0].payload == body


def test_accept_and_reject_refusals() -> None:
    alice, bob, mallory = make_user("alice"), make_user("bob"), make_user("mallory")
    req = FriendRequest.objects.create(from_user=alice, to_user=bob)

    def answer(client: Any, action: str, rid: object) -> tuple[int, str]:
        r = post(client, f"/api/friends/{action}/{rid}")
        return r.status_code, r.json()["message"]

    for action in ("accept", "reject"):
        # Unknown, malformed and somebody else's request: the same 404.
        assert answer(client_for(bob), action, uuid.uuid4()) == (404, "Friend request not found")
        assert answer(client_for(bob), action, "not-a-uuid") == (404, "Friend request not found")
        assert answer(client_for(mallory), action, req.id) == (404, "Friend request not found")
        # The requester knows the request: told it is not theirs to answer.
        assert answer(client_for(alice), action, req.id) == (400, f"You can only {action} friend requests sent to you")
    req.refresh_from_db()
    assert req.status == "pending"

    assert post(client_for(bob), f"/api/friends/reject/{req.id}").status_code == 201
    assert answer(client_for(bob), "accept", req.id) == (400, "Friend request is not pending")
    assert answer(client_for(bob), "reject", req.id) == (400, "Friend request is not pending")
    assert not Friendship.objects.exists()


def test_reject_body_has_no_cards_and_no_event(layer: RecordingLayer, django_capture_on_commit_callbacks: Any) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    req = FriendRequest.objects.create(from_user=alice, to_user=bob)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post(client_for(bob), f"/api/friends/reject/{req.id}")
    assert callbacks == []
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "fromUserId", "toUserId", "status", "createdAt"}
    assert body["status"] == "rejected"
    assert layer.sent == []


def test_cancel_outgoing_request(layer: RecordingLayer, django_capture_on_commit_callbacks: Any) -> None:
    alice, bob, mallory = make_user("alice"), make_user("bob"), make_user("mallory")
    req = FriendRequest.objects.create(from_user=alice, to_user=bob)

    assert post(client_for(mallory), f"/api/friends/cancel/{req.id}").status_code == 404
    refused = post(client_for(bob), f"/api/friends/cancel/{req.id}")
    assert (refused.status_code, refused.json()["message"]) == (400, "You can only cancel friend requests you sent")

    with django_capture_on_commit_callbacks(execute=True):
        response = post(client_for(alice), f"/api/friends/cancel/{req.id}")
    assert response.status_code == 201
    assert response.json()["status"] == "cancelled"
    req.refresh_from_db()
    assert req.status == FriendRequestStatus.CANCELLED
    assert layer.events() == [("friend:request:cancelled", [bob.id])]
    assert layer.sent[0].payload == response.json()
    # The pair is free again, and the recipient no longer sees it.
    assert client_for(bob).get("/api/friends/requests").json() == []
    assert post(client_for(alice), "/api/friends/request", {"toUserId": bob.id}).status_code == 201


# --- lists ---------------------------------------------------------------------------------------


def test_incoming_requests_pending_to_me_oldest_first_with_sender_card() -> None:
    me, a, b, c, ghost = make_user("me"), make_user("a"), make_user("b"), make_user("c"), make_user("g", profile=False)
    first = FriendRequest.objects.create(from_user=a, to_user=me)
    FriendRequest.objects.create(from_user=b, to_user=me, status="rejected")
    FriendRequest.objects.create(from_user=me, to_user=c)  # outgoing: not listed
    second = FriendRequest.objects.create(from_user=ghost, to_user=me)
    body = client_for(me).get("/api/friends/requests").json()
    assert [r["id"] for r in body] == [str(first.id), str(second.id)]
    assert body[0]["fromUser"] == summary(a)
    assert "fromUser" not in body[1]
    assert "toUser" not in body[0]

    sent = client_for(me).get("/api/friends/requests/sent").json()
    assert [(r["toUserId"], r["toUser"]) for r in sent] == [(c.id, summary(c))]


def test_friend_list_shape_order_and_query_count(django_assert_num_queries: Any) -> None:
    me = make_user("me")
    friends = [make_user(f"f{i}") for i in range(4)]
    ghost = make_user("ghost", profile=False)
    stranger = make_user("stranger")
    befriend(friends[2], me)
    befriend(me, friends[0])
    befriend(me, ghost)  # no profile: dropped
    befriend(friends[1], me)
    befriend(friends[3], stranger)
    with django_assert_num_queries(1):  # one query for the whole list, profiles included
        rows = selectors.friend_list(user_id=me.id)
    assert len(rows) == 3
    body = client_for(me).get("/api/friends").json()
    assert [f["id"] for f in body] == [friends[2].id, friends[0].id, friends[1].id]
    f = friends[2].profile
    assert body[0] == {
        "id": friends[2].id,
        "username": f.username,
        "displayName": f.display_name,
        "statusMessage": f.status_message,
        "profilePictureUrl": f.profile_picture_url,
        "friendsSince": body[0]["friendsSince"],
    }
    assert ISO_Z.match(body[0]["friendsSince"])


# --- unfriend ------------------------------------------------------------------------------------


def test_unfriend_removes_the_pair_and_tells_both(
    layer: RecordingLayer, django_capture_on_commit_callbacks: Any
) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    befriend(bob, alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).delete(f"/api/friends/{bob.id}")
    assert response.status_code == 200
    assert response.json() == {"message": "Friend removed"}
    assert not Friendship.objects.exists()
    assert sorted((p.event, p.users[0], p.payload["userId"]) for p in layer.sent) == sorted(
        [("friend:removed", alice.id, bob.id), ("friend:removed", bob.id, alice.id)]
    )
    again = client_for(alice).delete(f"/api/friends/{bob.id}")
    assert (again.status_code, again.json()["message"]) == (404, "Friendship not found")
    assert client_for(alice).delete(f"/api/friends/{alice.id}").status_code == 404
