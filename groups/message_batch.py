"""Group messages sent over sockets, many per transaction: ``group_message_send_many`` and its `Batcher`.

``group:message:send`` handlers submit to `group_message_sender`; every request that arrives while
a round is on the database thread joins the next round, which runs ``group_message_send_many``:
the same rules, refusals and events as `groups.services.group_message_send`, for many requests —

- each request is checked alone (group id, content, membership) and refused alone, nothing
  stored for it;
- the member cards of each group are read once per round (one query per group);
- the accepted messages are inserted with ONE statement (`retrochat.bulk.insert_new`: COPY on
  PostgreSQL) in ONE transaction, so ONE COMMIT;
- after that COMMIT (and only then), ``group:message:receive`` to every socket of every other
  member and ``group:message:sent`` to every socket of the sender leave, in request order, as one
  layer message that the `Batcher` publishes from the event loop; each group's style check is
  queued once.

Requests carrying a ``clientMessageId`` go through `group_message_send` one by one after the
round's transaction, so idempotent retries keep their exact semantics (replay, conflict).

A request's outcome is returned only after its transaction committed (the ack means stored).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import transaction

from chat.models.accounts import is_ai_user_id
from chat.services.ai_users import group_ai_user_id
from chat.services.batching import Batcher, outcome_of
from groups import selectors
from groups.models import GroupMessage
from groups.schemas import GroupMessageOut, card, message_out
from groups.selectors import NOT_A_MEMBER
from groups.services import group_message_send, resolve_mentions
from retrochat.bulk import insert_new
from retrochat.errors import DomainError, Forbidden
from retrochat.ids import new_uuid4s
from retrochat.realtime.broadcast import broadcast_many_on_commit
from retrochat.validation import clean_text

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GroupSendRequest:
    sender_id: str
    group_id: object
    content: str
    client_message_id: str | None = None


Cards = list[tuple[str, str | None, str | None, str | None]]


def group_message_send_many(requests: Sequence[GroupSendRequest]) -> list[GroupMessageOut | DomainError]:
    """One outcome per request, in order: the stored message (ack), or the refusal (`DomainError`)."""
    outcomes: list[GroupMessageOut | DomainError | None] = [None] * len(requests)
    one_by_one: list[int] = []
    checked: list[tuple[int, uuid.UUID, str]] = []
    for i, request in enumerate(requests):
        if request.client_message_id is not None:
            one_by_one.append(i)
            continue
        try:
            gid = selectors.parse_uuid(request.group_id)
            if gid is None:
                raise Forbidden(NOT_A_MEMBER)
            text = clean_text(request.content)
        except DomainError as exc:
            outcomes[i] = exc
            continue
        checked.append((i, gid, text))

    if checked:
        with transaction.atomic():
            cards: dict[uuid.UUID, Cards] = {}
            rows: list[tuple[int, GroupMessage, Cards]] = []
            ids = iter(new_uuid4s(len(checked)))
            for i, gid, text in checked:
                if gid not in cards:
                    cards[gid] = selectors.member_cards(gid)
                sender_id = requests[i].sender_id
                if not any(c[0] == sender_id for c in cards[gid]):
                    outcomes[i] = Forbidden(NOT_A_MEMBER)
                    continue
                names = ((uid, username, display) for uid, username, display, _ in cards[gid])
                message = GroupMessage(
                    id=next(ids),
                    group_id=gid,
                    from_user_id=sender_id,
                    content=text,
                    mentioned_user_ids=resolve_mentions(text, names, ai_user_id=group_ai_user_id(gid)),
                )
                rows.append((i, message, cards[gid]))
            if rows:
                insert_new([message for _, message, _ in rows])
                emits: list[tuple[str, Any, list[str]]] = []
                for i, message, members in rows:
                    sender = next(c for c in members if c[0] == message.from_user_id)
                    payload = message_out(message, card(*sender))
                    others = [c[0] for c in members if c[0] != message.from_user_id and not is_ai_user_id(c[0])]
                    if others:
                        emits.append(("group:message:receive", payload, others))
                    emits.append(("group:message:sent", payload, [message.from_user_id]))
                    outcomes[i] = payload
                broadcast_many_on_commit(emits)
                for gid in dict.fromkeys(message.group_id for _, message, _ in rows):
                    _style_check_after_commit(gid)

    for i in one_by_one:
        request = requests[i]
        outcomes[i] = outcome_of(
            partial(
                group_message_send,
                group_id=request.group_id,
                user_id=request.sender_id,
                content=request.content,
                client_message_id=request.client_message_id,
            ),
            what=f"group:message:send from {request.sender_id}",
        )
    return [outcome for outcome in outcomes if outcome is not None]


def _style_check_after_commit(group_id: uuid.UUID) -> None:
    from aifriend.services import group_style_refresh_soon  # the AI app imports the groups app

    group_style_refresh_soon(group_id=group_id)


group_message_sender: Batcher[GroupSendRequest, GroupMessageOut] = Batcher(
    group_message_send_many, name="group-message-send"
)
"""What ``group:message:send`` handlers await: ``await group_message_sender.submit(GroupSendRequest(...))``."""
