from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    """The realtime engine; installed for its management commands (``runserver_conformance``)."""

    name = "retrochat.realtime"
    label = "realtime"
    verbose_name = "Realtime engine"
