"""Write paths of the AI friend and the group AI: style profiles, prompts and stored replies.

Style-profile update rules (contract §5.3, with the original's bugs fixed):

- Counts are aggregate COUNT queries; the analysis reads only the most recent
  `conf.STYLE_SAMPLE_SIZE` counted messages.
- AI friend: an update is due when the user has no profile yet (and has sent something), when
  the count reached the stored count + 10, or when it first reaches 10 (so the mimic switches on
  at the 10th message, not the 11th).
- Group: due when the count reached the STORED count + 20 or first reaches 20 (the original
  compared against the live count and so never built the profile). No profile row is created
  below 20 messages.
- Only messages from the profile's ``reset_at`` on count: a reset really starts over.
- One update per profile at a time: an in-process lock per profile, and inside the transaction
  a row lock (``SELECT ... FOR UPDATE``). Fire-and-forget updates skip a busy profile
  (``SKIP LOCKED``); awaited ones (a reply about to be generated) wait for it and then find
  nothing left to do.
- Fire-and-forget updates run on `aifriend.background`'s pool after the sender's transaction
  commits, never on the request path, coalesced per profile (at most one waiting check, at
  least `style_check_interval()` seconds apart, the last message always seen).
"""

from __future__ import annotations

import functools
import logging
import uuid
from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from aifriend import background, conf, selectors, style
from aifriend.locks import KeyedLocks
from aifriend.models import StyleProfile
from aifriend.providers.base import GenerationRequest, StyleContext
from chat.models import DirectMessage
from chat.models.accounts import AI_FRIEND_ID, is_ai_user_id
from chat.schemas.messages import MessageOut, message_out
from chat.services.ai_users import ensure_ai_friend, ensure_group_ai_user, group_ai_user_id
from groups import selectors as group_selectors
from groups.models import GroupMessage, GroupStyleProfile
from groups.schemas import GroupMessageOut, card
from groups.schemas import message_out as group_message_out
from groups.services import resolve_mentions
from retrochat.errors import Forbidden
from retrochat.realtime.broadcast import broadcast_on_commit
from retrochat.validation import clean_text

logger = logging.getLogger(__name__)

RefreshOutcome = Literal["updated", "fresh", "busy"]
"""updated: the profile was (re)built; fresh: nothing to do; busy: another update holds it."""

_locks = KeyedLocks()


# --- content ----------------------------------------------------------------------------------


def clean_prompt(content: object) -> str:
    """What a user says to an AI: a string, trimmed, 1..2000 characters."""
    return clean_text(
        content,
        max_length=conf.CONTENT_MAX_LENGTH,
        empty="content should not be empty",
        too_long="content must be shorter than or equal to {max_length} characters",
    )


# --- style profiles: rules --------------------------------------------------------------------


def friend_update_due(count: int, stored: int) -> bool:
    return count >= stored + conf.FRIEND_UPDATE_STEP or stored < conf.FRIEND_MIN_MESSAGES <= count


def group_update_due(count: int, stored: int) -> bool:
    return count >= stored + conf.GROUP_UPDATE_STEP or stored < conf.GROUP_MIN_MESSAGES <= count


# --- style profiles: the AI friend -----------------------------------------------------------


def style_profile_refresh(*, user_id: str, wait: bool = False) -> RefreshOutcome:
    """Rebuild the user's style profile if an update is due (see the module docstring)."""
    with _locks.hold(("friend", user_id), wait=wait) as acquired:
        if not acquired:
            return "busy"
        return _refresh_friend(user_id, wait=wait)


def _refresh_friend(user_id: str, *, wait: bool) -> RefreshOutcome:
    with transaction.atomic():
        profile = StyleProfile.objects.select_for_update(skip_locked=not wait).filter(user_id=user_id).first()
        created = False
        if profile is None:
            if StyleProfile.objects.filter(user_id=user_id).exists():
                return "busy"  # locked by an update in another process
            if is_ai_user_id(user_id) or selectors.friend_counted_messages(user_id) == 0:
                return "fresh"  # nothing to learn from yet: no profile (GET answers 404)
            try:
                with transaction.atomic():
                    profile = StyleProfile.objects.create(user_id=user_id, message_count=0)
            except IntegrityError:
                return "busy"  # another process is creating it right now
            created = True
        count = selectors.friend_counted_messages(user_id, since=profile.reset_at)
        if not created and not friend_update_due(count, profile.message_count):
            return "fresh"
        texts = selectors.friend_recent_texts(user_id, since=profile.reset_at, limit=conf.STYLE_SAMPLE_SIZE)
        analysis = style.analyze(texts)
        profile.message_count = count
        profile.common_phrases = analysis.common_phrases
        profile.emoji_usage = analysis.emoji_usage
        profile.average_message_length = float(analysis.average_message_length)
        profile.tone_indicators = dict(analysis.tone_indicators)
        profile.style_prompt = style.friend_style_prompt(analysis) if texts else ""
        profile.last_updated = timezone.now()
        profile.save()
    logger.info("AI friend style profile of %s rebuilt from %d messages (count %d)", user_id, len(texts), count)
    return "updated"


