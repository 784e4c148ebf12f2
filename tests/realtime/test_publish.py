"""Publishing (`retrochat.realtime.broadcast`): what services publish after COMMIT, collected for a
batched round; several layer messages as one ``rt.batch``; the in-memory layer's direct path."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from channels.layers import InMemoryChannelLayer
from django.db import transaction

from retrochat.realtime import broadcast
from retrochat.realtime import hub as hub_module
from retrochat.realtime.broadcast import (
    WORKERS_GROUP,
    broadcast_many_on_commit,
    broadcast_on_commit,
    collect_published,
    disconnect_on_commit,
    encode_event,
    publish,
)
from tests.realtime.test_engine_unit import FakeSocket


@pytest.mark.django_db
def test_what_services_publish_after_commit_is_collected_in_order(
    layer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    payload = {"id": "m1", "content": "héllo"}
    with collect_published() as published, django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        broadcast_on_commit("first", 1, user_ids=["u1", "u1"])
        broadcast_many_on_commit([("message:receive", payload, ["u2"]), ("message:sent", payload, ["u1"])])
        disconnect_on_commit(["u3"], reason="sign-out")
    assert layer.sent == []  # nothing sent: the caller publishes
    assert [(m["type"], m.get("event"), m["users"]) for m in published] == [
        ("rt.emit", "first", ["u1"]),
        ("rt.emit", "message:receive", ["u2"]),
        ("rt.emit", "message:sent", ["u1"]),
        ("rt.disconnect", None, ["u3"]),
    ]
    # The shared payload is encoded once, exactly as encode_event would write it.
    assert published[1]["packet"] == encode_event("message:receive", payload)
    assert published[2]["packet"] == encode_event("message:sent", payload)


@pytest.mark.django_db
def test_nothing_is_collected_from_a_rolled_back_transaction(django_capture_on_commit_callbacks: Any) -> None:
    with (
        collect_published() as published,
        django_capture_on_commit_callbacks(execute=True),
        contextlib.suppress(RuntimeError),
        transaction.atomic(),
    ):
        broadcast_on_commit("never", user_ids=["u1"])
        raise RuntimeError("rolled back")
    assert published == []


class ForeignLayer:
    """The in-memory layer as a process-external one (Redis) is seen: not an InMemoryChannelLayer."""

    def __init__(self) -> None:
        self.inner = InMemoryChannelLayer()
        self.group_sends: list[tuple[str, str]] = []

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self.group_sends.append((group, message["type"]))
        await self.inner.group_send(group, message)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def use_layer(monkeypatch: pytest.MonkeyPatch, layer: Any) -> None:
    monkeypatch.setattr(hub_module, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(broadcast, "get_channel_layer", lambda: layer)
    monkeypatch.setattr(hub_module, "_hub", None)


def emit(event: str, users: list[str]) -> dict[str, Any]:
    return {"type": "rt.emit", "event": event, "packet": encode_event(event), "users": users, "room": None}


async def test_several_messages_cross_the_layer_as_one_batch_applied_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layer = ForeignLayer()
    use_layer(monkeypatch, layer)
    hub = hub_module.get_hub()
    alice, bob = FakeSocket("a", "session-a"), FakeSocket("b")
    await hub.join(alice, "user.alice")
    await hub.join(bob, "user.bob")

    await publish([emit("one", ["alice"]), emit("two", ["bob", "alice"]), emit("three", ["alice"])])
    await publish([emit("alone", ["bob"])])
    await publish(
        [{"type": "rt.disconnect", "users": ["alice"], "auth_session_id": None, "reason": "bye"}, emit("x", ["bob"])]
    )
    await asyncio.sleep(0.05)
    assert layer.group_sends == [(WORKERS_GROUP, "rt.batch"), ("rt.user.bob", "rt.emit"), (WORKERS_GROUP, "rt.batch")]
    assert alice.packets == ['2["one"]', '2["two"]', '2["three"]']
    assert bob.packets == ['2["two"]', '2["alone"]', '2["x"]']
    assert alice.disconnected == ["bye"]
    await hub.stop()


async def test_with_the_in_memory_layer_this_workers_sockets_get_events_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layer = InMemoryChannelLayer()
    use_layer(monkeypatch, layer)
    hub = hub_module.get_hub()
    alice = FakeSocket("a")
    await hub.join(alice, "user.alice")
    sends: list[str] = []
    original = layer.group_send

    async def counting(group: str, message: dict[str, Any]) -> None:
        sends.append(group)
        await original(group, message)

    monkeypatch.setattr(layer, "group_send", counting)
    await publish([emit("one", ["alice"]), emit("two", ["alice"])])
    assert alice.packets == ['2["one"]', '2["two"]']  # written before publish returned
    assert sends == []  # nothing went through the layer
    await hub.stop()


def test_the_recording_layer_unpacks_batches_like_the_hub(layer: Any) -> None:
    async def send() -> None:
        await publish([emit("one", ["u1"]), emit("two", ["u2"])])

    asyncio.run(send())
    assert [(p.group, p.event, p.users) for p in layer.sent] == [
        (WORKERS_GROUP, "one", ["u1"]),
        (WORKERS_GROUP, "two", ["u2"]),
    ]
