"""The benchmark suite still works: bench_setup, then the load generator against a real server.

A few seconds of each scenario against one RetroChat worker (daphne, the test database, the event
rate limit off as in benchmark runs). No timing assertions: every message sent is acked, delivered
exactly once, and nothing is refused. Benchmarks are about the real stack, so this runs on
PostgreSQL only (SQLite refuses concurrent writers with "database is locked" under this load).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from chat.services.ai_users import ensure_ai_friend
from tests.chat.dm_factories import postgres_only
from tests.e2e.harness import REPO_ROOT, ServerProcess

pytestmark = [pytest.mark.django_db(transaction=True), postgres_only]


def loadgen(server: ServerProcess, fixture: Path, scenario: str, *options: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.loadgen", "--scenario", scenario, "--fixture", str(fixture)]
    command += ["--url", server.ws_url, "--server-pid", str(server.process.pid), "--drain", "10", *options]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_every_scenario_runs_without_loss_or_duplicates(
    tmp_path: Path, server_factory: Callable[..., ServerProcess]
) -> None:
    ensure_ai_friend()
    fixture = tmp_path / "fixture.json"
    call_command("bench_setup", users=40, group_size=8, out=str(fixture), reset_messages=True)
    data = json.loads(fixture.read_text())
    assert len(data["users"]) == 40
    assert len(data["group"]["members"]) == 8
    assert data["friends"]["bench-00000"] == ["bench-00001"]
    server = server_factory(env={"REALTIME_EVENTS_PER_SECOND": "0"}, name="bench")
    short = ("--duration", "1", "--warmup", "0.3")

    idle = loadgen(server, fixture, "idle", "--connections", "30", "--duration", "0.5")
    assert idle["alive_at_end"] == 30
    assert idle["connects_per_s"] > 0

    for scenario, options in (
        ("pairs", ("--pairs", "5", "--window", "3")),
        ("group", ("--senders", "2", "--window", "3")),
        ("status", ("--clients", "5", "--window", "3")),
        ("pairs", ("--pairs", "5", "--rate", "50")),
    ):
        result = loadgen(server, fixture, scenario, *short, *options)
        assert result["sent"] > 0, result
        assert (result["acked"], result["errors"], result["unacked"]) == (result["sent"], 0, 0), result
        assert (result["lost"], result["dup"], result["drained"]) == (0, 0, True), result
        if scenario == "group":
            assert result["members"] == 8