def style_check_interval() -> float:
    """Seconds between two fire-and-forget checks of one profile (``AI_STYLE_CHECK_INTERVAL_SECONDS``, 5)."""
    return float(getattr(settings, "AI_STYLE_CHECK_INTERVAL_SECONDS", 5.0))


def style_profile_refresh_soon(*, user_id: str) -> None:
    """Fire-and-forget: after the current transaction commits, check/update the profile on the pool.

    Call it after a user sent a message (direct or group). Never blocks; never runs two updates
    of one profile at once. Checks are coalesced (`background.submit_coalesced`): one waiting
    check per profile covers every message sent before it starts, checks of one profile start
    at least `style_check_interval()` apart, and a message sent during a check gets a trailing one.
    """
    if is_ai_user_id(user_id):
        return
    transaction.on_commit(lambda: _submit_friend(user_id))


def _submit_friend(user_id: str) -> None:
    background.submit_coalesced(
        ("friend", user_id),
        functools.partial(style_profile_refresh, user_id=user_id),
        min_interval=style_check_interval(),
    )


def style_profile_reset(*, user_id: str) -> None:
    """Empty the profile (no-op without one); messages sent before now no longer count."""
    now = timezone.now()
    StyleProfile.objects.filter(user_id=user_id).update(
        message_count=0,
        common_phrases=[],
        emoji_usage={},
        average_message_length=0,
        tone_indicators=style.empty_tone(),
        style_prompt="",
        last_updated=now,
        reset_at=now,
    )


# --- style profiles: groups -------------------------------------------------------------------


def group_style_refresh(*, group_id: uuid.UUID | str, wait: bool = False) -> RefreshOutcome:
    """Rebuild the group's style profile if an update is due (see the module docstring)."""
    gid = group_selectors.parse_uuid(group_id)
    if gid is None:
        return "fresh"
    with _locks.hold(("group", gid), wait=wait) as acquired:
        if not acquired:
            return "busy"
        return _refresh_group(gid, wait=wait)


def _refresh_group(gid: uuid.UUID, *, wait: bool) -> RefreshOutcome:
    with transaction.atomic():
        profile = GroupStyleProfile.objects.select_for_update(skip_locked=not wait).filter(group_id=gid).first()
        created = False
        if profile is None:
            if GroupStyleProfile.objects.filter(group_id=gid).exists():
                return "busy"
            if selectors.group(gid) is None or selectors.group_counted_messages(gid) < conf.GROUP_MIN_MESSAGES:
                return "fresh"
            try:
                with transaction.atomic():
                    profile = GroupStyleProfile.objects.create(group_id=gid, message_count=0)
            except IntegrityError:
                return "busy"
            created = True
        since = profile.reset_at
        count = selectors.group_counted_messages(gid, since=since)
        if not created and not group_update_due(count, profile.message_count):
            return "fresh"
        rows = selectors.group_recent_messages(gid, since=since, limit=conf.STYLE_SAMPLE_SIZE)
        analysis = style.analyze_group([text for _sender, text in rows])
        contributions = selectors.group_contributions(gid, since=since)
        names = selectors.display_names(list(contributions))
        profile.message_count = count
        profile.member_contributions = contributions
        profile.common_phrases = analysis.common_phrases
        profile.emoji_usage = analysis.emoji_usage
        profile.average_message_length = analysis.average_message_length
        profile.tone_indicators = dict(analysis.tone_indicators)
        profile.style_prompt = (
            style.group_style_prompt(analysis, [names.get(uid, "") for uid in contributions]) if rows else ""
        )
        profile.last_updated = timezone.now()
        profile.save()
    logger.info("Group AI style profile of %s rebuilt from %d messages (count %d)", gid, len(rows), count)
    return "updated"


def group_style_refresh_soon(*, group_id: uuid.UUID | str) -> None:
    """Fire-and-forget: after commit, check/update the group's profile on the pool (after each group message)."""
    gid = group_selectors.parse_uuid(group_id)
    if gid is None:
        return
    transaction.on_commit(lambda: _submit_group(gid))


def _submit_group(gid: uuid.UUID) -> None:
    background.submit_coalesced(
        ("group", gid), functools.partial(group_style_refresh, group_id=gid), min_interval=style_check_interval()
    )


# --- replies ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyPlan:
    """Either a fixed text (thresholds, contract §6.6) or a request for the provider."""

    fixed_text: str | None = None
    request: GenerationRequest | None = None


def _context(system_prompt: str, corpus: list[str], profile_phrases: object, emojis: object) -> StyleContext:
    phrases = tuple(str(p) for p in profile_phrases) if isinstance(profile_phrases, list) else ()
    emoji_usage = {str(k): int(v) for k, v in emojis.items()} if isinstance(emojis, dict) else {}
    return StyleContext(
        system_prompt=system_prompt,
        corpus=tuple(corpus),
        common_phrases=phrases,
        emoji_usage=emoji_usage,
        average_message_length=style.average_message_length(corpus),
    )


