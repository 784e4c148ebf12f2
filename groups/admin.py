"""Django admin for groups, memberships and group messages (fixed query count per page)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from groups.models import Group, GroupMember, GroupMessage
from groups.moderation import group_message_delete
from retrochat.admin_tools import MessageModerationAdmin


class GroupMemberInline(admin.TabularInline):  # type: ignore[type-arg]
    model = GroupMember
    extra = 0
    raw_id_fields = ("user",)
    fields = ("user", "is_admin", "joined_at", "notifications_muted")
    readonly_fields = ("joined_at",)


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "id", "created_by", "member_count", "ai_enabled", "created_at")
    list_filter = ("ai_enabled",)
    list_select_related = ("created_by",)
    raw_id_fields = ("created_by",)
    search_fields = ("name", "id", "created_by__email")
    date_hierarchy = "created_at"
    inlines = (GroupMemberInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Group]:
        queryset: QuerySet[Group] = super().get_queryset(request)
        return queryset.annotate(member_total=Count("memberships"))

    @admin.display(description="members", ordering="member_total")
    def member_count(self, obj: Any) -> int:
        return int(obj.member_total)


@admin.register(GroupMessage)
class GroupMessageAdmin(MessageModerationAdmin):
    list_display = ("id", "group", "from_user", "short_content", "timestamp", "is_ai_generated")
    list_filter = ("is_ai_generated",)
    list_select_related = ("group", "from_user")
    raw_id_fields = ("group", "from_user")
    search_fields = ("group__name", "from_user__email", "id")
    date_hierarchy = "timestamp"
    readonly_fields = (
        "id",
        "group",
        "from_user",
        "content",
        "timestamp",
        "is_ai_generated",
        "mentioned_user_ids",
        "client_message_id",
    )

    def delete_and_tell(self, message: GroupMessage) -> None:
        group_message_delete(message=message)
