"""Socket.IO handlers: direct messages (``message:send``, contract §4.3 to §4.5)."""

from __future__ import annotations

from collections.abc import Awaitable

from chat.schemas.messages import MessageSendIn, parse_payload
from chat.services.message_batch import SendRequest, direct_message_sender
from retrochat.errors import DomainError
from retrochat.realtime.router import events
from retrochat.realtime.sio import EncodedJson
from retrochat.realtime.types import Socket


def socket_user(socket: Socket) -> str:
    """The authenticated user of the socket (the connect hook refuses anonymous sockets)."""
    if socket.user_id is None:
        raise DomainError("Unauthorized", code="unauthorized")
    return socket.user_id


@events.on("message:send", error_event="message:error", failure_message="Failed to send message", pipelined=True)
def on_message_send(socket: Socket, payload: object = None, *_: object) -> Awaitable[EncodedJson]:
    """Store the message, then (after commit) ``message:receive`` to every socket of the recipient and
    ``message:sent`` to every socket of the sender. The ack is the stored Message. Any refusal:
    ``message:error`` ``{error}`` to this socket and an ack error; nothing stored or delivered.

    Pipelined: queued in arrival order, answered when stored."""
    user_id = socket_user(socket)
    data = parse_payload(MessageSendIn, payload)
    request = SendRequest(
        sender_id=user_id, to_user_id=data.to_user_id, content=data.content, client_message_id=data.client_message_id
    )
    # Coalesced with other sends, this socket's next ones included: one transaction and one COMMIT per round.
    return direct_message_sender.submit_nowait(request)