def ai_friend_prompt_store(*, user_id: str, content: object) -> MessageOut:
    """Store what the user says to the AI friend (a direct message to `kirhost`)."""
    text = clean_prompt(content)
    ensure_ai_friend()
    message = DirectMessage.objects.create(from_user_id=user_id, to_user_id=AI_FRIEND_ID, content=text)
    return message_out(message)


def ai_friend_reply_plan(*, user_id: str, prompt: str) -> ReplyPlan:
    """Bring the user's profile up to date (waiting for a running update), then decide the reply."""
    style_profile_refresh(user_id=user_id, wait=True)
    profile = selectors.style_profile(user_id)
    if profile is None or profile.message_count < conf.FRIEND_MIN_MESSAGES:
        return ReplyPlan(fixed_text=conf.FRIEND_LEARNING_TEXT)
    if not profile.style_prompt:
        return ReplyPlan(fixed_text=conf.FRIEND_ANALYZING_TEXT)
    corpus = selectors.friend_recent_texts(user_id, since=profile.reset_at, limit=conf.LOCAL_CORPUS_SIZE)
    context = _context(profile.style_prompt, corpus, profile.common_phrases, profile.emoji_usage)
    return ReplyPlan(request=GenerationRequest(prompt=prompt, style=context, audience="friend"))


def ai_friend_reply_store(*, user_id: str, content: str) -> MessageOut:
    """Store the AI friend's complete reply (unread, AI-generated)."""
    message = DirectMessage.objects.create(
        from_user_id=AI_FRIEND_ID, to_user_id=user_id, content=content, is_ai_generated=True
    )
    return message_out(message)


@dataclass(frozen=True)
class GroupMention:
    group_id: uuid.UUID
    recipients: list[str]  # every person in the group (the AI users have no sockets)


def group_ai_mention_check(*, user_id: str, group_id: object) -> GroupMention:
    """A member asks the group AI: membership and ``aiEnabled`` enforced. Returns who watches the stream."""
    gid = group_selectors.parse_uuid(group_id)
    group = selectors.group(gid) if gid is not None else None
    members = group_selectors.member_user_ids(gid) if gid is not None else []
    if group is None or user_id not in members:
        raise Forbidden(conf.NOT_A_MEMBER)
    if not group.ai_enabled:
        raise Forbidden(conf.GROUP_AI_DISABLED)
    return GroupMention(group_id=group.id, recipients=group_selectors.human_user_ids(members))


def group_ai_reply_plan(*, group_id: uuid.UUID, prompt: str) -> ReplyPlan:
    """Bring the group's profile up to date (awaited, contract §6.5 step 2), then decide the reply."""
    group_style_refresh(group_id=group_id, wait=True)
    profile = selectors.group_style_profile(group_id)
    if profile is None or profile.message_count < conf.GROUP_MIN_MESSAGES:
        return ReplyPlan(fixed_text=conf.GROUP_LEARNING_TEXT)
    if not profile.style_prompt:
        return ReplyPlan(fixed_text=conf.GROUP_ANALYZING_TEXT)
    rows = selectors.group_recent_messages(group_id, since=profile.reset_at, limit=conf.LOCAL_CORPUS_SIZE)
    corpus = [text for _sender, text in rows]
    context = _context(profile.style_prompt, corpus, profile.common_phrases, profile.emoji_usage)
    return ReplyPlan(request=GenerationRequest(prompt=prompt, style=context, audience="group"))


def group_ai_reply_store(*, group_id: uuid.UUID, content: str) -> GroupMessageOut:
    """Store the group AI's complete reply and, after commit, send ``group:ai:stream-end`` to the members.

    Recipients are the group's people at this moment (someone who left during the stream is not
    told). Mentions in the reply are resolved to member ids like a person's message.
    """
    ai_user_id = group_ai_user_id(group_id)
    with transaction.atomic():
        ensure_group_ai_user(group_id)
        cards = group_selectors.member_cards(group_id)
        names = ((uid, username, display) for uid, username, display, _ in cards)
        message = GroupMessage.objects.create(
            group_id=group_id,
            from_user_id=ai_user_id,
            content=content,
            is_ai_generated=True,
            mentioned_user_ids=[
                uid for uid in resolve_mentions(content, names, ai_user_id=ai_user_id) if uid != ai_user_id
            ],
        )
        sender = next((card(*c) for c in cards if c[0] == ai_user_id), None)
        if sender is None:
            sender = card(ai_user_id, ai_user_id, "🤖 Group AI", None)
        payload = group_message_out(message, sender)
        recipients = [uid for uid, *_rest in cards if not is_ai_user_id(uid)]
        broadcast_on_commit("group:ai:stream-end", {"groupId": str(group_id), "message": payload}, user_ids=recipients)
    return payload
