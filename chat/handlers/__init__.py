"""Socket.IO event handlers of the chat app (imported by ChatConfig.ready)."""

from chat.handlers import connection, messages, presence, typing

__all__ = ["connection", "messages", "presence", "typing"]
