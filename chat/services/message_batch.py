"""Direct messages sent over sockets, many per transaction: ``message_send_many`` and its `Batcher`.

``message:send`` handlers submit to `direct_message_sender`; every request that arrives while a
round is on the database thread joins the next round, which runs ``message_send_many``: the same
rules, refusals and events as `chat.services.messages.message_send`, for many requests at once —

- each request is checked alone (content, AI recipient) and refused alone, nothing stored for it;
- the senders' friend sets come from this worker's `friend_cache` (filled when their sockets
  connected, dropped when a friendship of theirs changes), the missing ones from ONE query, and
  a recipient the cache does not list is looked up again in the database before the request
  is refused (403) — so a round of friends' messages usually costs no query at all;
- the accepted messages are inserted with ONE statement (`retrochat.bulk.insert_new`: COPY on
  PostgreSQL) in ONE transaction, so ONE COMMIT;
- after that COMMIT (and only then), ``message:receive`` to every socket of each recipient and
  ``message:sent`` to every socket of each sender leave, in request order, as one layer message
  that the `Batcher` publishes from the event loop; each sender's style profile refresh is queued
  once.

Requests carrying a ``clientMessageId`` go through `message_send` one by one after the round's
transaction, so idempotent retries keep their exact semantics (replay, conflict, races).

A request's outcome is returned only after its transaction committed (the ack means stored).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import transaction

from chat.models import DirectMessage
from chat.models.accounts import is_ai_user_id
from chat.schemas.messages import message_out
from chat.selectors.friends import friend_ids_of_many
from chat.services.batching import Batcher, outcome_of
from chat.services.friend_cache import friend_cache
from chat.services.messages import NOT_FRIENDS, SendResult, message_send
from retrochat.bulk import insert_new
from retrochat.errors import BadRequest, DomainError, Forbidden
from retrochat.ids import new_uuid4s
from retrochat.realtime.broadcast import broadcast_many_on_commit
from retrochat.realtime.sio import EncodedJson
from retrochat.validation import clean_text

logger = logging.getLogger(__name__)

AI_RECIPIENT = "Cannot send direct messages to an AI user"


@dataclass(frozen=True, slots=True)
class SendRequest:
    sender_id: str
    to_user_id: str
    content: object
    client_message_id: str | None = None


def message_send_many(requests: Sequence[SendRequest]) -> list[SendResult | DomainError]:
    """One outcome per request, in order: the `SendResult`, or the refusal (`DomainError`)."""
    outcomes: list[SendResult | DomainError | None] = [None] * len(requests)
    one_by_one: list[int] = []
    checked: list[tuple[int, str]] = []
    for i, request in enumerate(requests):
        if request.client_message_id is not None:
            one_by_one.append(i)
            continue
        try:
            text = clean_text(request.content)
            if is_ai_user_id(request.to_user_id):
                raise BadRequest(AI_RECIPIENT)
        except DomainError as exc:
            outcomes[i] = exc
            continue
        checked.append((i, text))

    if checked:
        friends = friend_cache.friend_sets((requests[i].sender_id for i, _ in checked), _friend_ids_of)
        # The cache may not know yet of a friendship made through another worker: a "no" is
        # asked again of the database (a "yes" cannot outlive a removal, which drops the entry).
        doubtful = [r.sender_id for r in (requests[i] for i, _ in checked) if r.to_user_id not in friends[r.sender_id]]
        if doubtful:
            friends.update(friend_cache.friend_sets(doubtful, _friend_ids_of, fresh=True))
        rows: list[tuple[int, DirectMessage]] = []
        ids = iter(new_uuid4s(len(checked)))
        for i, text in checked:
            request = requests[i]
            if request.to_user_id not in friends[request.sender_id]:
                outcomes[i] = Forbidden(NOT_FRIENDS)
                continue
            message = DirectMessage(
                id=next(ids), from_user_id=request.sender_id, to_user_id=request.to_user_id, content=text
            )
            rows.append((i, message))
        if rows:
            with transaction.atomic():
                insert_new([message for _, message in rows])
                emits: list[tuple[str, Any, list[str]]] = []
                for i, message in rows:
                    # Encoded once for message:receive, message:sent and the sender's ack.
                    payload = EncodedJson.of(message_out(message))
                    emits.append(("message:receive", payload, [message.to_user_id]))
                    emits.append(("message:sent", payload, [message.from_user_id]))
                    outcomes[i] = SendResult(message=message, created=True, encoded=payload)
                broadcast_many_on_commit(emits)
                for sender_id in dict.fromkeys(message.from_user_id for _, message in rows):
                    _style_profile_refresh_soon(sender_id)

    for i in one_by_one:
        request = requests[i]
        outcomes[i] = outcome_of(
            partial(
                message_send,
                sender_id=request.sender_id,
                to_user_id=request.to_user_id,
                content=request.content,
                client_message_id=request.client_message_id,
            ),
            what=f"message:send from {request.sender_id}",
        )
    return [outcome for outcome in outcomes if outcome is not None]


def _friend_ids_of(user_ids: list[str]) -> dict[str, list[str]]:
    return friend_ids_of_many(user_ids=user_ids)


def _style_profile_refresh_soon(user_id: str) -> None:
    from aifriend.services import style_profile_refresh_soon  # the AI app builds on this one

    style_profile_refresh_soon(user_id=user_id)


def message_send_many_acks(requests: Sequence[SendRequest]) -> list[EncodedJson | DomainError]:
    """`message_send_many`, each success as the ack a socket sends: the stored Message, encoded."""
    return [
        outcome if isinstance(outcome, DomainError) else outcome.encoded or EncodedJson.of(message_out(outcome.message))
        for outcome in message_send_many(requests)
    ]


direct_message_sender: Batcher[SendRequest, EncodedJson] = Batcher(message_send_many_acks, name="message-send")
"""What ``message:send`` handlers queue into: ``direct_message_sender.submit_nowait(SendRequest(...))``."""
