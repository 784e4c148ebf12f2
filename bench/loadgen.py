"""RetroChat's load generator: asyncio clients speaking Socket.IO over raw WebSocket frames.

    python -m bench.loadgen --scenario pairs --url ws://127.0.0.1:3001 --fixture bench/var/fixture.json \
        --duration 5 --pairs 50 --window 10 [--rate 2000] [--server-pid 1234 ...]

Scenarios (see docs/BENCHMARKS.md):

- ``idle``: ``--connections`` sockets (distinct users) connect ``--concurrency`` at a time and are
  held ``--duration`` s: connect rate, server RSS per connection, server CPU while idle.
- ``pairs``: ``--pairs`` sender→recipient pairs of friends (users 2k → 2k+1); each sender keeps at
  most ``--window`` un-acked ``message:send``; delivered ``message:receive``/s, latency from the
  client timestamp (in the content) to the recipient's ``message:receive``, lost and duplicated.
- ``group``: the fixture's group (every member connected), ``--senders`` senders sending
  ``group:message:send``; deliveries (``group:message:receive`` at each other member)/s.
- ``status``: ``--clients`` clients sending ``user:check-status`` (their friend plus four other
  users), ``--window`` outstanding each: acks/s and ack latency.

``--rate R`` turns a scenario open-loop: R messages (or requests) per second in total, sent on
schedule whether or not earlier ones were acked (at most ``--max-outstanding`` per client; beyond
that the send is counted as ``shed``), latency measured from the scheduled instant.

With several ``--url``, clients are spread round-robin over them (pairs: sender and recipient on
different workers). The result is one JSON object on stdout: counts, rates, latency percentiles
(ms), lost/dup/errors, the server processes' CPU and RSS (``--server-pid``, via /proc) and the
generator's own CPU use.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.wsclient import SioClient

NS = 1_000_000_000


# ---------------------------------------------------------------------- process metrics


def _proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def _proc_rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@dataclass
class ServerMeter:
    pids: list[int]

    def cpu(self) -> float:
        total = 0.0
        for pid in self.pids:
            with contextlib.suppress(OSError):
                total += _proc_cpu_seconds(pid)
        return total

    def rss(self) -> int:
        total = 0
        for pid in self.pids:
            with contextlib.suppress(OSError):
                total += _proc_rss_bytes(pid)
        return total


def percentiles(samples: list[int]) -> dict[str, float | None]:
    if not samples:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(samples)
    last = len(ordered) - 1

    def at(q: float) -> float:
        return round(ordered[min(last, int(q * len(ordered)))] / 1e6, 3)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1] / 1e6, 3)}


# ---------------------------------------------------------------------- connecting


@dataclass
class Target:
    host: str
    port: int


def parse_urls(urls: Sequence[str]) -> list[Target]:
    targets = []
    for url in urls:
        parts = urlsplit(url)
        targets.append(Target(parts.hostname or "127.0.0.1", parts.port or 80))
    return targets


async def connect_all(
    targets: list[Target], tokens: list[str], *, concurrency: int, placement: Callable[[int], int] | None = None
) -> list[SioClient]:
    """Connect one client per token (client i on ``targets[placement(i)]``), ``concurrency`` at a time."""
    gate = asyncio.Semaphore(concurrency)
    place = placement or (lambda i: i % len(targets))

    async def one(i: int, token: str) -> SioClient:
        target = targets[place(i) % len(targets)]
        async with gate:
            return await SioClient.connect(target.host, target.port, auth={"token": token})

    return list(await asyncio.gather(*(one(i, token) for i, token in enumerate(tokens))))


async def close_all(clients: list[SioClient]) -> None:
    for client in clients:
        client.close()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(c.closed for c in clients), return_exceptions=True), 10)


# ---------------------------------------------------------------------- measurement window


@dataclass
class Window:
    """The measured interval: from ``warmup`` s after start for ``duration`` s."""

    start_ns: int
    end_ns: int

    def inside(self, t: int) -> bool:
        return self.start_ns <= t < self.end_ns

    @property
    def seconds(self) -> float:
        return (self.end_ns - self.start_ns) / NS


@dataclass
class Stats:
    sent: int = 0
    acked: int = 0
    errors: int = 0
    shed: int = 0
    delivered_in_window: int = 0
    latencies: list[int] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(text[:200])


class Driver:
    """Closed loop (each client refills its window on every ack) or open loop (a schedule)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.running = False
        self.window: Window | None = None

    async def run(
        self,
        senders: list[Any],
        send: Callable[[Any, int], None],
        outstanding: Callable[[Any], int],
        meter: ServerMeter,
    ) -> dict[str, Any]:
        """Drive ``send(sender, scheduled_ns)`` for warmup + duration seconds; returns timing info."""
        args = self.args
        now = time.monotonic_ns()
        self.window = Window(now + int(args.warmup * NS), now + int((args.warmup + args.duration) * NS))
        self.running = True
        cpu0: tuple[float, float] | None = None
        ticker: asyncio.Task[None] | None = None
        if args.rate:
            ticker = asyncio.create_task(self._open_loop(senders, send, outstanding))
        else:
            for sender in senders:
                for _ in range(args.window):
                    send(sender, time.monotonic_ns())
        await asyncio.sleep(args.warmup)
        cpu0 = (meter.cpu(), time.process_time())
        await asyncio.sleep(args.duration)
        cpu1 = (meter.cpu(), time.process_time())
        self.running = False
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        seconds = self.window.seconds
        return {
            "seconds": round(seconds, 3),
            "server_cpu_pct": round(100 * (cpu1[0] - cpu0[0]) / seconds, 1),
            "loadgen_cpu_pct": round(100 * (cpu1[1] - cpu0[1]) / seconds, 1),
        }

    async def _open_loop(
        self, senders: list[Any], send: Callable[[Any, int], None], outstanding: Callable[[Any], int]
    ) -> None:
        rate: float = self.args.rate
        cap: int = self.args.max_outstanding
        t0 = time.monotonic_ns()
        issued = 0
        turn = 0
        while self.running:
            due = int((time.monotonic_ns() - t0) * rate / NS)
            while issued < due:
                sender = senders[turn % len(senders)]
                turn += 1
                scheduled = t0 + int(issued * NS / rate)
                issued += 1
                if outstanding(sender) >= cap:
                    self.on_shed()
                    continue
                send(sender, scheduled)
            await asyncio.sleep(0.001)

    def on_shed(self) -> None:
        pass


