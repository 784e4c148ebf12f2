"""Metrics in-process: who may read ``/metrics``, what it contains, and that each hook moves its
counter (HTTP, rate limits, AI streams, fan-out, channel-layer drops). Several worker processes
sharing one directory are tested here with plain subprocesses, and end to end in
tests/e2e/test_ops_metrics.py."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings
from prometheus_client import REGISTRY

from aifriend import streaming
from aifriend.providers import GenerationRequest, ProviderError, StyleContext
from aifriend.services import ReplyPlan
from chat.ratelimit import Limit
from chat.services.typing import TYPING_MAX_EVENTS, typing_limiter, typing_notify
from retrochat.errors import RateLimited
from retrochat.observability.logs import CapacityDropCounter
from retrochat.realtime import hub as hub_module
from retrochat.realtime.broadcast import emit_to_everyone, emit_to_users, encode_event
from retrochat.serve import access_log, prepare_metrics_dir
from tests.realtime.test_engine_unit import FakeSocket
from tests.realtime.test_engine_unit import memory_layer as memory_layer

ROOT = Path(__file__).resolve().parents[2]


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --------------------------------------------------------------------------------------- /metrics


def test_metrics_answers_loopback_clients_with_the_prometheus_text_format() -> None:
    response = Client().get("/metrics")  # the test client's REMOTE_ADDR is 127.0.0.1
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    for name in (
        "# TYPE retrochat_realtime_sockets gauge",
        "# TYPE retrochat_realtime_connects_total counter",
        "# TYPE retrochat_realtime_fanout_seconds histogram",
        "# TYPE retrochat_http_requests_total counter",
        "# TYPE retrochat_ai_stream_duration_seconds histogram",
        "# TYPE retrochat_channel_layer_over_capacity_total counter",
    ):
        assert name in body


def test_metrics_refuses_other_hosts_without_a_token() -> None:
    response = Client(REMOTE_ADDR="203.0.113.9").get("/metrics")
    assert response.status_code == 403
    assert b"retrochat_" not in response.content


@override_settings(METRICS_TOKEN="s3cret-scrape-token")
def test_metrics_with_a_token_needs_exactly_that_bearer_token() -> None:
    outside = Client(REMOTE_ADDR="203.0.113.9")
    missing = outside.get("/metrics")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert outside.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert outside.get("/metrics", headers={"Authorization": "Basic s3cret-scrape-token"}).status_code == 401
    # The token is needed from loopback too.
    assert Client().get("/metrics").status_code == 401
    ok = outside.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert ok.status_code == 200
    assert b"retrochat_realtime_sockets" in ok.content


@override_settings(METRICS_ENABLED=False)
def test_metrics_can_be_switched_off() -> None:
    assert Client().get("/metrics").status_code == 404


def test_http_requests_are_counted_by_route_pattern_and_status() -> None:
    labels = {"method": "GET", "route": "/healthz", "status": "200"}
    before = value("retrochat_http_requests_total", **labels)
    duration_before = value("retrochat_http_request_duration_seconds_count", method="GET", route="/healthz")
    assert Client().get("/healthz").status_code == 200
    assert value("retrochat_http_requests_total", **labels) == before + 1
    assert value("retrochat_http_request_duration_seconds_count", method="GET", route="/healthz") == duration_before + 1
    # Unknown paths share one series instead of one per path.
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    before = value("retrochat_http_requests_total", **unmatched)
    Client().get("/no/such/page/12345")
    Client().get("/no/such/page/67890")
    assert value("retrochat_http_requests_total", **unmatched) == before + 2


def test_request_id_is_echoed_or_made_up() -> None:
    assert Client().get("/healthz", headers={"X-Request-ID": "edge-42.a:b"})["X-Request-ID"] == "edge-42.a:b"
    made_up = Client().get("/healthz", headers={"X-Request-ID": "no spaces <allowed>"})["X-Request-ID"]
    assert made_up != "no spaces <allowed>"
    assert len(made_up) == 16
    assert Client().get("/healthz")["X-Request-ID"] != Client().get("/healthz")["X-Request-ID"]


# --------------------------------------------------------------------------------------- hooks


@override_settings(AUTH_RATE_LIMIT_ENABLED=True)
def test_auth_rate_limit_hits_are_counted_per_limiter(db: None) -> None:
    before_ip = value("retrochat_rate_limit_hits_total", limiter="auth_ip")
    before_account = value("retrochat_rate_limit_hits_total", limiter="auth_account")
    limit = Limit("ip:metrics-test", 2, 60)
    client = f"198.51.100.7-{uuid.uuid4().hex}"  # the window lives in the shared cache: no other run's hits
    limit.hit(client)
    limit.hit(client)
    assert value("retrochat_rate_limit_hits_total", limiter="auth_ip") == before_ip
    with pytest.raises(RateLimited):
        limit.hit(client)
    with pytest.raises(RateLimited):
        limit.check(client)
    assert value("retrochat_rate_limit_hits_total", limiter="auth_ip") == before_ip + 2
    assert value("retrochat_rate_limit_hits_total", limiter="auth_account") == before_account


async def test_typing_rate_limit_hits_are_counted() -> None:
    before = value("retrochat_rate_limit_hits_total", limiter="typing")
    for _ in range(TYPING_MAX_EVENTS):
        assert typing_limiter.allow("metrics-typist")
    assert await typing_notify(user_id="metrics-typist", to_user_id="anyone") is False
    assert value("retrochat_rate_limit_hits_total", limiter="typing") == before + 1
    typing_limiter.reset()


class FakeProvider:
    def __init__(self, name: str, chunks: list[str], *, fail: Exception | None = None, hang: bool = False) -> None:
        self.name = name
        self.chunks = chunks
        self.fail = fail
        self.hang = hang

    async def stream(self, request: GenerationRequest) -> Any:
        for chunk in self.chunks:
            yield chunk
        if self.hang:
            await asyncio.sleep(3600)
        if self.fail is not None:
            raise self.fail


PLAN = ReplyPlan(request=GenerationRequest(prompt="hello", style=StyleContext(system_prompt="be nice")))


async def test_ai_streams_are_counted_with_outcome_duration_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def counts(provider: str) -> tuple[float, ...]:
        return (
            value("retrochat_ai_streams_total", provider=provider, outcome="ok"),
            value("retrochat_ai_streams_total", provider=provider, outcome="failed"),
            value("retrochat_ai_streams_total", provider=provider, outcome="cancelled"),
            value("retrochat_ai_stream_errors_total", provider=provider),
            value("retrochat_ai_stream_duration_seconds_count", provider=provider),
        )

    active = value("retrochat_ai_streams_active")
    provider = "metrics-fake"
    before = counts(provider)

    monkeypatch.setattr(streaming, "get_provider", lambda: FakeProvider(provider, ["Hi", " there"]))
    assert await streaming.produce_reply(PLAN) == "Hi there"
    monkeypatch.setattr(streaming, "get_provider", lambda: FakeProvider(provider, ["Hal"], fail=ProviderError("x")))
    assert await streaming.produce_reply(PLAN) == "Hal"  # the text so far is the reply

    monkeypatch.setattr(streaming, "get_provider", lambda: FakeProvider(provider, ["..."], hang=True))
    task = asyncio.create_task(streaming.produce_reply(PLAN))
    await asyncio.sleep(0.05)
    assert value("retrochat_ai_streams_active") == active + 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    after = counts(provider)
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1, 1, 3]
    assert value("retrochat_ai_streams_active") == active


async def test_hub_counts_events_sent_and_fan_out_latency_and_reaches_everyone(memory_layer: Any) -> None:
    hub = hub_module.get_hub()
    alice, alice2, bob, anonymous = FakeSocket("a1"), FakeSocket("a2"), FakeSocket("b1"), FakeSocket("x1")
    await hub.join(alice, "user.m-alice")
    await hub.join(alice2, "user.m-alice")
    await hub.join(bob, "user.m-bob")
    await hub.join(anonymous, "group.m-room")  # in a room but not authenticated as a user
    sent_before = value("retrochat_realtime_events_sent_total", event="m:ping")
    fanout_before = value("retrochat_realtime_fanout_seconds_count")

    await emit_to_users("m:ping", {"n": 1}, user_ids=["m-alice"])
    await emit_to_everyone("m:notice", {"n": 2})
    await asyncio.sleep(0.1)

    assert alice.packets == [encode_event("m:ping", {"n": 1}), encode_event("m:notice", {"n": 2})]
    assert alice2.packets == alice.packets
    assert bob.packets == [encode_event("m:notice", {"n": 2})]
    assert anonymous.packets == []
    assert value("retrochat_realtime_events_sent_total", event="m:ping") == sent_before + 2  # one per socket
    assert value("retrochat_realtime_events_sent_total", event="m:notice") >= 3
    assert value("retrochat_realtime_fanout_seconds_count") == fanout_before + 2  # one per layer message
    await hub.stop()


async def test_layer_send_failures_are_counted(memory_layer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*args: Any) -> None:
        raise ConnectionError("layer down")

    monkeypatch.setattr(memory_layer, "group_send", broken)
    before = value("retrochat_channel_layer_failures_total", operation="group_send")
    with pytest.raises(ConnectionError):
        await emit_to_users("m:x", None, user_ids=["u1"])
    assert value("retrochat_channel_layer_failures_total", operation="group_send") == before + 1


def test_over_capacity_lines_of_channels_redis_are_counted() -> None:
    before = value("retrochat_channel_layer_over_capacity_total")
    record = logging.LogRecord(
        "channels_redis.core",
        logging.INFO,
        __file__,
        1,
        "%s of %s channels over capacity in group %s",
        (3, 4, "rt.workers"),
        None,
    )
    assert CapacityDropCounter().filter(record) is True  # the line is kept
    assert value("retrochat_channel_layer_over_capacity_total") == before + 3
    # The filter is installed on channels_redis' logger by the one logging configuration.
    assert any(isinstance(f, CapacityDropCounter) for f in logging.getLogger("channels_redis.core").filters)


@pytest.mark.redis
@pytest.mark.usefixtures("needs_redis")
async def test_over_capacity_drops_of_the_redis_layer_are_counted(settings: Any) -> None:
    from channels_redis.core import RedisChannelLayer

    # A prefix of its own per run: nothing left in Redis by another run can join the group.
    layer = RedisChannelLayer(hosts=[settings.REDIS_URL], prefix=f"rc_ops_capacity_{uuid.uuid4().hex}", capacity=1)
    try:
        channel = await layer.new_channel()
        await layer.group_add("capacity-test", channel)
        before = value("retrochat_channel_layer_over_capacity_total")
        for n in range(3):
            await layer.group_send("capacity-test", {"type": "x", "n": n})
        assert value("retrochat_channel_layer_over_capacity_total") == before + 2
    finally:
        await layer.flush()
        await layer.close_pools()


def test_access_log_never_writes_query_strings(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="retrochat.access"):
        access_log("http", "complete", {"method": "GET", "path": "/socket.io/?EIO=4&sid=abc", "status": 200})
        access_log("websocket", "connected", {"path": "/socket.io/?EIO=4&transport=websocket"})
    assert [r.getMessage() for r in caplog.records] == ["GET /socket.io/ 200", "websocket connected /socket.io/"]


# --------------------------------------------------------------------------------------- several processes

WORKER = textwrap.dedent(
    """
    import sys
    from retrochat.observability import metrics
    metrics.socket_connected()
    metrics.event_received("message:send")
    if sys.argv[1] == "exit":
        metrics.process_exited()
    else:
        body, _ = metrics.render()
        print(body.decode())
    """
)


def run_worker(directory: Path, mode: str) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    result = subprocess.run(
        [sys.executable, "-c", WORKER, mode], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout


def test_processes_sharing_the_directory_add_up_and_exited_ones_leave_the_gauges(tmp_path: Path) -> None:
    run_worker(tmp_path, "exit")
    run_worker(tmp_path, "exit")
    body = run_worker(tmp_path, "render")
    lines = body.splitlines()
    assert 'retrochat_realtime_events_received_total{event="message:send"} 3.0' in lines  # counters add up
    assert "retrochat_realtime_sockets 1.0" in lines  # only the live process's gauge counts


def test_prepare_metrics_dir_drops_gauges_of_dead_processes_only(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    alive_pid = os.getppid()
    for name in (
        f"gauge_livesum_{dead_pid}.db",
        f"gauge_livesum_{alive_pid}.db",
        f"gauge_livesum_{os.getpid()}.db",  # a dead process's pid, reused by this one
        f"counter_{dead_pid}.db",
    ):
        (tmp_path / name).write_bytes(b"")
    prepare_metrics_dir(str(tmp_path / "."))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"gauge_livesum_{alive_pid}.db", f"counter_{dead_pid}.db"]
    )
    prepare_metrics_dir(str(tmp_path / "new" / "dir"))
    assert (tmp_path / "new" / "dir").is_dir()
