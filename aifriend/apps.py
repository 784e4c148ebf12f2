from django.apps import AppConfig


class AIFriendConfig(AppConfig):
    name = "aifriend"
    default_auto_field = "django.db.models.BigAutoField"