async def settle(done: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


# ---------------------------------------------------------------------- scenarios


def _is_error_ack(text: str) -> bool:
    return text.startswith('[{"error"')


class Sender:
    __slots__ = ("acked", "client", "index", "pending", "seq", "to")

    def __init__(self, index: int, client: SioClient, to: str) -> None:
        self.index = index
        self.client = client
        self.to = to
        self.seq = 0
        self.pending: dict[int, int] = {}  # ack id -> seq
        self.acked: set[int] = set()


async def scenario_pairs(args: argparse.Namespace, fixture: dict[str, Any], meter: ServerMeter) -> dict[str, Any]:
    users = fixture["users"]
    count = args.pairs
    if 2 * count > len(users):
        raise SystemExit(f"the fixture has {len(users)} users: at most {len(users) // 2} pairs")
    targets = parse_urls(args.url)
    tokens = [users[i]["token"] for i in range(2 * count)]
    # Pair k: sender 2k on worker k, recipient 2k+1 on worker k+1 (modulo the workers), so that with
    # several workers every message crosses to another worker and every worker sends its share.
    clients = await connect_all(targets, tokens, concurrency=args.concurrency, placement=lambda i: i // 2 + i % 2)
    stats = Stats()
    driver = Driver(args)
    driver.on_shed = lambda: setattr(stats, "shed", stats.shed + 1)  # type: ignore[method-assign]
    senders = [Sender(k, clients[2 * k], users[2 * k + 1]["id"]) for k in range(count)]
    received: list[set[int]] = [set() for _ in range(count)]
    sender_of = {users[2 * k]["id"]: k for k in range(count)}
    dup = 0

    def send(sender: Sender, scheduled: int) -> None:
        sender.seq += 1
        content = f"{sender.seq} {scheduled}"
        ack_id = sender.client.emit("message:send", {"toUserId": sender.to, "content": content})
        sender.pending[ack_id] = sender.seq
        stats.sent += 1

    def make_ack(sender: Sender) -> Callable[[int, str], None]:
        def on_ack(ack_id: int, text: str) -> None:
            seq = sender.pending.pop(ack_id, None)
            if seq is None:
                return
            if _is_error_ack(text):
                stats.error(text)
            else:
                sender.acked.add(seq)
                stats.acked += 1
            if driver.running and not args.rate:
                send(sender, time.monotonic_ns())

        return on_ack

    def on_receive(name: str, text: str) -> None:
        nonlocal dup
        if name != "message:receive":
            return
        now = time.monotonic_ns()
        message = json.loads(text[2:])[1]
        k = sender_of[message["fromUserId"]]
        seq_text, stamp = message["content"].split(" ")
        seq = int(seq_text)
        seen = received[k]
        if seq in seen:
            dup += 1
            return
        seen.add(seq)
        window = driver.window
        if window is not None and window.inside(now):
            stats.delivered_in_window += 1
            stats.latencies.append(now - int(stamp))

    for sender in senders:
        sender.client.on_ack = make_ack(sender)
    for k in range(count):
        clients[2 * k + 1].on_event = on_receive
    timing = await driver.run(senders, send, lambda s: len(s.pending), meter)
    acks_done = await settle(lambda: all(not s.pending for s in senders), args.drain)
    delivered_done = await settle(lambda: all(s.acked <= received[s.index] for s in senders), args.drain)
    lost = sum(len(s.acked - received[s.index]) for s in senders)
    unacked = sum(len(s.pending) for s in senders)
    await close_all(clients)
    return _result(args, stats, timing, lost=lost, dup=dup, unacked=unacked, drained=acks_done and delivered_done)


async def scenario_group(args: argparse.Namespace, fixture: dict[str, Any], meter: ServerMeter) -> dict[str, Any]:
    group = fixture["group"]
    members: list[str] = group["members"]
    token_of = {u["id"]: u["token"] for u in fixture["users"]}
    targets = parse_urls(args.url)
    clients = await connect_all(targets, [token_of[m] for m in members], concurrency=args.concurrency)
    index_of = {uid: i for i, uid in enumerate(members)}
    stats = Stats()
    driver = Driver(args)
    driver.on_shed = lambda: setattr(stats, "shed", stats.shed + 1)  # type: ignore[method-assign]
    senders = [Sender(i, clients[i], group["id"]) for i in range(min(args.senders, len(members)))]
    # received[member] = {(sender index, seq)}
    received: list[set[tuple[int, int]]] = [set() for _ in members]
    dup = 0

    def send(sender: Sender, scheduled: int) -> None:
        sender.seq += 1
        content = f"{sender.seq} {scheduled}"
        ack_id = sender.client.emit("group:message:send", {"groupId": sender.to, "content": content})
        sender.pending[ack_id] = sender.seq
        stats.sent += 1

    def make_ack(sender: Sender) -> Callable[[int, str], None]:
        def on_ack(ack_id: int, text: str) -> None:
            seq = sender.pending.pop(ack_id, None)
            if seq is None:
                return
            if _is_error_ack(text):
                stats.error(text)
            else:
                sender.acked.add(seq)
                stats.acked += 1
            if driver.running and not args.rate:
                send(sender, time.monotonic_ns())

        return on_ack

    def make_receive(member: int) -> Callable[[str, str], None]:
        seen = received[member]

        def on_receive(name: str, text: str) -> None:
            nonlocal dup
            if name != "group:message:receive":
                return
            now = time.monotonic_ns()
            message = json.loads(text[2:])[1]
            seq_text, stamp = message["content"].split(" ")
            key = (index_of[message["fromUserId"]], int(seq_text))
            if key in seen:
                dup += 1
                return
            seen.add(key)
            window = driver.window
            if window is not None and window.inside(now):
                stats.delivered_in_window += 1
                stats.latencies.append(now - int(stamp))

        return on_receive

    for sender in senders:
        sender.client.on_ack = make_ack(sender)
    for i, client in enumerate(clients):
        client.on_event = make_receive(i)

    def missing() -> int:
        total = 0
        for sender in senders:
            for seq in sender.acked:
                key = (sender.index, seq)
                total += sum(1 for m in range(len(members)) if m != sender.index and key not in received[m])
        return total

    timing = await driver.run(senders, send, lambda s: len(s.pending), meter)
    acks_done = await settle(lambda: all(not s.pending for s in senders), args.drain)
    expected = (len(members) - 1) * sum(len(s.acked) for s in senders)
    got = lambda: sum(len(r) for r in received)  # noqa: E731
    delivered_done = await settle(lambda: got() >= expected, args.drain)
    lost = missing()
    unacked = sum(len(s.pending) for s in senders)
    await close_all(clients)
    result = _result(args, stats, timing, lost=lost, dup=dup, unacked=unacked, drained=acks_done and delivered_done)
    result["members"] = len(members)
    return result


async def scenario_status(args: argparse.Namespace, fixture: dict[str, Any], meter: ServerMeter) -> dict[str, Any]:
    users = fixture["users"]
    count = min(args.clients, len(users))
    targets = parse_urls(args.url)
    clients = await connect_all(targets, [users[i]["token"] for i in range(count)], concurrency=args.concurrency)
    stats = Stats()
    driver = Driver(args)
    driver.on_shed = lambda: setattr(stats, "shed", stats.shed + 1)  # type: ignore[method-assign]
    friends = fixture["friends"]
    everyone = [u["id"] for u in users]

    class Asker:
        __slots__ = ("client", "payload", "pending")

        def __init__(self, i: int, client: SioClient) -> None:
            self.client = client
            uid = users[i]["id"]
            others = [everyone[(i + 7 * j) % len(everyone)] for j in range(1, 5)]
            self.payload = json.dumps(["user:check-status", {"userIds": [*friends[uid], *others]}])
            self.pending: dict[int, int] = {}

    askers = [Asker(i, c) for i, c in enumerate(clients)]

    def send(asker: Asker, scheduled: int) -> None:
        ack_id = asker.client.next_ack_id()
        asker.client.emit_raw(f"42{ack_id}{asker.payload}")
        asker.pending[ack_id] = scheduled
        stats.sent += 1

    def make_ack(asker: Asker) -> Callable[[int, str], None]:
        def on_ack(ack_id: int, text: str) -> None:
            sent_at = asker.pending.pop(ack_id, None)
            if sent_at is None:
                return
            now = time.monotonic_ns()
            if _is_error_ack(text):
                stats.error(text)
            else:
                stats.acked += 1
                window = driver.window
                if window is not None and window.inside(now):
                    stats.delivered_in_window += 1
                    stats.latencies.append(now - sent_at)
            if driver.running and not args.rate:
                send(asker, time.monotonic_ns())

        return on_ack

    for asker in askers:
        asker.client.on_ack = make_ack(asker)
    timing = await driver.run(askers, send, lambda a: len(a.pending), meter)
    drained = await settle(lambda: all(not a.pending for a in askers), args.drain)
    unacked = sum(len(a.pending) for a in askers)
    await close_all(clients)
    return _result(args, stats, timing, lost=0, dup=0, unacked=unacked, drained=drained)


async def scenario_idle(args: argparse.Namespace, fixture: dict[str, Any], meter: ServerMeter) -> dict[str, Any]:
    users = fixture["users"]
    count = min(args.connections, len(users))
    targets = parse_urls(args.url)
    await asyncio.sleep(0.5)
    rss0 = meter.rss()
    t0 = time.monotonic()
    clients = await connect_all(targets, [users[i]["token"] for i in range(count)], concurrency=args.concurrency)
    connect_seconds = time.monotonic() - t0
    await asyncio.sleep(min(2.0, args.warmup + 0.5))  # let presence work of the last connects finish
    rss1 = meter.rss()
    cpu0, own0 = meter.cpu(), time.process_time()
    await asyncio.sleep(args.duration)
    cpu1, own1 = meter.cpu(), time.process_time()
    alive = sum(1 for c in clients if not c.closed.done())
    await close_all(clients)
    return {
        "scenario": "idle",
        "connections": count,
        "alive_at_end": alive,
        "connect_seconds": round(connect_seconds, 3),
        "connects_per_s": round(count / connect_seconds, 1),
        "server_rss_before_mb": round(rss0 / 2**20, 1),
        "server_rss_after_mb": round(rss1 / 2**20, 1),
        "rss_per_connection_kb": round((rss1 - rss0) / count / 1024, 2),
        "idle_server_cpu_pct": round(100 * (cpu1 - cpu0) / args.duration, 2),
        "loadgen_cpu_pct": round(100 * (own1 - own0) / args.duration, 1),
        "lost": 0,
        "dup": 0,
    }


def _result(
    args: argparse.Namespace,
    stats: Stats,
    timing: dict[str, Any],
    *,
    lost: int,
    dup: int,
    unacked: int,
    drained: bool,
) -> dict[str, Any]:
    seconds = timing["seconds"]
    return {
        "scenario": args.scenario,
        "mode": f"open@{args.rate:g}/s" if args.rate else f"closed(w={args.window})",
        "sent": stats.sent,
        "acked": stats.acked,
        "errors": stats.errors,
        "error_samples": stats.error_samples,
        "shed": stats.shed,
        "unacked": unacked,
        "lost": lost,
        "dup": dup,
        "drained": drained,
        "rate": round(stats.delivered_in_window / seconds, 1),
        "latency_ms": percentiles(stats.latencies),
        **timing,
    }


SCENARIOS: dict[
    str, Callable[[argparse.Namespace, dict[str, Any], ServerMeter], Coroutine[Any, Any, dict[str, Any]]]
] = {
    "idle": scenario_idle,
    "pairs": scenario_pairs,
    "group": scenario_group,
    "status": scenario_status,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), required=True)
    parser.add_argument("--url", action="append", required=True, help="ws://host:port of a worker (repeatable)")
    parser.add_argument("--fixture", default="bench/var/fixture.json")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    parser.add_argument("--drain", type=float, default=15.0, help="max seconds to wait for acks/deliveries at the end")
    parser.add_argument("--rate", type=float, default=0.0, help="open loop: messages (requests) per second in total")
    parser.add_argument("--max-outstanding", type=int, default=1000, help="open loop: un-acked cap per client")
    parser.add_argument("--window", type=int, default=10, help="closed loop: un-acked messages per sender")
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--senders", type=int, default=5, help="group: members that send")
    parser.add_argument("--clients", type=int, default=50, help="status: clients asking")
    parser.add_argument("--connections", type=int, default=1000, help="idle: connections to hold")
    parser.add_argument("--concurrency", type=int, default=100, help="connections opened at a time")
    parser.add_argument("--server-pid", type=int, action="append", default=[], help="server process to meter")
    parser.add_argument("--no-uvloop", action="store_true", help="use the default asyncio loop")
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = build_parser().parse_args(argv)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    fixture = json.loads(Path(args.fixture).read_text())
    meter = ServerMeter(args.server_pid)
    runner = SCENARIOS[args.scenario](args, fixture, meter)
    if not args.no_uvloop:
        with contextlib.suppress(ImportError):
            import uvloop

            result: dict[str, Any] = uvloop.run(runner)
            print(json.dumps(result))
            return result
    result = asyncio.run(runner)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
