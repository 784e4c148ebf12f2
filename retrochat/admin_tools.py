"""Admin building blocks shared by the apps."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest


class MessageModerationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only message pages whose deletions go through a service that tells the recipients.

    Subclasses implement `delete_and_tell`; Django's own bulk delete is removed because it would
    bypass it.
    """

    actions = ("delete_and_notify",)

    def delete_and_tell(self, message: Any) -> None:
        raise NotImplementedError

    @admin.display(description="content")
    def short_content(self, obj: Any) -> str:
        content: str = obj.content
        return content if len(content) <= 60 else content[:57] + "…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Delete and tell the people who can see it")
    def delete_and_notify(self, request: HttpRequest, queryset: QuerySet[Model]) -> None:
        count = 0
        for message in queryset:
            self.delete_and_tell(message)
            count += 1
        self.message_user(request, f"Deleted {count} message(s).", messages.SUCCESS)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.delete_and_tell(obj)
