"""Graceful shutdown of a real worker (``python -m retrochat.serve``) with clients mid-traffic.

SIGTERM → the worker stops accepting, finishes the events it is handling (each acked once),
answers the ones that arrive now with ``unavailable``, tells every client to reconnect (Engine.IO
close, no Socket.IO disconnect), corrects presence and exits 0 within its budget. Checked with
python-socketio clients (in-flight calls, exit code and time, what is stored), with the npm
socket.io-client (it reconnects by itself, here to a replacement worker on the same port, and
resends what was not acknowledged: every message ends up stored exactly once) and, with Redis,
with a friend on another worker who sees the users of the stopped worker go offline at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from channels.db import database_sync_to_async

from tests.e2e.harness import SHUTDOWN_TIMEOUT, ServerProcess
from tests.e2e.helpers import Client, TestUser, amake_user, connect
from tests.e2e.test_node_client_e2e import NODE_DIR, _node

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NO_RATE_LIMIT = {"REALTIME_EVENTS_PER_SECOND": "0"}
BUDGET = float(SHUTDOWN_TIMEOUT)


def befriend(a: TestUser, b: TestUser) -> Any:
    from chat.models import Friendship

    return database_sync_to_async(Friendship.objects.create)(user1_id=a.id, user2_id=b.id)


async def stored(sender: TestUser, prefix: str) -> dict[str, list[str]]:
    """clientMessageId → ids of the stored rows (a list, so duplicates would show)."""
    rows: dict[str, list[str]] = await database_sync_to_async(_stored)(sender, prefix)
    return rows


def _stored(sender: TestUser, prefix: str) -> dict[str, list[str]]:
    from chat.models import DirectMessage

    rows: dict[str, list[str]] = {}
    for cmid, pk in DirectMessage.objects.filter(
        from_user_id=sender.id, client_message_id__startswith=prefix
    ).values_list("client_message_id", "id"):
        rows.setdefault(str(cmid), []).append(str(pk))
    return rows


async def terminate(srv: ServerProcess) -> tuple[int, float]:
    """SIGTERM the worker; its exit status and how long it took to exit."""
    started = time.monotonic()
    os.killpg(srv.process.pid, signal.SIGTERM)
    code = await asyncio.to_thread(srv.process.wait, BUDGET + 10)
    return code, time.monotonic() - started


@dataclass
class Sender:
    """Sends message:send with clientMessageIds ``<tag>-<n>`` one after the other, as fast as acked."""

    client: Client
    to: TestUser
    tag: str = field(default_factory=lambda: f"sd-{secrets.token_hex(4)}")
    acked: dict[str, str] = field(default_factory=dict)  # cmid → message id
    refused: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)

    async def run(self) -> None:
        n = 0
        while self.client.connected:
            cmid = f"{self.tag}-{n}"
            n += 1
            try:
                ack = await self.client.call(
                    "message:send", {"toUserId": self.to.id, "content": f"hello {n}", "clientMessageId": cmid}
                )
            except Exception:
                self.lost.append(cmid)
                return
            if isinstance(ack, dict) and "error" in ack:
                assert ack["error"] == {"code": "unavailable", "message": "Server is restarting. Please try again."}
                self.refused.append(cmid)
            else:
                assert ack["clientMessageId"] == cmid
                self.acked[cmid] = ack["id"]
            await asyncio.sleep(0.005)


async def test_sigterm_mid_traffic_acks_in_flight_calls_once_and_closes_every_connection(server_factory: Any) -> None:
    srv = server_factory(env=NO_RATE_LIMIT, name="doomed")
    alice = await amake_user(name="Alice")
    bob = await amake_user(name="Bob")
    await befriend(alice, bob)
    ws = await connect(srv, alice)
    polling = await connect(srv, alice, transports=("polling",))
    busy = await connect(srv, alice)
    receiver = await connect(srv, bob)
    clients = (ws, polling, busy, receiver)
    senders = [Sender(ws, bob), Sender(polling, bob)]
    tasks = [asyncio.create_task(sender.run()) for sender in senders]
    try:
        while min(len(s.acked) for s in senders) < 5:
            await asyncio.sleep(0.02)
        # An event being handled when the signal arrives (it holds its socket's queue for 1.5 s),
        # and one queued behind it.
        slow = asyncio.create_task(busy.call("e2e:sleep", 1.5, timeout=10))
        queued = asyncio.create_task(busy.call("e2e:echo", "after the slow one", timeout=10))
        await asyncio.sleep(0.2)
        code, took = await terminate(srv)
        await asyncio.wait_for(asyncio.gather(*tasks), 10)

        assert code == 0, srv.log_tail()
        assert 1.2 < took < BUDGET + 1, f"exited after {took:.2f}s"
        assert await slow == "slept"  # finished, and acked, although the signal came mid-handler
        assert await queued == "after the slow one"
        for client in clients:
            await client.wait_disconnected(timeout=2)
        # WebSocket clients see the transport close (python-socketio: "transport error") and would
        # reconnect; a Socket.IO DISCONNECT would read "server disconnect" and stop them.
        for client in (ws, busy, receiver):
            assert client.disconnect_reasons == ["transport error"]

        for sender in senders:
            rows = await stored(alice, sender.tag)
            # Every acknowledged message is stored exactly once, with the acknowledged id.
            assert len(sender.acked) >= 5
            for cmid, message_id in sender.acked.items():
                assert rows.get(cmid) == [message_id]
            # Refused ones were never stored; one lost in the close was stored at most once.
            for cmid in sender.refused:
                assert cmid not in rows
            assert all(len(rows.get(cmid, [])) <= 1 for cmid in sender.lost)
            assert set(rows) <= set(sender.acked) | set(sender.lost)
        log = srv.log_text()
        assert "SIGTERM received: draining" in log
        assert "drained 4 session(s) with 4 socket(s)" in log
    finally:
        for task in tasks:
            task.cancel()
        for client in clients:
            await client.disconnect()


# --------------------------------------------------------------------------------------- npm client


@dataclass
class NodeClient:
    process: asyncio.subprocess.Process
    lines: list[dict[str, Any]] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, config: dict[str, Any]) -> NodeClient:
        process = await asyncio.create_subprocess_exec(
            _node(),
            str(NODE_DIR / "shutdown.mjs"),
            json.dumps(config),
            cwd=NODE_DIR,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        client = cls(process)
        client.reader = asyncio.create_task(client._read())
        return client

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            if line.strip():
                self.lines.append(json.loads(line))

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line["type"] == kind]

    async def wait_for(self, condition: Any, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not condition(self):
            assert time.monotonic() < deadline, f"node client: {self.lines[-10:]}"
            await asyncio.sleep(0.02)

    async def finish(self, timeout: float = 30) -> int:
        code = await asyncio.wait_for(self.process.wait(), timeout)
        if self.reader is not None:
            await self.reader
        return code


@pytest.mark.node
async def test_npm_clients_reconnect_to_the_next_worker_and_every_message_is_stored_once(server_factory: Any) -> None:
    node = _node()  # skips (or fails in CI) without node and the npm client
    assert node
    first = server_factory(env=NO_RATE_LIMIT, name="doomed")
    alice = await amake_user(name="Alice")
    bob = await amake_user(name="Bob")
    await befriend(alice, bob)
    count = 60
    clients: dict[str, NodeClient] = {}
    for transport in ("websocket", "polling"):
        clients[transport] = await NodeClient.start(
            {
                "url": first.base_url,
                "transports": [transport],
                "headers": {"Cookie": alice.cookie_header},
                "toUserId": bob.id,
                "tag": f"nd-{transport}-{secrets.token_hex(3)}",
                "count": count,
                "pauseMs": 20,
            }
        )
    try:
        for client in clients.values():
            await client.wait_for(lambda c: len(c.of("ack")) >= 5)
        code, took = await terminate(first)
        assert code == 0, first.log_tail()
        assert took < BUDGET + 1
        # The replacement worker comes up where the proxy would send the clients.
        server_factory(env=NO_RATE_LIMIT, name="replacement", port=first.port)
        for transport, client in clients.items():
            assert await client.finish() == 0, client.lines[-10:]
            assert [line["n"] for line in client.of("connect")] == [1, 2]
            # Told to reconnect: "transport close" (a Socket.IO disconnect would be "io server
            # disconnect", after which socket.io-client does not reconnect by itself).
            assert [line["reason"] for line in client.of("disconnect")[:1]] == ["transport close"]
            assert client.of("done") == [{"type": "done", "acked": count}]
            acks = {line["cmid"]: line["id"] for line in client.of("ack")}
            assert len(acks) == count
            assert any(line["n"] == 1 for line in client.of("ack"))
            assert any(line["n"] == 2 for line in client.of("ack"))
            for line in client.of("refused"):
                assert line["code"] == "unavailable"
            tag = client.of("ack")[0]["cmid"].rsplit("-", 1)[0]
            rows = await stored(alice, tag + "-")
            assert rows == {cmid: [message_id] for cmid, message_id in acks.items()}, transport
    finally:
        for client in clients.values():
            if client.process.returncode is None:
                client.process.kill()
                await client.process.wait()


# --------------------------------------------------------------------------------------- presence


@pytest.mark.redis
@pytest.mark.usefixtures("needs_redis_e2e")
async def test_friends_on_other_workers_see_the_stopped_workers_users_offline_at_once(server_factory: Any) -> None:
    from chat.presence_store import get_presence_store, set_presence_store

    doomed = server_factory(name="doomed")
    staying = server_factory(name="staying")
    alice = await amake_user(name="Alice")
    bob = await amake_user(name="Bob")
    await befriend(alice, bob)
    bob_tab = await connect(staying, bob)
    alice_tab = await connect(doomed, alice)
    set_presence_store(None)
    store = get_presence_store()
    try:
        await bob_tab.events.wait_for("user:status", lambda p: p == {"userId": alice.id, "status": "online"})
        assert await store.online([alice.id]) == {alice.id}
        code, _ = await terminate(doomed)
        assert code == 0
        # Right away, not after PRESENCE_TTL_SECONDS (30 s): the worker removed its entries itself.
        assert await store.online([alice.id]) == set()
        await bob_tab.events.wait_for(
            "user:status", lambda p: p == {"userId": alice.id, "status": "offline"}, timeout=2
        )
        await alice_tab.wait_disconnected(timeout=2)
    finally:
        await bob_tab.disconnect()
        await alice_tab.disconnect()
        set_presence_store(None)


@pytest.fixture
def needs_redis_e2e() -> None:
    from tests.e2e.fixtures import require_redis

    require_redis()
