"""`manage.py export_user <id|email>`: everything RetroChat stores about one user, as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Q

from aifriend.models import StyleProfile
from chat.management.commands._lookup import find_user
from chat.models import AuthSession, DirectMessage, FriendRequest, Friendship, User
from groups.models import GroupMember, GroupMessage
from retrochat.timefmt import iso_z, iso_z_or_none


def export(user: User) -> dict[str, Any]:
    profile = getattr(user, "profile", None)
    style = StyleProfile.objects.filter(user=user).first()
    return {
        "user": {
            "id": user.pk,
            "name": user.name,
            "email": user.email,
            "emailVerified": user.email_verified,
            "isActive": user.is_active,
            "createdAt": iso_z(user.created_at),
        },
        "profile": profile
        and {
            "username": profile.username,
            "displayName": profile.display_name,
            "statusMessage": profile.status_message,
            "profilePictureUrl": profile.profile_picture_url,
        },
        # Session tokens are never exported (only their hashes are stored anyway).
        "sessions": [
            {
                "id": s.pk,
                "createdAt": iso_z(s.created_at),
                "expiresAt": iso_z(s.expires_at),
                "ipAddress": s.ip_address,
                "userAgent": s.user_agent,
            }
            for s in AuthSession.objects.filter(user=user).order_by("created_at")
        ],
        "friendships": [
            {"friendId": f.user2_id if f.user1_id == user.pk else f.user1_id, "since": iso_z(f.created_at)}
            for f in Friendship.objects.filter(Q(user1=user) | Q(user2=user)).order_by("created_at")
        ],
        "friendRequests": [
            {
                "id": str(r.pk),
                "fromUserId": r.from_user_id,
                "toUserId": r.to_user_id,
                "status": r.status,
                "createdAt": iso_z(r.created_at),
            }
            for r in FriendRequest.objects.filter(Q(from_user=user) | Q(to_user=user)).order_by("created_at")
        ],
        "directMessages": [
            {
                "id": str(m.pk),
                "fromUserId": m.from_user_id,
                "toUserId": m.to_user_id,
                "content": m.content,
                "timestamp": iso_z(m.timestamp),
                "isRead": m.is_read,
                "isAIGenerated": m.is_ai_generated,
            }
            for m in DirectMessage.objects.filter(Q(from_user=user) | Q(to_user=user)).order_by("timestamp", "id")
        ],
        "groups": [
            {"groupId": str(m.group_id), "name": m.group.name, "isAdmin": m.is_admin, "joinedAt": iso_z(m.joined_at)}
            for m in GroupMember.objects.filter(user=user).select_related("group").order_by("joined_at")
        ],
        "groupMessages": [
            {"id": str(m.pk), "groupId": str(m.group_id), "content": m.content, "timestamp": iso_z(m.timestamp)}
            for m in GroupMessage.objects.filter(from_user=user).order_by("timestamp", "id")
        ],
        "styleProfile": style
        and {
            "messageCount": style.message_count,
            "commonPhrases": style.common_phrases,
            "emojiUsage": style.emoji_usage,
            "averageMessageLength": style.average_message_length,
            "toneIndicators": style.tone_indicators,
            "lastUpdated": iso_z_or_none(style.last_updated),
        },
    }


class Command(BaseCommand):
    help = "Write everything stored about one user (profile, sessions, friends, messages, groups) as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", help="user id or e-mail address")
        parser.add_argument("--output", "-o", help="write to this file instead of standard output")

    def handle(self, *args: Any, **options: Any) -> None:
        data = json.dumps(export(find_user(options["user"])), ensure_ascii=False, indent=2)
        if options["output"]:
            Path(options["output"]).write_text(data + "\n", encoding="utf-8")
            self.stderr.write(f"written to {options['output']}")
        else:
            self.stdout.write(data)
