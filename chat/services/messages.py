"""Write paths of direct messages: sending (idempotent, persist-then-deliver) and read marking.

``message_send`` is what the ``message:send`` socket event runs. The row is committed first;
only then do ``message:receive`` (every socket of the recipient) and ``message:sent`` (every
socket of the sender, so all of the sender's tabs stay in sync) leave, both carrying the stored
Message. A refusal raises before anything is written, so nothing is stored or delivered.

A sender may attach a ``clientMessageId`` (unique per sender, enforced by the database): sending
again with the same id returns the stored message and delivers nothing a second time, even when
the two attempts race each other.

After a stored send, the sender's AI-friend style profile is refreshed in the background
(``aifriend.services.style_profile_refresh_soon``, after the commit) as the contract's flow asks.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from chat.models import DirectMessage
from chat.models.accounts import is_ai_user_id
from chat.schemas.messages import message_out
from chat.selectors.friends import are_friends
from chat.selectors.messages import message_not_found, parse_message_id
from retrochat.errors import BadRequest, Conflict, Forbidden
from retrochat.realtime.broadcast import broadcast_on_commit
from retrochat.realtime.sio import EncodedJson
from retrochat.validation import clean_text

NOT_FRIENDS = "You can only send messages to your friends"


@dataclass(frozen=True)
class SendResult:
    message: DirectMessage
    created: bool  # False: a retried clientMessageId, nothing was delivered again
    encoded: EncodedJson | None = None  # the Message as sent to sockets, when already encoded


def _stored(sender_id: str, client_message_id: str) -> DirectMessage | None:
    return DirectMessage.objects.filter(from_user_id=sender_id, client_message_id=client_message_id).first()


def _replay(stored: DirectMessage, to_user_id: str) -> SendResult:
    if stored.to_user_id != to_user_id:
        raise Conflict("clientMessageId was already used for another message")
    return SendResult(message=stored, created=False)


def message_send(
    *, sender_id: str, to_user_id: str, content: object, client_message_id: str | None = None
) -> SendResult:
    """Store a direct message to a friend and queue its delivery for after the commit.

    Refused (nothing stored): empty/oversized content (400), an AI recipient (400 — the AI friend
    has its own event), anyone who is not a friend of the sender, unknown ids included (403, the
    same answer for both so ids cannot be probed). Queries: 2 (friendship, insert), +1 lookup with
    a ``clientMessageId``.
    """
    text = clean_text(content)
    if is_ai_user_id(to_user_id):
        raise BadRequest("Cannot send direct messages to an AI user")
    if client_message_id is not None:
        stored = _stored(sender_id, client_message_id)
        if stored is not None:
            return _replay(stored, to_user_id)
    if not are_friends(user_id=sender_id, other_id=to_user_id):
        raise Forbidden(NOT_FRIENDS)

    with transaction.atomic():
        message = DirectMessage(
            from_user_id=sender_id, to_user_id=to_user_id, content=text, client_message_id=client_message_id
        )
        if client_message_id is None:
            message.save(force_insert=True)
        else:
            try:
                with transaction.atomic():
                    message.save(force_insert=True)
            except IntegrityError:
                # A concurrent attempt with the same clientMessageId committed first: it delivers, we replay.
                stored = _stored(sender_id, client_message_id)
                if stored is None:
                    raise
                return _replay(stored, to_user_id)
        payload = message_out(message)
        broadcast_on_commit("message:receive", payload, user_ids=[to_user_id])
        broadcast_on_commit("message:sent", payload, user_ids=[sender_id])
        _style_profile_refresh_soon(sender_id)
    return SendResult(message=message, created=True)


def _style_profile_refresh_soon(user_id: str) -> None:
    """The sender's AI-friend style profile learns from the new message (contract §4.5, §5.3).

    Fire-and-forget after the commit, on the AI app's worker pool; imported here, not at module
    level, because the AI app builds on this one.
    """
    from aifriend.services import style_profile_refresh_soon

    style_profile_refresh_soon(user_id=user_id)


def message_mark_read(*, message_id: str, user_id: str) -> None:
    """``POST /api/messages/read/:id``: only the recipient may; for anyone else the message does not exist."""
    pk = parse_message_id(message_id)
    if pk is None or not DirectMessage.objects.filter(pk=pk, to_user_id=user_id).update(is_read=True):
        raise message_not_found(message_id)
