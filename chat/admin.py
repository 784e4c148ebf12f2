"""Django admin for accounts, sessions, friendships and direct messages.

Every list page uses `list_select_related` / `raw_id_fields` so it costs a fixed number of
queries; message bodies are read-only; moderation goes through services (so sockets are told).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest

from chat.models import AuthSession, DirectMessage, FriendRequest, Friendship, Profile, User
from chat.models.accounts import is_ai_user_id
from chat.services.accounts import user_deactivate
from chat.services.moderation import direct_message_delete
from retrochat.admin_tools import MessageModerationAdmin


class RetroChatUserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name")


class RetroChatUserChangeForm(UserChangeForm):  # type: ignore[type-arg]
    class Meta:
        model = User
        fields = "__all__"


class ProfileInline(admin.StackedInline):  # type: ignore[type-arg]
    model = Profile
    can_delete = False
    fields = ("username", "display_name", "status_message", "profile_picture_url")


class AuthSessionInline(admin.TabularInline):  # type: ignore[type-arg]
    model = AuthSession
    extra = 0
    can_delete = True
    fields = ("id", "created_at", "expires_at", "ip_address", "user_agent")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class IsAIFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("human", "People"), ("ai", "AI users")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "ai":
            return queryset.filter(pk__in=User.objects.exclude(pk__in=User.objects.humans()).values("pk"))
        if self.value() == "human":
            return queryset.filter(pk__in=User.objects.humans().values("pk"))
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):  # type: ignore[type-arg]
    form = RetroChatUserChangeForm
    add_form = RetroChatUserCreationForm
    inlines = (ProfileInline, AuthSessionInline)
    list_display = ("email", "name", "username", "kind", "is_active", "is_staff", "created_at")
    list_filter = (IsAIFilter, "is_active", "is_staff", "email_verified")
    list_select_related = ("profile",)
    search_fields = ("email", "name", "profile__username", "profile__display_name", "id")
    ordering = ("-created_at",)
    readonly_fields = ("id", "created_at", "updated_at", "last_login")
    fieldsets = (
        (None, {"fields": ("id", "email", "password")}),
        ("Personal info", {"fields": ("name", "email_verified", "image")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),)
    actions = ("deactivate_users",)

    @admin.display(description="username")
    def username(self, obj: User) -> str:
        profile = getattr(obj, "profile", None)
        return profile.username if profile else "—"

    @admin.display(description="kind")
    def kind(self, obj: User) -> str:
        return "🤖 AI user (cannot log in)" if is_ai_user_id(obj.pk) else "person"

    @admin.action(description="Deactivate: end their sessions and disconnect their sockets")
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        ended = sum(user_deactivate(user=user) for user in queryset)
        self.message_user(request, f"Deactivated {queryset.count()} user(s); ended {ended} session(s).")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        # AI users never get a password: nobody can log in as them.
        return (*fields, "password") if obj is not None and is_ai_user_id(obj.pk) else fields


@admin.register(AuthSession)
class AuthSessionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "user", "created_at", "expires_at", "ip_address")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    search_fields = ("user__email", "id", "ip_address")
    readonly_fields = ("id", "token_hash", "created_at", "updated_at")
    date_hierarchy = "created_at"


@admin.register(FriendRequest)
class FriendRequestAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "from_user", "to_user", "status", "created_at")
    list_filter = ("status",)
    list_select_related = ("from_user", "to_user")
    raw_id_fields = ("from_user", "to_user")
    search_fields = ("from_user__email", "to_user__email", "id")
    date_hierarchy = "created_at"


@admin.register(Friendship)
class FriendshipAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "user1", "user2", "created_at")
    list_select_related = ("user1", "user2")
    raw_id_fields = ("user1", "user2")
    search_fields = ("user1__email", "user2__email")
    date_hierarchy = "created_at"


@admin.register(DirectMessage)
class DirectMessageAdmin(MessageModerationAdmin):
    list_display = ("id", "from_user", "to_user", "short_content", "timestamp", "is_read", "is_ai_generated")
    list_filter = ("is_read", "is_ai_generated")
    list_select_related = ("from_user", "to_user")
    raw_id_fields = ("from_user", "to_user")
    search_fields = ("from_user__email", "to_user__email", "id")
    date_hierarchy = "timestamp"
    readonly_fields = ("id", "from_user", "to_user", "content", "timestamp", "client_message_id", "is_ai_generated")

    def delete_and_tell(self, message: DirectMessage) -> None:
        direct_message_delete(message=message)
