"""``/metrics`` of real workers: the counters move with real socket traffic, and workers sharing a
metrics directory are added up (a stopped worker's connected sockets stop counting, its totals
stay)."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from channels.db import database_sync_to_async
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import ServerProcess
from tests.e2e.helpers import ConnectRefused, TestUser, amake_user, connect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(srv: ServerProcess) -> Samples:
    response = httpx.get(f"{srv.base_url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def get(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str) -> float:
    return sum(value for (sample, _), value in samples.items() if sample == name)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return get(after, name, **labels) - get(before, name, **labels)


def befriend(a: TestUser, b: TestUser) -> Any:
    from chat.models import Friendship

    return database_sync_to_async(Friendship.objects.create)(user1_id=a.id, user2_id=b.id)


async def test_counters_move_with_real_socket_traffic(server_factory: Any) -> None:
    srv = server_factory()
    before = scrape(srv)
    alice = await amake_user(name="Alice")
    bob = await amake_user(name="Bob")
    await befriend(alice, bob)

    alice_ws = await connect(srv, alice)
    bob_polling = await connect(srv, bob, transports=("polling",))
    try:
        during = scrape(srv)
        assert get(during, "retrochat_realtime_sockets") == get(before, "retrochat_realtime_sockets") + 2
        assert delta(before, during, "retrochat_realtime_sessions", transport="websocket") == 1
        assert delta(before, during, "retrochat_realtime_sessions", transport="polling") == 1

        for n in range(3):
            assert await alice_ws.call("e2e:echo", n) == n
        cmid = f"metrics-{secrets.token_hex(4)}"
        ack = await alice_ws.call("message:send", {"toUserId": bob.id, "content": "hello", "clientMessageId": cmid})
        assert ack["clientMessageId"] == cmid
        await bob_polling.events.wait_for("message:receive")
        await alice_ws.emit("e2e:no-such-event-registered")  # no handler: counted as "unknown"
        assert await alice_ws.call("e2e:echo", "last") == "last"  # handled in order, so the above arrived
    finally:
        await alice_ws.disconnect()
        await bob_polling.disconnect()
    with pytest.raises(ConnectRefused):
        await connect(srv, None)  # no session: refused
    await asyncio.sleep(0.5)

    after = scrape(srv)
    assert delta(before, after, "retrochat_realtime_connects_total", result="accepted") == 2
    assert delta(before, after, "retrochat_realtime_connects_total", result="refused") == 1
    assert (
        total(after, "retrochat_realtime_disconnects_total") - total(before, "retrochat_realtime_disconnects_total")
        == 2
    )
    assert delta(before, after, "retrochat_realtime_events_received_total", event="e2e:echo") == 4
    assert delta(before, after, "retrochat_realtime_events_received_total", event="message:send") == 1
    assert delta(before, after, "retrochat_realtime_events_received_total", event="unknown") == 1
    assert delta(before, after, "retrochat_realtime_events_sent_total", event="e2e:echoed") == 4
    assert delta(before, after, "retrochat_realtime_events_sent_total", event="message:receive") == 1
    assert delta(before, after, "retrochat_realtime_events_sent_total", event="message:sent") == 1
    assert delta(before, after, "retrochat_realtime_fanout_seconds_count") >= 2  # through the channel layer
    assert get(after, "retrochat_realtime_sockets") == get(before, "retrochat_realtime_sockets")
    assert get(after, "retrochat_realtime_sessions", transport="websocket") == 0
    assert (
        get(after, "retrochat_http_requests_total", method="GET", route="/metrics", status="200") >= 2
    )  # the earlier scrapes


async def test_workers_sharing_a_directory_are_added_up(server_factory: Any, tmp_path: Path) -> None:
    shared = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    a = server_factory(env=shared, name="metrics-a")
    b = server_factory(env=shared, name="metrics-b")
    carol = await amake_user(name="Carol")
    dave = await amake_user(name="Dave")
    on_a = await connect(a, carol)
    on_b = await connect(b, dave)
    try:
        for srv in (a, b):  # either worker reports both
            samples = scrape(srv)
            assert get(samples, "retrochat_realtime_sockets") == 2
            assert get(samples, "retrochat_realtime_connects_total", result="accepted") == 2
        b.stop()
        assert b.process.returncode == 0
        samples = scrape(a)
        assert get(samples, "retrochat_realtime_sockets") == 1  # b's sockets are gone with it
        assert get(samples, "retrochat_realtime_connects_total", result="accepted") == 2  # its totals stay
        assert get(samples, "retrochat_realtime_disconnects_total", reason="server shutting down") == 1
    finally:
        await on_a.disconnect()
        await on_b.disconnect()
