"""Write paths of account moderation (used by the Django admin and ops commands)."""

from __future__ import annotations

from django.db import transaction

from chat.models import AuthSession, User
from chat.models.accounts import GROUP_AI_PREFIX, is_ai_user_id
from retrochat.realtime.broadcast import disconnect_on_commit


def user_deactivate(*, user: User) -> int:
    """Block the user: no sign-in, every session ended, every socket closed (on all workers).

    Returns the number of sessions ended.
    """
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        ended, _ = AuthSession.objects.filter(user=user).delete()
        disconnect_on_commit([user.pk], reason="account deactivated")
    user.is_active = False
    return ended


def user_reactivate(*, user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_active=True)
    user.is_active = True


def user_delete(*, user: User) -> dict[str, int]:
    """Erase a person and what they wrote (the `delete_user` command).

    Fate of their data: their sessions, profile, friend requests, friendships, style profile and
    every direct message they sent OR received are deleted (a conversation belongs to both, and an
    erasure request covers it); they leave each group the way `group_leave` does (an admin is
    promoted, an empty group is deleted, members are told) and the group messages they sent are
    deleted. Groups they created but others still use are handed to the group's oldest admin.
    """
    from groups.models import Group, GroupMember
    from groups.services import group_leave

    if is_ai_user_id(user.pk):
        raise ValueError("AI users are managed with their group or by ensure_ai_users, not deleted by hand")
    group_ids = list(GroupMember.objects.filter(user=user).values_list("group_id", flat=True))
    for group_id in group_ids:
        group_leave(group_id=group_id, user_id=user.pk)
    with transaction.atomic():
        for group in Group.objects.select_for_update().filter(created_by=user):
            heir = (
                GroupMember.objects.filter(group=group)
                .exclude(user__id__startswith=GROUP_AI_PREFIX)
                .order_by("-is_admin", "joined_at")
                .values_list("user_id", flat=True)
                .first()
            )
            if heir is None:  # nobody human left: group_leave already deleted it, or it never had members
                continue
            Group.objects.filter(pk=group.pk).update(created_by_id=heir)
        disconnect_on_commit([user.pk], reason="account deleted")
        _, per_model = User.objects.filter(pk=user.pk).delete()
    return {label.rsplit(".", 1)[-1]: count for label, count in per_model.items() if count}
