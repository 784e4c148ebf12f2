"""Django admin for the learned style profiles (AI friend per user, group AI per group)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from aifriend.models import StyleProfile
from aifriend.services import style_profile_reset
from groups.models import GroupStyleProfile
from groups.services import group_style_profile_reset

_READ_ONLY = (
    "message_count",
    "common_phrases",
    "emoji_usage",
    "average_message_length",
    "tone_indicators",
    "style_prompt",
    "last_updated",
    "reset_at",
)


@admin.register(StyleProfile)
class StyleProfileAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "message_count", "average_message_length", "last_updated", "reset_at")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    search_fields = ("user__email", "user__profile__username")
    date_hierarchy = "last_updated"
    readonly_fields = _READ_ONLY
    actions = ("reset_profiles",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Reset: forget the learned style (earlier messages stop counting)")
    def reset_profiles(self, request: HttpRequest, queryset: QuerySet[StyleProfile]) -> None:
        user_ids = list(queryset.values_list("user_id", flat=True))
        for user_id in user_ids:
            style_profile_reset(user_id=user_id)
        self.message_user(request, f"Reset {len(user_ids)} style profile(s).")


@admin.register(GroupStyleProfile)
class GroupStyleProfileAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("group", "message_count", "average_message_length", "last_updated", "reset_at")
    list_select_related = ("group",)
    raw_id_fields = ("group",)
    search_fields = ("group__name", "group__id")
    date_hierarchy = "last_updated"
    readonly_fields = (*_READ_ONLY, "member_contributions")
    actions = ("reset_profiles",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Reset: forget the learned group style (earlier messages stop counting)")
    def reset_profiles(self, request: HttpRequest, queryset: QuerySet[GroupStyleProfile]) -> None:
        profiles = list(queryset.select_related("group"))
        for profile in profiles:
            group_style_profile_reset(group=profile.group)
        self.message_user(request, f"Reset {len(profiles)} group style profile(s).")
