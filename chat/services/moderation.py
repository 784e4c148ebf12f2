"""Write paths of message moderation: an admin removes a direct message."""

from __future__ import annotations

from django.db import transaction

from chat.models import DirectMessage
from retrochat.realtime.broadcast import broadcast_on_commit


def direct_message_delete(*, message: DirectMessage) -> None:
    """Delete the message; both participants' sockets are told with `message:deleted` (additive)."""
    payload = {"messageId": str(message.pk), "fromUserId": message.from_user_id, "toUserId": message.to_user_id}
    with transaction.atomic():
        DirectMessage.objects.filter(pk=message.pk).delete()
        broadcast_on_commit("message:deleted", payload, user_ids=[message.from_user_id, message.to_user_id])
