"""The npm ``socket.io-client`` 4.8 under node (what RetroChat's browsers run) against a real worker.

``scripts/test`` installs it (``npm ci`` in tests/node); without node or the package the tests
skip, unless RETROCHAT_REQUIRE_SERVICES=1, where they fail.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.fixtures import services_required
from tests.e2e.helpers import amake_user

pytestmark = [pytest.mark.e2e, pytest.mark.node, pytest.mark.django_db(transaction=True)]

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "socket.io-client").is_dir():
        message = "needs node and tests/node/node_modules (npm ci in tests/node; scripts/test does it)"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    return node


async def run_node(config: dict[str, Any]) -> tuple[int, list[dict[str, Any]], str]:
    process = await asyncio.create_subprocess_exec(
        _node(),
        str(NODE_DIR / "client.mjs"),
        json.dumps(config),
        cwd=NODE_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    lines = [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]
    assert process.returncode is not None
    return process.returncode, lines, stderr.decode()


def acks(lines: list[dict[str, Any]]) -> dict[str, Any]:
    return {line["name"]: line["args"] for line in lines if line["type"] == "ack"}


def events(lines: list[dict[str, Any]], name: str) -> list[Any]:
    return [line["args"] for line in lines if line["type"] == "event" and line["event"] == name]


@pytest.mark.parametrize(
    ("transports", "final"),
    [(["websocket", "polling"], "websocket"), (["polling"], "polling"), (["polling", "websocket"], "websocket")],
    ids=["websocket-first", "polling", "polling-upgrade"],
)
async def test_node_client_with_session_cookie(server, transports, final):
    alice = await amake_user()
    config = {
        "url": server.base_url,
        "transports": transports,
        "headers": {"Cookie": alice.cookie_header},
        "userId": alice.id,
        "expectUpgrade": final == "websocket",
    }
    code, lines, stderr = await run_node(config)
    assert code == 0, (lines, stderr)
    connect = next(line for line in lines if line["type"] == "connect")
    assert connect["transport"] in transports
    done = [line for line in lines if line["type"] == "done"]
    assert done == [{"type": "done", "transport": final}]
    got = acks(lines)
    assert got["whoami"] == [{"userId": alice.id, "sid": connect["id"], "authSessionId": alice.session_id}]
    assert got["echo"] == [1, "two", {"three": [3]}]
    assert got["binary"] == [{"got": {"$bytes": "000102ff"}, "size": 4}]
    assert got["push"] == ["sent"]
    assert got["call"] == [{"answer": {"fromNode": 42}}]
    # emit without ack → the handler's emit; server emits through the channel layer; binary emits
    assert events(lines, "e2e:echoed") == [[{"hello": "world"}], [1, "two", {"three": [3]}]]
    assert events(lines, "e2e:pushed") == [[{"n": 7}]]
    assert events(lines, "e2e:binary-back") == [[{"got": {"$bytes": "000102ff"}, "extra": {"$bytes": "0001feff"}}]]


async def test_node_client_with_auth_token(server):
    bob = await amake_user()
    config = {"url": server.base_url, "transports": ["websocket"], "auth": {"token": bob.token}, "userId": bob.id}
    code, lines, stderr = await run_node(config)
    assert code == 0, (lines, stderr)
    assert acks(lines)["whoami"][0]["userId"] == bob.id


async def test_node_client_refused_without_session(server):
    config = {"url": server.base_url, "transports": ["websocket"], "userId": "nobody"}
    code, lines, stderr = await run_node(config)
    assert code == 1, (lines, stderr)
    errors = [line for line in lines if line["type"] == "connect_error"]
    assert errors == [{"type": "connect_error", "message": "Unauthorized", "data": None}]


async def test_node_client_foreign_origin_is_refused_on_polling(server):
    carol = await amake_user()
    config = {
        "url": server.base_url,
        "transports": ["polling"],
        "headers": {"Cookie": carol.cookie_header, "Origin": "https://evil.example"},
        "userId": carol.id,
    }
    code, lines, stderr = await run_node(config)
    assert code == 1, (lines, stderr)
    assert [line["type"] for line in lines if line["type"] in ("connect", "connect_error")] == ["connect_error"]


@pytest.mark.parametrize("transports", [["websocket", "polling"], ["polling"]], ids=["websocket-first", "polling"])
async def test_node_client_reconnects_after_the_transport_drops(server, transports):
    carol = await amake_user()
    config = {
        "url": server.base_url,
        "transports": transports,
        "headers": {"Cookie": carol.cookie_header},
        "userId": carol.id,
        "scenario": "reconnect",
    }
    code, lines, stderr = await run_node(config)
    assert code == 0, (lines, stderr)
    connects = [line for line in lines if line["type"] == "connect"]
    assert len(connects) == 2
    assert connects[0]["id"] != connects[1]["id"]  # a new socket after the drop
    assert next(line["reason"] for line in lines if line["type"] == "disconnect") == "transport close"
    assert acks(lines)["whoami"][0]["userId"] == carol.id
