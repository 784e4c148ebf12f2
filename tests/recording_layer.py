"""A channel layer stand-in for service and handler tests: records every event published through
`retrochat.realtime.broadcast` (layer group, event name, payload, addressed users). The ``layer``
fixture of `tests.conftest` installs it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from retrochat.realtime import broadcast


@dataclass(frozen=True)
class Published:
    """One event handed to the channel layer: which layer group, which event, payload and users."""

    group: str
    event: str
    payload: Any
    users: list[str]
    exclude_sid: str | None


@dataclass
class RecordingLayer:
    """Replaces the channel layer inside `retrochat.realtime.broadcast` and records what is published."""

    sent: list[Published] = field(default_factory=list)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        if message["type"] == "rt.batch":  # a batched round: its messages, in order
            for item in message["messages"]:
                await self.group_send(group, item)
            return
        assert message["type"] == "rt.emit"
        packet = message["packet"]
        assert packet.startswith("2[")
        name, *args = json.loads(packet[1:])
        assert name == message["event"]
        self.sent.append(
            Published(group, name, args[0] if args else None, list(message["users"]), message.get("exclude_sid"))
        )

    def named(self, event: str) -> list[Published]:
        return [p for p in self.sent if p.event == event]

    def events(self) -> list[tuple[str, list[str]]]:
        return [(p.event, p.users) for p in self.sent]

    def clear(self) -> None:
        self.sent.clear()


def install(monkeypatch: pytest.MonkeyPatch) -> RecordingLayer:
    fake = RecordingLayer()
    monkeypatch.setattr(broadcast, "get_channel_layer", lambda: fake)
    return fake
