"""One command for the whole benchmark: RetroChat against python-socketio and Node socket.io.

    .venv/bin/python -m bench.run            # full run (≈ 20 min on 2 cores)
    .venv/bin/python -m bench.run --quick    # short durations (≈ 8 min), what docs/BENCHMARKS.md records

For every repetition (alternating the order of the servers), each target server is started fresh
on loopback, the scenarios of `bench.loadgen` run against it one after the other (``idle``,
``pairs``, ``group``, ``status`` closed-loop, then ``pairs``, ``group``, ``status`` open-loop at 50 % of
the capacity that same server just showed), and it is stopped. Then the two-process variants
(two RetroChat daphne workers + Redis, python-socketio + Redis manager, socket.io + Redis
adapter) run ``pairs``, ``group`` and ``status``. Medians over the repetitions go into a table
(RetroChat / python-socketio and RetroChat / Node per scenario), written to
``bench/results/latest.json`` and ``bench/results/latest.md`` and, with ``--write-docs``, between
the result markers of ``docs/BENCHMARKS.md``.

RetroChat runs with its real stack: PostgreSQL (``BENCH_DATABASE_URL``, default
``postgres://postgres@127.0.0.1:5432/retrochat_bench``), authentication on (every client logs in
with a session token of a bench user), Redis (``BENCH_REDIS_URL``) in the multi-worker runs, DEBUG
off, and the per-connection event rate limit off (``REALTIME_EVENTS_PER_SECOND=0``) — a load
generator sends far more than the 20 events/s a person can — with the auth rate limits off
(``AUTH_RATE_LIMIT=0``) for the setup.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "BENCHMARKS.md"
START_MARK = "<!-- bench:results:start -->"
END_MARK = "<!-- bench:results:end -->"
FIXTURE = ROOT / "bench" / "var" / "fixture.json"

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/retrochat_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

RETROCHAT_ENV = {
    "DATABASE_URL": DATABASE_URL,
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key-0123456789-0123456789-abcdef",
    "FRONTEND_URL": "http://localhost:3000",
    "SECURE_SSL_REDIRECT": "0",
    "REALTIME_EVENTS_PER_SECOND": "0",
    "AUTH_RATE_LIMIT": "0",
    "LOG_LEVEL": "WARNING",
    "DB_CONN_MAX_AGE": "600",
    "CHANNEL_LAYER_PREFIX": "rc_benchrun",
    "REDIS_URL": "",
}


@dataclass(frozen=True)
class TargetSpec:
    name: str
    label: str
    kind: str  # retrochat | peer

    def command(self, port: int) -> list[str]:
        if self.name == "retrochat-daphne":
            # The production entry point: daphne on uvloop, graceful shutdown (retrochat.serve).
            return [
                str(VENV_BIN / "python"),
                "-m",
                "retrochat.serve",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "-v",
                "0",
                "retrochat.asgi:application",
            ]
        if self.name == "retrochat-uvicorn":
            app = "retrochat.asgi:application"
        elif self.name == "python-socketio":
            app = "bench.peers.pysio_server:app"
        else:
            return ["node", "bench/peers/node_server.mjs", "--port", str(port)]
        return [
            str(VENV_BIN / "uvicorn"),
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--lifespan",
            "off",
        ]

    def env(self, *, redis: bool) -> dict[str, str]:
        if self.kind == "retrochat":
            return {**RETROCHAT_ENV, "REDIS_URL": REDIS_URL if redis else ""}
        return {"BENCH_FIXTURE": str(FIXTURE), "BENCH_REDIS_URL": REDIS_URL if redis else ""}


TARGETS = {
    "retrochat-daphne": TargetSpec("retrochat-daphne", "RetroChat (daphne)", "retrochat"),
    "retrochat-uvicorn": TargetSpec("retrochat-uvicorn", "RetroChat (uvicorn)", "retrochat"),
    "python-socketio": TargetSpec("python-socketio", "python-socketio (uvicorn)", "peer"),
    "node": TargetSpec("node", "Node socket.io", "peer"),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    spec: TargetSpec
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    @property
    def urls(self) -> list[str]:
        return [f"ws://127.0.0.1:{port}" for port in self.ports]


def _raise_nofile() -> None:
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextlib.contextmanager
def running(spec: TargetSpec, *, workers: int, log_dir: Path) -> Iterator[Server]:
    server = Server(spec)
    env_extra = spec.env(redis=workers > 1)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **env_extra}
    try:
        for i in range(workers):
            port = free_port()
            command = spec.command(port)
            log = open(log_dir / f"{spec.name}-{workers}w-{i}.log", "ab")  # noqa: SIM115
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_raise_nofile
            )
            log.close()
            server.processes.append(process)
            server.ports.append(port)
            shown_env = " ".join(f"{k}={v}" for k, v in env_extra.items() if v)
            server.commands.append(f"{shown_env} {' '.join(command)}".strip())
        for process, port in zip(server.processes, server.ports, strict=True):
            _wait_ready(process, port)
        yield server
    finally:
        for process in server.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in server.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _wait_ready(process: subprocess.Popen[bytes], port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
            if response.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not answer within {timeout}s")


def loadgen(server: Server, scenario: str, options: dict[str, Any], log: list[str]) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.loadgen", "--scenario", scenario, "--fixture", str(FIXTURE)]
    for url in server.urls:
        command += ["--url", url]
    for key, value in options.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    log.append("python " + " ".join(command[1:]).replace(str(ROOT) + "/", ""))
    for pid in server.pids:
        command += ["--server-pid", str(pid)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        return {"scenario": scenario, "failed": True, "stderr": done.stderr[-2000:]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"    {server.spec.name} {scenario} {result.get('mode', '')}: {summary(result)}", flush=True)
    return result


def summary(result: dict[str, Any]) -> str:
    if result.get("scenario") == "idle":
        return (
            f"{result['connections']} conns, {result['connects_per_s']}/s, "
            f"{result['rss_per_connection_kb']} KB/conn, alive {result['alive_at_end']}"
        )
    lat = result.get("latency_ms", {})
    return (
        f"rate {result.get('rate')} p50 {lat.get('p50')} p99 {lat.get('p99')} ms lost {result.get('lost')} "
        f"dup {result.get('dup')} err {result.get('errors')} srv {result.get('server_cpu_pct')}% "
        f"gen {result.get('loadgen_cpu_pct')}%"
    )


def run_single(spec: TargetSpec, args: argparse.Namespace, log_dir: Path, commands: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    common = {"duration": args.duration, "warmup": args.warmup}
    sizes = {
        "pairs": {"pairs": args.pairs, "window": args.window},
        "group": {"senders": args.senders, "window": args.window},
        "status": {"clients": args.clients, "window": args.window},
    }
    with running(spec, workers=1, log_dir=log_dir) as server:
        commands.setdefault(spec.name, server.commands)
        log: list[str] = commands.setdefault("loadgen", [])
        if "idle" in args.scenarios:
            idle = {"connections": args.connections, "duration": args.idle_duration, "concurrency": args.concurrency}
            out["idle"] = loadgen(server, "idle", idle, log)
        for scenario in ("pairs", "group", "status"):
            if scenario in args.scenarios:
                out[scenario] = loadgen(server, scenario, {**common, **sizes[scenario]}, log)
        for scenario in ("pairs", "group", "status"):
            closed = out.get(scenario)
            if scenario not in args.scenarios or not closed or closed.get("failed") or not closed.get("rate"):
                continue
            per_message = (closed.get("members", 2) - 1) if scenario == "group" else 1
            rate = max(1.0, round(0.5 * closed["rate"] / per_message, 1))
            out[f"{scenario}@50%"] = loadgen(server, scenario, {**common, **sizes[scenario], "rate": rate}, log)
    return out


def run_multi(spec: TargetSpec, args: argparse.Namespace, log_dir: Path, commands: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    common = {"duration": args.duration, "warmup": args.warmup}
    sizes = {
        "pairs": {"pairs": args.pairs, "window": args.window},
        "group": {"senders": args.senders, "window": args.window},
        "status": {"clients": args.clients, "window": args.window},
    }
    with running(spec, workers=2, log_dir=log_dir) as server:
        commands.setdefault(f"{spec.name} x2", server.commands)
        log: list[str] = commands.setdefault("loadgen", [])
        for scenario in ("pairs", "group", "status"):
            if scenario in args.scenarios:
                out[scenario] = loadgen(server, scenario, {**common, **sizes[scenario]}, log)
    return out


def median(values: list[float]) -> float | None:
    clean = [v for v in values if v is not None]
    return round(statistics.median(clean), 2) if clean else None


def _metric(runs: list[dict[str, Any]], key: str, path: tuple[str, ...]) -> float | None:
    values = []
    for run in runs:
        node: Any = run.get(key)
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, int | float):
            values.append(float(node))
    return median(values)


METRICS: list[tuple[str, str, tuple[str, ...], bool]] = [
    # (row label, result key, path, higher is better)
    ("idle: connects/s", "idle", ("connects_per_s",), True),
    ("idle: RSS per connection (KB)", "idle", ("rss_per_connection_kb",), False),
    ("idle: server CPU while idle (%)", "idle", ("idle_server_cpu_pct",), False),
    ("pairs: delivered messages/s", "pairs", ("rate",), True),
    ("pairs: p50 latency (ms), closed loop", "pairs", ("latency_ms", "p50"), False),
    ("pairs: p99 latency (ms), closed loop", "pairs", ("latency_ms", "p99"), False),
    ("pairs: p99 latency (ms) at 50 % of capacity", "pairs@50%", ("latency_ms", "p99"), False),
    ("group (G=50): deliveries/s", "group", ("rate",), True),
    ("group: p99 latency (ms), closed loop", "group", ("latency_ms", "p99"), False),
    ("group: p99 latency (ms) at 50 % of capacity", "group@50%", ("latency_ms", "p99"), False),
    ("status: requests/s", "status", ("rate",), True),
    ("status: p99 latency (ms), closed loop", "status", ("latency_ms", "p99"), False),
    ("status: p99 latency (ms) at 50 % of capacity", "status@50%", ("latency_ms", "p99"), False),
    ("load generator CPU in pairs (%)", "pairs", ("loadgen_cpu_pct",), False),
    ("server CPU in pairs (%)", "pairs", ("server_cpu_pct",), False),
]


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:g}"


def render(data: dict[str, Any]) -> str:
    single: dict[str, list[dict[str, Any]]] = data["single"]
    multi: dict[str, list[dict[str, Any]]] = data["multi"]
    names = [n for n in TARGETS if n in single]
    lines = [
        f"Run {data['started']} — {data['machine']}; {data['reps']} repetitions, medians; {data['settings']}.",
        "",
        "| metric | "
        + " | ".join(TARGETS[n].label for n in names)
        + " | RetroChat / python-socketio | RetroChat / Node |",
        "|---" * (len(names) + 3) + "|",
    ]
    rc = "retrochat-daphne" if "retrochat-daphne" in single else "retrochat-uvicorn"
    for label, key, path, _higher in METRICS:
        values = {n: _metric(single[n], key, path) for n in names}
        cells = [_fmt(values[n]) for n in names]
        ratio_py = _ratio(values.get(rc), values.get("python-socketio"))
        ratio_node = _ratio(values.get(rc), values.get("node"))
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {ratio_py} | {ratio_node} |")
    lost = {n: sum(int(r.get(k, {}).get("lost", 0) or 0) for r in single[n] for k in r) for n in names}
    dup = {n: sum(int(r.get(k, {}).get("dup", 0) or 0) for r in single[n] for k in r) for n in names}
    errors = {n: sum(int(r.get(k, {}).get("errors", 0) or 0) for r in single[n] for k in r) for n in names}
    failed = {n: sum(1 for r in single[n] for k in r if r[k].get("failed")) for n in names}
    lines.append(
        "| lost / duplicated / error acks / failed runs (all runs) | "
        + " | ".join(f"{lost[n]} / {dup[n]} / {errors[n]} / {failed[n]}" for n in names)
        + " | | |"
    )
    lines.append("")
    lines.append(f"(Ratios use {TARGETS[rc].label}; for latency and RSS lower is better, so a ratio < 1 is a win.)")
    if multi:
        lines += [
            "",
            "Two processes behind Redis (RetroChat: two daphne workers; clients spread over both; pairs "
            "cross workers) — throughput and scaling against the same server's single process:",
            "",
            "| scenario | " + " | ".join(f"{TARGETS[n].label} x2" for n in multi) + " |",
            "|---" * (len(multi) + 1) + "|",
        ]
        for scenario in ("pairs", "group", "status"):
            cells = []
            for n in multi:
                two = _metric(multi[n], scenario, ("rate",))
                one = _metric(single.get(n, []), scenario, ("rate",))
                lost_n = sum(int(r.get(scenario, {}).get("lost", 0) or 0) for r in multi[n])
                dup_n = sum(int(r.get(scenario, {}).get("dup", 0) or 0) for r in multi[n])
                cells.append(f"{_fmt(two)}/s ({_ratio(two, one)} of 1 worker; lost {lost_n}, dup {dup_n})")
            lines.append(f"| {scenario} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GB RAM"
    return f"{cpu}, {os.cpu_count()} cores{mem}, {platform.system()} {platform.release()}"


def versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {"python": platform.python_version()}
    for package in ("django", "channels", "daphne", "uvicorn", "python-socketio", "python-engineio", "psycopg"):
        with contextlib.suppress(Exception):
            out[package] = version(package)
    with contextlib.suppress(Exception):
        out["node"] = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
        pkg = json.loads((ROOT / "bench" / "node_modules" / "socket.io" / "package.json").read_text())
        out["socket.io"] = pkg["version"]
    with contextlib.suppress(Exception):
        out["postgresql"] = subprocess.run(
            ["psql", "--version"], capture_output=True, text=True, check=True
        ).stdout.split()[2]
        out["redis"] = subprocess.run(
            ["redis-server", "--version"], capture_output=True, text=True, check=True
        ).stdout.split()[2]
    return out


def setup_fixture(args: argparse.Namespace) -> str:
    command = [
        sys.executable,
        "manage.py",
        "bench_setup",
        "--users",
        str(max(args.connections, 2 * args.pairs, args.clients, 100) + 1 & ~1),
        "--out",
        str(FIXTURE),
        "--reset-messages",
    ]
    env = {**os.environ, **RETROCHAT_ENV}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    return f"DATABASE_URL={DATABASE_URL} python {' '.join(command[1:])}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short runs: 2 s measured, 2,000 idle connections")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--idle-duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--senders", type=int, default=5)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--targets", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument("--scenarios", nargs="+", default=["idle", "pairs", "group", "status"])
    parser.add_argument("--multi-targets", nargs="*", default=["retrochat-daphne", "python-socketio", "node"])
    parser.add_argument("--write-docs", action="store_true", help="replace the results section of docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.idle_duration, args.connections = 2.0, 2.0, 2000
    RESULTS.mkdir(parents=True, exist_ok=True)
    log_dir = ROOT / "bench" / "var" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    commands: dict[str, Any] = {"setup": setup_fixture(args)}
    single: dict[str, list[dict[str, Any]]] = {n: [] for n in args.targets}
    multi: dict[str, list[dict[str, Any]]] = {n: [] for n in args.multi_targets}
    for rep in range(args.reps):
        order = args.targets[rep % len(args.targets) :] + args.targets[: rep % len(args.targets)]
        if rep % 2:
            order.reverse()
        print(f"== repetition {rep + 1}/{args.reps}: {', '.join(order)}", flush=True)
        for name in order:
            single[name].append(run_single(TARGETS[name], args, log_dir, commands))
        for name in args.multi_targets:
            multi[name].append(run_multi(TARGETS[name], args, log_dir, commands))
    settings = (
        f"{args.duration:g} s measured after {args.warmup:g} s warm-up; pairs P={args.pairs}, group G=50 "
        f"S={args.senders}, status C={args.clients}, window W={args.window}; idle N={args.connections}"
    )
    data = {
        "started": started,
        "machine": machine(),
        "versions": versions(),
        "reps": args.reps,
        "settings": settings,
        "argv": sys.argv[1:] if argv is None else argv,
        "commands": {k: v if k != "loadgen" else sorted(set(v)) for k, v in commands.items()},
        "single": single,
        "multi": multi,
    }
    table = render(data)
    (RESULTS / "latest.json").write_text(json.dumps(data, indent=1))
    versions_line = ", ".join(f"{k} {v}" for k, v in data["versions"].items())
    command_line = "python -m bench.run " + " ".join(data["argv"])
    block = f"{table}\nVersions: {versions_line}.\n\nProduced by `{command_line}`.\n"
    (RESULTS / "latest.md").write_text(block)
    print(block)
    if args.write_docs and DOCS.exists():
        text = DOCS.read_text()
        if START_MARK in text and END_MARK in text:
            head, rest = text.split(START_MARK, 1)
            _, tail = rest.split(END_MARK, 1)
            DOCS.write_text(f"{head}{START_MARK}\n{block}{END_MARK}{tail}")


if __name__ == "__main__":
    main()
