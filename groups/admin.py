"""Django admin for groups, memberships and group messages (fixed query count per page)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from groups.models import Group, GroupMember, GroupMessage
from groups.moderation import group_message_delete


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
class GroupMessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
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
    actions = ("delete_and_notify",)

    @admin.display(description="content")
    def short_content(self, obj: GroupMessage) -> str:
        return obj.content if len(obj.content) <= 60 else obj.content[:57] + "…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # The built-in bulk delete would skip the service (members would not be told).
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Delete and tell the group's members")
    def delete_and_notify(self, request: HttpRequest, queryset: QuerySet[GroupMessage]) -> None:
        count = 0
        for message in queryset:
            group_message_delete(message=message)
            count += 1
        self.message_user(request, f"Deleted {count} message(s).", messages.SUCCESS)

    def delete_model(self, request: HttpRequest, obj: GroupMessage) -> None:
        group_message_delete(message=obj)
