"""Real server processes for end-to-end tests.

`ServerProcess` runs RetroChat's ASGI application as a subprocess on a free loopback port, started
like production workers are (``python -m retrochat.serve``: daphne with graceful shutdown), with
the environment of the test run plus overrides, and waits until it answers HTTP. Each server gets
its own metrics directory (``PROMETHEUS_MULTIPROC_DIR``) unless the overrides name one, and a
shutdown budget of `SHUTDOWN_TIMEOUT` seconds. Its combined stdout/stderr goes to a log file;
`log_tail` returns the end of it (the fixtures in ``conftest.py`` attach it to the report of a
failing test).

Typical use is through the fixtures (``server``, ``two_servers``, ``server_factory``,
``conformance_server``); direct use::

    with ServerProcess.start(env={"REALTIME_CONFORMANCE": "1"}) as srv:
        httpx.get(f"{srv.base_url}/socket.io/?EIO=4&transport=polling")

Everything binds 127.0.0.1 only; start-up and shutdown are bounded in time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_APP = "tests.e2e.asgi:application"
"""RetroChat's application plus the e2e probe handlers (`tests.e2e.probe_handlers`)."""
STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = "4"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(settings_dict: Mapping[str, Any]) -> str:
    """A DATABASE_URL for the database described by a Django ``DATABASES`` entry."""
    engine = settings_dict["ENGINE"]
    name = str(settings_dict["NAME"])
    if "sqlite" in engine:
        return f"sqlite:///{Path(name).resolve()}"
    if "postgresql" not in engine:
        raise RuntimeError(f"unsupported database engine for e2e servers: {engine}")
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{quote(name, safe='')}"


@dataclass
class ServerProcess:
    """One daphne process serving RetroChat on ``127.0.0.1:<port>``."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    name: str = "server"
    env: dict[str, str] = field(default_factory=dict)
    metrics_dir: str | None = None
    """The temporary metrics directory the harness made for this server (removed by `cleanup`)."""
    _log_file: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls,
        *,
        env: Mapping[str, str] | None = None,
        app: str = DEFAULT_APP,
        name: str = "server",
        port: int | None = None,
        argv: list[str] | None = None,
    ) -> ServerProcess:
        """Start daphne and wait until it answers (raises with the log if it does not).

        ``argv`` replaces the daphne command line (``{port}`` and ``{python}`` are filled in), e.g.
        ``["{python}", "manage.py", "runserver_conformance", "--port", "{port}"]``.
        """
        port = port or free_port()
        full_env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "retrochat.settings",
            "SHUTDOWN_TIMEOUT_SECONDS": SHUTDOWN_TIMEOUT,
        }
        metrics_dir: str | None = None
        if not (env or {}).get("PROMETHEUS_MULTIPROC_DIR"):
            metrics_dir = tempfile.mkdtemp(prefix=f"retrochat-{name}-metrics-")
            full_env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        full_env.update(env or {})
        fd, log_name = tempfile.mkstemp(prefix=f"retrochat-{name}-", suffix=".log")
        log_file = os.fdopen(fd, "wb")
        command = [sys.executable, "-m", "retrochat.serve", "--bind", "127.0.0.1", "--port", str(port), app]
        if argv is not None:
            command = [part.format(port=port, python=sys.executable) for part in argv]
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=full_env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
        server = cls(port=port, process=process, log_path=Path(log_name), name=name, env=dict(env or {}))
        server._log_file = log_file
        server.metrics_dir = metrics_dir
        try:
            server.wait_ready()
        except BaseException:
            server.stop()
            raise
        return server

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{self.base_url}/socket.io/", timeout=1.0)
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer within {timeout}s:\n{self.log_tail()}")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; the log file is kept until `cleanup`."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def kill(self) -> None:
        """SIGKILL at once (a crashing worker)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def cleanup(self) -> None:
        with contextlib.suppress(OSError):
            self.log_path.unlink()
        if self.metrics_dir:
            shutil.rmtree(self.metrics_dir, ignore_errors=True)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.cleanup()


@contextlib.contextmanager
def running(**kwargs: Any) -> Iterator[ServerProcess]:
    """``with running(env=...) as srv:`` — start a server, stop it afterwards."""
    srv = ServerProcess.start(**kwargs)
    try:
        yield srv
    finally:
        srv.stop()
        srv.cleanup()
