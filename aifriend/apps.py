from django.apps import AppConfig


class AIFriendConfig(AppConfig):
    name = "aifriend"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers this app's Socket.IO handlers with the realtime router.
        from aifriend import handlers  # noqa: F401
