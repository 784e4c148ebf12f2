"""Direct messages on the wire (contract §3.2 Message) and the socket payloads that carry them."""

from __future__ import annotations

from typing import NotRequired, TypedDict, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from chat.models import DirectMessage
from retrochat.errors import BadRequest
from retrochat.timefmt import iso_z

MAX_CLIENT_MESSAGE_ID_LENGTH = 64

M = TypeVar("M", bound=BaseModel)


class SocketPayload(BaseModel):
    """Base of socket event payloads: strict types, unknown keys ignored (clients may add some)."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class MessageSendIn(SocketPayload):
    """``message:send`` ``{toUserId, content, clientMessageId?}``; content rules live in the service."""

    to_user_id: str = Field(alias="toUserId", min_length=1, max_length=64)
    content: str
    client_message_id: str | None = Field(
        default=None, alias="clientMessageId", min_length=1, max_length=MAX_CLIENT_MESSAGE_ID_LENGTH
    )


class MessageOut(TypedDict):
    id: str
    fromUserId: str
    toUserId: str
    content: str
    timestamp: str
    isRead: bool
    isAIGenerated: bool
    clientMessageId: NotRequired[str]


class UnreadCountOut(TypedDict):
    count: int


def message_out(message: DirectMessage) -> MessageOut:
    """The Message object: exactly the row, plus ``clientMessageId`` when the sender chose one."""
    out: MessageOut = {
        "id": str(message.id),
        "fromUserId": message.from_user_id,
        "toUserId": message.to_user_id,
        "content": message.content,
        "timestamp": iso_z(message.timestamp),
        "isRead": message.is_read,
        "isAIGenerated": message.is_ai_generated,
    }
    if message.client_message_id is not None:
        out["clientMessageId"] = message.client_message_id
    return out


def parse_payload(model: type[M], payload: object) -> M:
    """Validate a socket event payload; a bad one is refused with the same wording as REST bodies."""
    from retrochat.api import validation_messages

    if not isinstance(payload, dict):
        raise BadRequest("Payload must be a JSON object", code="invalid_payload")
    try:
        return model.model_validate(payload)
    except PydanticValidationError as exc:
        errors = [dict(err) for err in exc.errors(include_url=False, include_input=False)]
        raise BadRequest("; ".join(validation_messages(errors)), code="invalid_payload") from exc
