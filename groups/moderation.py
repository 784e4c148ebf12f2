"""Write paths of group moderation: an admin removes a group message."""

from __future__ import annotations

from django.db import transaction

from groups.models import GroupMember, GroupMessage
from retrochat.realtime.broadcast import broadcast_on_commit


def group_message_delete(*, message: GroupMessage) -> None:
    """Delete the message; current members' sockets get `group:message:deleted` (additive)."""
    payload = {"groupId": str(message.group_id), "messageId": str(message.pk)}
    with transaction.atomic():
        member_ids = list(GroupMember.objects.filter(group_id=message.group_id).values_list("user_id", flat=True))
        GroupMessage.objects.filter(pk=message.pk).delete()
        broadcast_on_commit("group:message:deleted", payload, user_ids=member_ids)
