"""Socket.IO handlers: messages."""

from __future__ import annotations
