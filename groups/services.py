"""Write paths of the groups app (contract §3.7, §4.3 to §4.5).

Every function: check access → validate → write inside ``transaction.atomic`` → publish events
with `broadcast_on_commit`. Event recipients are computed from the database inside the same
transaction (one query for the member ids), and each event is ONE channel-layer message however
many members receive it. The group AI user has no sockets, so it is never a recipient.

Status codes follow contract §8 item 15: 404 "Group not found" when the group does not exist,
403 for a non-member or a non-admin (with the route's exact message), 400 for invalid input.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from chat.models import User
from chat.models.accounts import is_ai_user_id
from chat.services.ai_users import ensure_group_ai_user, group_ai_user_id
from groups import selectors
from groups.models import Group, GroupMember, GroupMessage, GroupMessageRead, GroupStyleProfile, _default_tone
from groups.schemas import MIN_OTHER_MEMBERS, GroupMessageOut, card, member_out, message_out
from groups.selectors import GROUP_NOT_FOUND, NOT_A_MEMBER, parse_uuid
from retrochat.errors import BadRequest, Conflict, Forbidden, NotFound
from retrochat.realtime.broadcast import broadcast_on_commit
from retrochat.validation import clean_text

NAME_MAX_LENGTH = 50
DESCRIPTION_MAX_LENGTH = 200


class Unset(enum.Enum):
    """Marks an optional keyword that the caller did not pass (distinct from ``None``)."""

    UNSET = "unset"


UNSET = Unset.UNSET


# --- internals --------------------------------------------------------------------------------


def _locked_group(group_id: object, *, admin_id: str | None = None, admin_message: str = "") -> Group:
    """The group row locked for this transaction (membership changes are serialized per group).

    With ``admin_id``: also 403 ``admin_message`` unless that user is an admin of the group. The
    admin check is its own query, run after the lock is granted, so that it sees what a
    concurrent change (a removal, a leave) committed while this transaction waited.
    """
    gid = parse_uuid(group_id)
    if gid is None:
        raise NotFound(GROUP_NOT_FOUND)
    group = Group.objects.select_for_update().filter(id=gid).first()
    if group is None:
        raise NotFound(GROUP_NOT_FOUND)
    if admin_id is not None and not GroupMember.objects.filter(group=group, user_id=admin_id, is_admin=True).exists():
        raise Forbidden(admin_message)
    return group


def _human_member_ids(group_id: uuid.UUID) -> list[str]:
    return selectors.human_user_ids(selectors.member_user_ids(group_id))


def _clean_name(name: str | None, *, empty_message: str) -> str:
    cleaned = (name or "").strip()
    if not cleaned:
        raise BadRequest(empty_message)
    if len(cleaned) > NAME_MAX_LENGTH:
        raise BadRequest("Group name must be 50 characters or less")
    return cleaned


def _clean_description(description: str | None) -> str | None:
    cleaned = (description or "").strip()
    if len(cleaned) > DESCRIPTION_MAX_LENGTH:
        raise BadRequest("Group description must be 200 characters or less")
    return cleaned or None


def _delete_group(group: Group) -> None:
    """Delete the group (members, messages, receipts, style profile cascade) and its AI user."""
    ai_user_id = group_ai_user_id(group.id)
    group.delete()
    User.objects.filter(id=ai_user_id).delete()


# --- groups -----------------------------------------------------------------------------------


def group_create(
    *, creator_id: str, name: str, member_ids: list[str], description: str | None = None
) -> selectors.GroupDetail:
    """Create a group with its admin (the creator), the listed members and the group AI member.

    Everything is written in one transaction. Afterwards each human member receives one
    ``group:member:added`` ``{groupId, member}`` whose ``member`` is their own membership.
    Members come back in join order: the creator, the listed members in order, the AI last.
    """
    clean_name = _clean_name(name, empty_message="Group name is required")
    clean_description = _clean_description(description)
    if len(member_ids) < MIN_OTHER_MEMBERS:
        raise BadRequest("Groups must have at least 3 members including the creator")
    if creator_id in member_ids:
        raise BadRequest("memberIds must not include yourself: the creator is added as the group admin")
    if len(set(member_ids)) != len(member_ids):
        raise BadRequest("memberIds must not contain duplicates")
    if any(is_ai_user_id(uid) for uid in member_ids):
        raise BadRequest("AI users cannot be added to a group")
    found = User.objects.filter(id__in=member_ids, is_active=True).count()
    if found != len(member_ids):
        raise BadRequest("One or more users not found")

    with transaction.atomic():
        group = Group.objects.create(name=clean_name, description=clean_description, created_by_id=creator_id)
        ai_user = ensure_group_ai_user(group.id)
        # Distinct join instants make "oldest member" well defined: creator, members in order, AI.
        start = group.created_at
        user_ids = [creator_id, *member_ids, ai_user.id]
        GroupMember.objects.bulk_create(
            GroupMember(
                group=group, user_id=uid, is_admin=(uid == creator_id), joined_at=start + timedelta(microseconds=i)
            )
            for i, uid in enumerate(user_ids)
        )
        GroupStyleProfile.objects.create(group=group)
        members = selectors.members_of(group.id)
        for member in members:
            if not is_ai_user_id(member.user_id):
                payload = {"groupId": str(group.id), "member": member_out(member)}
                broadcast_on_commit("group:member:added", payload, user_ids=[member.user_id])
    return selectors.GroupDetail(group, members)


def group_update(
    *,
    group_id: object,
    user_id: str,
    name: str | Unset | None = UNSET,
    description: str | Unset | None = UNSET,
    ai_enabled: bool | Unset | None = UNSET,
) -> selectors.GroupDetail:
    """Admin-only update of the keys passed; ``description`` "" or None clears it. Returns the group with members."""
    with transaction.atomic():
        group = _locked_group(group_id, admin_id=user_id, admin_message="Only group admins can update group settings")
        fields = ["updated_at"]
        if not isinstance(name, Unset):
            group.name = _clean_name(name, empty_message="Group name cannot be empty")
            fields.append("name")
        if not isinstance(description, Unset):
            group.description = _clean_description(description)
            fields.append("description")
        if not isinstance(ai_enabled, Unset):
            if not isinstance(ai_enabled, bool):
                raise BadRequest("aiEnabled must be a boolean value")
            group.ai_enabled = ai_enabled
            fields.append("ai_enabled")
        group.save(update_fields=fields)
    return selectors.group_detail(group)


def group_delete(*, group_id: object, user_id: str) -> None:
    """Admin-only: delete the group and its AI user; ``group:deleted`` to every former human member."""
    with transaction.atomic():
        group = _locked_group(group_id, admin_id=user_id, admin_message="Only group admins can delete the group")
        recipients = _human_member_ids(group.id)
        payload = {"groupId": str(group.id), "groupName": group.name}
        _delete_group(group)
        broadcast_on_commit("group:deleted", payload, user_ids=recipients)


# --- membership -------------------------------------------------------------------------------


def group_member_add(*, group_id: object, actor_id: str, user_id: str) -> GroupMember:
    """Admin-only: add a person as a non-admin member.

    ``group:member:added`` ``{groupId, member}`` goes to the added user and every existing member.
    """
    with transaction.atomic():
        group = _locked_group(group_id, admin_id=actor_id, admin_message="Only group admins can add members")
        if is_ai_user_id(user_id):
            raise BadRequest("AI users cannot be added to a group")
        if not User.objects.filter(id=user_id, is_active=True).exists():
            raise NotFound("User not found")
        if GroupMember.objects.filter(group=group, user_id=user_id).exists():
            raise BadRequest("User is already a member of this group")
        try:
            with transaction.atomic():
                created = GroupMember.objects.create(group=group, user_id=user_id, is_admin=False)
        except IntegrityError:
            raise BadRequest("User is already a member of this group") from None
        member = GroupMember.objects.select_related("user__profile").get(pk=created.pk)
        payload = {"groupId": str(group.id), "member": member_out(member)}
        broadcast_on_commit("group:member:added", payload, user_ids=_human_member_ids(group.id))
    return member


def group_member_remove(*, group_id: object, actor_id: str, user_id: str) -> None:
    """Admin-only: remove a member (never the group AI, never the last admin).

    ``group:member:removed`` ``{groupId, userId}`` goes to the remaining members and the removed user.
    """
    with transaction.atomic():
        group = _locked_group(group_id, admin_id=actor_id, admin_message="Only group admins can remove members")
        target = GroupMember.objects.filter(group=group, user_id=user_id).first()
        if target is None:
            raise BadRequest("User is not a member of this group")
        if is_ai_user_id(user_id):
            raise BadRequest("The group AI cannot be removed from the group")
        other_admins = GroupMember.objects.filter(group=group, is_admin=True).exclude(pk=target.pk)
        if target.is_admin and not other_admins.exists():
            raise BadRequest("Cannot remove the last admin. Transfer admin rights first or delete the group.")
        target.delete()
        remaining = _human_member_ids(group.id)
        payload = {"groupId": str(group.id), "userId": user_id}
        broadcast_on_commit("group:member:removed", payload, user_ids=[*remaining, user_id])


def group_leave(*, group_id: object, user_id: str) -> None:
    """Leave a group.

    When the last admin leaves, the longest-standing person left becomes admin (never the AI).
    When no person is left, the group (and its AI user) is deleted. ``group:member:removed``
    ``{groupId, userId}`` goes to the remaining members and the one who left.
    """
    with transaction.atomic():
        group = _locked_group(group_id)
        mine = GroupMember.objects.filter(group=group, user_id=user_id).first()
        if mine is None:
            raise Forbidden(NOT_A_MEMBER)
        mine.delete()
        remaining = _human_member_ids(group.id)
        payload = {"groupId": str(group.id), "userId": user_id}
        if not remaining:
            _delete_group(group)
            broadcast_on_commit("group:member:removed", payload, user_ids=[user_id])
            return
        if mine.is_admin and not GroupMember.objects.filter(group=group, is_admin=True).exists():
            heir = selectors.oldest_human_member(group.id, exclude_user_id=user_id)
            if heir is not None:
                GroupMember.objects.filter(pk=heir.pk).update(is_admin=True)
        broadcast_on_commit("group:member:removed", payload, user_ids=[*remaining, user_id])


# --- messages ---------------------------------------------------------------------------------


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def resolve_mentions(text: str, names: Iterable[tuple[str, str | None, str | None]], *, ai_user_id: str) -> list[str]:
    """User ids mentioned in ``text`` by ``@username`` or ``@display name`` (case-insensitive).

    ``names`` is ``(user_id, username, display_name)`` of every member. ``@ai`` also names the
    group AI. Display names may contain spaces and emoji; at each ``@`` the longest matching name
    wins (a username before a display name of the same length; people sharing a display name are
    all mentioned), and it must end at the end of the text or before a non-word character. An ``@`` right
    after a word character (an e-mail address) is not a mention. Ids are unique, in text order.
    """
    lowered = text.lower()
    if "@" not in lowered:
        return []
    # (name, user id, rank): a username (unique) outranks a display name or alias of the same length.
    candidates: list[tuple[str, str, int]] = []
    member_ids: set[str] = set()
    for uid, username, display_name in names:
        member_ids.add(uid)
        if username and username.strip():
            candidates.append((username.lower(), uid, 1))
        if display_name and display_name.strip():
            candidates.append((display_name.lower(), uid, 0))
    if ai_user_id in member_ids:
        candidates.append(("ai", ai_user_id, 0))
    found: dict[str, None] = {}
    start = lowered.find("@")
    while start != -1:
        if start == 0 or not _is_word_char(lowered[start - 1]):
            rest = lowered[start + 1 :]
            best_key = (0, 0)
            best: list[str] = []
            for name, uid, rank in candidates:
                if not rest.startswith(name):
                    continue
                if len(rest) > len(name) and _is_word_char(rest[len(name)]):
                    continue
                key = (len(name), rank)
                if key > best_key:
                    best_key, best = key, [uid]
                elif key == best_key and uid not in best:
                    best.append(uid)
            for uid in best:
                found[uid] = None
        start = lowered.find("@", start + 1)
    return list(found)


def group_message_send(
    *, group_id: object, user_id: str, content: str, client_message_id: str | None = None
) -> GroupMessageOut:
    """Store a message from a member and deliver it after commit.

    ``group:message:receive`` goes to every socket of every other current member and
    ``group:message:sent`` to every socket of the sender; the stored message is returned (the
    ack). A retry with the same ``clientMessageId`` returns the stored message and delivers
    nothing again. Queries: the member list (one), the insert (plus a savepoint with a client id).
    After commit the group AI's style-profile check is scheduled (contract §4.5, §5.3).
    """
    gid = parse_uuid(group_id)
    if gid is None:
        raise Forbidden(NOT_A_MEMBER)
    text = clean_text(content)
    with transaction.atomic():
        cards = selectors.member_cards(gid)
        sender = next((c for c in cards if c[0] == user_id), None)
        if sender is None:
            raise Forbidden(NOT_A_MEMBER)
        sender_card = card(*sender)
        names = ((uid, username, display) for uid, username, display, _ in cards)
        message = GroupMessage(
            group_id=gid,
            from_user_id=user_id,
            content=text,
            mentioned_user_ids=resolve_mentions(text, names, ai_user_id=group_ai_user_id(gid)),
            client_message_id=client_message_id or None,
        )
        if message.client_message_id is None:
            message.save(force_insert=True)
        else:
            try:
                with transaction.atomic():
                    message.save(force_insert=True)
            except IntegrityError:
                existing = GroupMessage.objects.get(from_user_id=user_id, client_message_id=client_message_id)
                if existing.group_id != gid:
                    raise Conflict("clientMessageId was already used for another message") from None
                return message_out(existing, sender_card)
        payload = message_out(message, sender_card)
        others = [c[0] for c in cards if c[0] != user_id and not is_ai_user_id(c[0])]
        broadcast_on_commit("group:message:receive", payload, user_ids=others)
        broadcast_on_commit("group:message:sent", payload, user_ids=[user_id])
        _style_check_after_commit(gid)
    return payload


def _style_check_after_commit(group_id: uuid.UUID) -> None:
    """After a new message, the group AI checks (off the request path) whether its style profile is due."""
    from aifriend.services import group_style_refresh_soon  # imported here: the AI app imports this module

    group_style_refresh_soon(group_id=group_id)


def group_typing_notify(*, group_id: object, user_id: str) -> None:
    """``group:typing`` ``{groupId, userId, username: <display name>}`` to the other members (one query)."""
    gid = parse_uuid(group_id)
    if gid is None:
        raise Forbidden(NOT_A_MEMBER)
    cards = selectors.member_cards(gid)
    sender = next((c for c in cards if c[0] == user_id), None)
    if sender is None:
        raise Forbidden(NOT_A_MEMBER)
    others = [c[0] for c in cards if c[0] != user_id and not is_ai_user_id(c[0])]
    payload = {"groupId": str(gid), "userId": user_id, "username": sender[2] or sender[1] or ""}
    broadcast_on_commit("group:typing", payload, user_ids=others)


def group_messages_mark_read(*, group_id: object, user_id: str) -> int:
    """Receipts for every message of others in the group that I have not read (bulk insert). Returns how many."""
    member = selectors.require_member(group_id, user_id)
    with transaction.atomic():
        unread = selectors.unread_message_ids(member.group_id, user_id)
        now = timezone.now()
        GroupMessageRead.objects.bulk_create(
            (GroupMessageRead(message_id=mid, user_id=user_id, read_at=now) for mid in unread),
            batch_size=1000,
            ignore_conflicts=True,
        )
    return len(unread)


# --- the group AI -----------------------------------------------------------------------------


def group_ai_reset(*, group_id: object, user_id: str) -> None:
    """Admin-only: the style profile goes back to empty; messages before now stop counting."""
    with transaction.atomic():
        group = _locked_group(group_id, admin_id=user_id, admin_message="Only group admins can reset the AI style")
        group_style_profile_reset(group=group)


def group_style_profile_reset(*, group: Group) -> None:
    """The group's style profile goes back to empty; messages before now stop counting (no access check:
    callers are the admin-only route above and the Django admin)."""
    now = timezone.now()
    with transaction.atomic():
        GroupStyleProfile.objects.update_or_create(
            group=group,
            defaults={
                "message_count": 0,
                "member_contributions": {},
                "common_phrases": [],
                "emoji_usage": {},
                "average_message_length": 0,
                "tone_indicators": _default_tone(),
                "style_prompt": None,
                "last_updated": now,
                "reset_at": now,
            },
        )


def group_ai_toggle(*, group_id: object, user_id: str, ai_enabled: bool) -> selectors.GroupDetail:
    """Admin-only: switch the group AI on or off. Returns the group with members."""
    with transaction.atomic():
        group = _locked_group(group_id, admin_id=user_id, admin_message="Only group admins can toggle the AI")
        group.ai_enabled = ai_enabled
        group.save(update_fields=["ai_enabled", "updated_at"])
    return selectors.group_detail(group)
