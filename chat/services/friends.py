"""Write paths of the social graph: friend requests (send, accept, reject, cancel) and unfriending.

Every function checks access, validates, writes in one transaction and queues its socket events
with `broadcast_on_commit`, so nobody hears of a request or friendship that was rolled back.
The database enforces the invariants (one pending request per unordered pair, one friendship per
pair); an insert that loses a race gets the same 409 as the sequential check would have given.

Events (contract §4.4, plus additive ones):

- ``friend:request``   FriendRequest with ``fromUser``/``toUser`` → every socket of the recipient
- ``friend:accepted``  FriendRequest (accepted) with ``toUser`` = accepter → every socket of the requester,
  then ``user:status`` online of each new friend who is online → the other one (presence is shared
  from now on)
- ``friend:request:cancelled`` FriendRequest (cancelled) → every socket of the recipient (additive)
- ``friend:removed``   ``{userId: <the other one>}`` → every socket of both users (additive)
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction

from chat.models import FriendRequest, FriendRequestStatus, Friendship, Profile, User
from chat.models.accounts import is_ai_user_id
from chat.schemas.friends import FriendRemovedOut, FriendRequestOut, friend_request_out, profile_of
from chat.selectors.friends import friendship_pair
from chat.services.friend_cache import friend_ids_changed_on_commit
from chat.services.presence import presence_share_on_commit
from retrochat.errors import BadRequest, Conflict, NotFound
from retrochat.realtime.broadcast import broadcast_on_commit

REQUEST_NOT_FOUND = "Friend request not found"
NOT_PENDING = "Friend request is not pending"
ALREADY_FRIENDS = "Users are already friends"
REQUEST_EXISTS = "Friend request already exists"


def _pending_between(user_id: str, other_id: str) -> bool:
    return FriendRequest.objects.filter(
        status=FriendRequestStatus.PENDING,
        from_user_id__in=(user_id, other_id),
        to_user_id__in=(user_id, other_id),
    ).exists()


def friend_request_send(*, from_user_id: str, to_user_id: str) -> FriendRequestOut:
    """``POST /api/friends/request``: the checks of contract §3.4, in its order, then insert + notify."""
    if from_user_id == to_user_id:
        raise BadRequest("Cannot send friend request to yourself")
    if is_ai_user_id(to_user_id):
        raise BadRequest("Cannot send friend request to an AI user")

    users = {u.pk: u for u in User.objects.filter(pk__in=(from_user_id, to_user_id)).select_related("profile")}
    sender, recipient = users.get(from_user_id), users.get(to_user_id)
    if sender is None:
        raise NotFound("Sender user not found")
    if recipient is None:
        raise NotFound("Recipient user not found")

    with transaction.atomic():
        if Friendship.objects.filter(friendship_pair(from_user_id, to_user_id)).exists():
            raise Conflict(ALREADY_FRIENDS)
        if _pending_between(from_user_id, to_user_id):
            raise Conflict(REQUEST_EXISTS)
        try:
            with transaction.atomic():
                request = FriendRequest.objects.create(from_user=sender, to_user=recipient)
        except IntegrityError as exc:
            # Lost a race against an identical (or opposite) request: the partial unique index spoke.
            raise Conflict(REQUEST_EXISTS) from exc
        payload = friend_request_out(request, from_profile=profile_of(sender), to_profile=profile_of(recipient))
        broadcast_on_commit("friend:request", payload, user_ids=[to_user_id])
    return payload


def _locked_request(*, request_id: str, user_id: str) -> FriendRequest:
    """The request row, locked until the end of the transaction, if ``user_id`` is one of its two users.

    A malformed id, a missing request and somebody else's request are the same 404.
    """
    try:
        pk = uuid.UUID(request_id)
    except (ValueError, TypeError):
        raise NotFound(REQUEST_NOT_FOUND) from None
    request = FriendRequest.objects.select_for_update().filter(pk=pk).first()
    if request is None or user_id not in (request.from_user_id, request.to_user_id):
        raise NotFound(REQUEST_NOT_FOUND)
    return request


def _profiles(*user_ids: str) -> dict[str, Profile]:
    return {p.user_id: p for p in Profile.objects.filter(user_id__in=user_ids)}


def friend_request_accept(*, request_id: str, user_id: str) -> FriendRequestOut:
    """``POST /api/friends/accept/:id``: request → accepted and the friendship, in one transaction.

    The request row is locked (SELECT … FOR UPDATE), so two accepts racing produce one friendship:
    the second sees "not pending".
    """
    with transaction.atomic():
        request = _locked_request(request_id=request_id, user_id=user_id)
        if request.to_user_id != user_id:
            raise BadRequest("You can only accept friend requests sent to you")
        if request.status != FriendRequestStatus.PENDING:
            raise BadRequest(NOT_PENDING)
        request.status = FriendRequestStatus.ACCEPTED
        request.save(update_fields=["status"])
        try:
            with transaction.atomic():
                Friendship.objects.create(user1_id=request.from_user_id, user2_id=request.to_user_id)
        except IntegrityError as exc:
            raise Conflict(ALREADY_FRIENDS) from exc
        profiles = _profiles(request.from_user_id, request.to_user_id)
        payload = friend_request_out(
            request,
            from_profile=profiles.get(request.from_user_id),
            to_profile=profiles.get(request.to_user_id),
        )
        friend_ids_changed_on_commit([request.from_user_id, request.to_user_id])
        broadcast_on_commit("friend:accepted", payload, user_ids=[request.from_user_id])
        presence_share_on_commit(user_id=request.from_user_id, other_id=request.to_user_id)
    return payload


def _close_pending(
    *, request_id: str, user_id: str, as_recipient: bool, status: FriendRequestStatus, not_yours: str
) -> FriendRequest:
    """Inside a transaction: lock the request, check that ``user_id`` is its recipient (or sender) and
    that it is still pending, then move it to ``status``."""
    request = _locked_request(request_id=request_id, user_id=user_id)
    if (request.to_user_id if as_recipient else request.from_user_id) != user_id:
        raise BadRequest(not_yours)
    if request.status != FriendRequestStatus.PENDING:
        raise BadRequest(NOT_PENDING)
    request.status = status
    request.save(update_fields=["status"])
    return request


def friend_request_reject(*, request_id: str, user_id: str) -> FriendRequestOut:
    """``POST /api/friends/reject/:id``: the recipient declines; the sender is not told (contract)."""
    with transaction.atomic():
        request = _close_pending(
            request_id=request_id,
            user_id=user_id,
            as_recipient=True,
            status=FriendRequestStatus.REJECTED,
            not_yours="You can only reject friend requests sent to you",
        )
    return friend_request_out(request)


def friend_request_cancel(*, request_id: str, user_id: str) -> FriendRequestOut:
    """``POST /api/friends/cancel/:id`` (additive): the sender withdraws a pending request."""
    with transaction.atomic():
        request = _close_pending(
            request_id=request_id,
            user_id=user_id,
            as_recipient=False,
            status=FriendRequestStatus.CANCELLED,
            not_yours="You can only cancel friend requests you sent",
        )
        payload = friend_request_out(request)
        broadcast_on_commit("friend:request:cancelled", payload, user_ids=[request.to_user_id])
    return payload


def friendship_remove(*, user_id: str, friend_id: str) -> FriendRemovedOut:
    """``DELETE /api/friends/:userId`` (additive): end the friendship; both users are told.

    Messages stay (each side keeps its history); new messages, typing and presence stop at once.
    """
    if user_id == friend_id:
        raise NotFound("Friendship not found")
    with transaction.atomic():
        deleted, _ = Friendship.objects.filter(friendship_pair(user_id, friend_id)).delete()
        if not deleted:
            raise NotFound("Friendship not found")
        friend_ids_changed_on_commit([user_id, friend_id])
        broadcast_on_commit("friend:removed", {"userId": friend_id}, user_ids=[user_id])
        broadcast_on_commit("friend:removed", {"userId": user_id}, user_ids=[friend_id])
    return {"userId": friend_id}
