"""REST endpoints: friends (contract §3.4, plus unfriend, cancel and the outgoing list — docs/API.md)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Router

from chat.schemas.friends import FriendRequestIn, friend_out, friend_request_out, profile_of
from chat.selectors import friends as selectors
from chat.services import friends as services
from retrochat.api import current

router = Router(tags=["friends"])


def json_response(body: Any, *, status: int = 200) -> HttpResponse:
    """The body exactly as built by the schema functions (absent optional keys stay absent)."""
    return JsonResponse(body, status=status, safe=False, json_dumps_params={"ensure_ascii": False})


@router.post("/friends/request", summary="Send a friend request")
def send_request(request: HttpRequest, payload: FriendRequestIn) -> HttpResponse:
    me = current(request).user
    body = services.friend_request_send(from_user_id=me.pk, to_user_id=payload.to_user_id)
    return json_response(body, status=201)


@router.post("/friends/accept/{request_id}", summary="Accept a friend request sent to me")
def accept_request(request: HttpRequest, request_id: str) -> HttpResponse:
    me = current(request).user
    return json_response(services.friend_request_accept(request_id=request_id, user_id=me.pk), status=201)


@router.post("/friends/reject/{request_id}", summary="Reject a friend request sent to me")
def reject_request(request: HttpRequest, request_id: str) -> HttpResponse:
    me = current(request).user
    return json_response(services.friend_request_reject(request_id=request_id, user_id=me.pk), status=201)


@router.post("/friends/cancel/{request_id}", summary="Withdraw a friend request I sent")
def cancel_request(request: HttpRequest, request_id: str) -> HttpResponse:
    me = current(request).user
    return json_response(services.friend_request_cancel(request_id=request_id, user_id=me.pk), status=201)


@router.get("/friends/requests", summary="Pending friend requests sent to me")
def incoming_requests(request: HttpRequest) -> HttpResponse:
    me = current(request).user
    rows = selectors.incoming_requests(user_id=me.pk)
    return json_response([friend_request_out(r, from_profile=profile_of(r.from_user)) for r in rows])


@router.get("/friends/requests/sent", summary="Pending friend requests I sent")
def outgoing_requests(request: HttpRequest) -> HttpResponse:
    me = current(request).user
    rows = selectors.outgoing_requests(user_id=me.pk)
    return json_response([friend_request_out(r, to_profile=profile_of(r.to_user)) for r in rows])


@router.get("/friends", summary="My friends")
def list_friends(request: HttpRequest) -> HttpResponse:
    me = current(request).user
    rows = selectors.friend_list(user_id=me.pk)
    return json_response([friend_out(row.profile, friends_since=row.friends_since) for row in rows])


@router.delete("/friends/{user_id}", summary="Unfriend")
def remove_friend(request: HttpRequest, user_id: str) -> HttpResponse:
    me = current(request).user
    services.friendship_remove(user_id=me.pk, friend_id=user_id)
    return json_response({"message": "Friend removed"})
