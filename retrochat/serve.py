"""``python -m retrochat.serve [daphne options] retrochat.asgi:application``: one RetroChat worker.

This is daphne (same options: ``--bind``, ``--port``, ``--proxy-headers``, ``-u``, ``--fd``, …),
running on uvloop (`retrochat.eventloop`), with what operating several workers needs.
`scripts/run`, the Dockerfile and the end-to-end test harness all start workers this way.

**Graceful shutdown.** Daphne's own signal handling cancels every connection at once. Here
SIGTERM (or SIGINT) instead

1. stops taking new work: ``/readyz`` answers 503 (the proxy takes the worker out), new
   Engine.IO sessions are refused with 503 (clients and the proxy go to another worker), events
   that arrive on existing connections are answered ``unavailable`` at once;
2. drains the realtime engine (`retrochat.realtime.drain`): events that are being handled finish
   and are acked once, then every client is told to reconnect (Engine.IO close, no Socket.IO
   disconnect, so socket.io-client reconnects — through the proxy, to another worker) and the
   sockets' disconnect hooks run. The port stays open until then, so that polling clients can
   fetch their last acks and the close; then it stops listening;
3. corrects presence: sockets whose hooks did not get to run are removed from the presence store
   here (their friends see them offline, or online again as soon as they reconnect elsewhere),
   the presence heartbeat and the hub's channel-layer memberships stop, queued AI style-profile
   updates get a moment to finish;
4. waits for in-flight HTTP requests, then stops the reactor and exits with status 0.

All of it is bounded by ``SHUTDOWN_TIMEOUT_SECONDS`` (default 10); whatever is left then is
cancelled. A second signal stops at once; a worker still alive 5 s after the deadline exits hard.

**Metrics.** ``PROMETHEUS_MULTIPROC_DIR`` is set to ``settings.METRICS_DIR`` before anything
imports prometheus_client, so every worker sharing the directory is counted by ``/metrics``;
gauge files of dead processes are removed at start-up, this process's at exit.

**Logs.** Daphne's access lines go through logging (``retrochat.access``, DEBUG) instead of
stdout, so that with ``LOG_FORMAT=json`` every line is JSON; Python warnings are logged too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from retrochat import eventloop

LOOP_KIND = eventloop.install()  # before daphne creates its loop (on import of daphne.server)

import autobahn.util  # noqa: E402
from daphne.cli import CommandLineInterface  # noqa: E402
from daphne.server import Server  # noqa: E402
from twisted.internet import reactor as _reactor  # noqa: E402

# For every frame it writes, autobahn formats a debug line (even with debug logging off), in colour
# with click.style whenever click happens to be installed (uvicorn, a development dependency, pulls
# it in): that cost a fifth of a worker's time fanning out group messages. Plain text is enough.
autobahn.util._HAS_CLICK = False

logger = logging.getLogger("retrochat.serve")
access_logger = logging.getLogger("retrochat.access")

reactor: Any = _reactor  # the asyncio reactor daphne installed

HARD_EXIT_GRACE_SECONDS = 5.0
PRESENCE_CLEANUP_SECONDS = 3.0


def access_log(protocol: str, action: str, details: dict[str, Any]) -> None:
    """Daphne's action logger: one DEBUG line per HTTP request / WebSocket step (no query strings)."""
    if not access_logger.isEnabledFor(logging.DEBUG):
        return
    path = str(details.get("path") or "").split("?", 1)[0]
    if protocol == "http" and action == "complete":
        access_logger.debug(
            "%s %s %s",
            details.get("method"),
            path,
            details.get("status"),
            extra={"fields": {"method": details.get("method"), "path": path, "status": details.get("status")}},
        )
    elif protocol == "websocket":
        access_logger.debug("websocket %s %s", action, path, extra={"fields": {"ws": action, "path": path}})


def prepare_metrics_dir(directory: str) -> None:
    """Create the shared metrics directory; drop live-gauge files of dead processes and of this pid.

    Runs before prometheus_client is imported. A worker that exits cleanly removes its own gauge
    files; one that was killed leaves them behind (and a new process may get its pid). Counter and
    histogram files stay: totals keep counting across restarts.
    """
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    me = os.getpid()
    for file in path.glob("gauge_live*_*.db"):
        try:
            pid = int(file.stem.rsplit("_", 1)[1])
        except ValueError:
            continue
        if pid == me or not _alive(pid):
            with contextlib.suppress(OSError):
                file.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class GracefulServer(Server):  # type: ignore[misc]
    """Daphne's server with the graceful shutdown described in the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["signal_handlers"] = False  # ours, installed when the reactor runs
        kwargs["action_logger"] = access_log
        super().__init__(*args, **kwargs)
        self.ports: list[Any] = []
        self.stopping = False
        self.watchdog: threading.Timer | None = None

    def listen_success(self, port: Any) -> None:
        self.ports.append(port)
        super().listen_success(port)

    def run(self) -> None:
        reactor.callWhenRunning(self._install_signal_handlers)
        # After a signal the watchdog keeps running until the process is gone: it also bounds the
        # interpreter's exit (which joins worker threads).
        super().run()

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_event_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_signal, signum)

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self.stopping:
            logger.warning("%s received again: stopping now", name)
            self._stop_reactor()
            return
        self.stopping = True
        asyncio.get_event_loop().create_task(self.shutdown(name), name="graceful-shutdown")

    def _stop_reactor(self) -> None:
        if reactor.running:
            reactor.stop()

    async def shutdown(self, reason: str = "shutdown") -> None:
        from django.conf import settings

        from retrochat.realtime.drain import drain

        timeout = float(settings.SHUTDOWN_TIMEOUT_SECONDS)
        self.watchdog = threading.Timer(timeout + HARD_EXIT_GRACE_SECONDS, _hard_exit)
        self.watchdog.daemon = True
        self.watchdog.start()
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + timeout
        logger.info("%s received: draining (at most %.1f s)", reason, timeout)
        try:
            report = await drain(timeout=timeout)
            # Only now: until here polling clients (a new TCP connection per request, for some)
            # must still reach this worker to fetch their last acks and the close.
            for port in self.ports:
                with contextlib.suppress(Exception):
                    port.stopListening()
            await _correct_presence(report.leftover)
            await _stop_background(deadline)
            await self._wait_http(deadline)
        except Exception:
            logger.exception("graceful shutdown failed; stopping now")
        finally:
            logger.info("stopped after %.2f s", loop.time() - started)
            self._stop_reactor()

    async def _wait_http(self, deadline: float) -> None:
        """In-flight HTTP requests (and closing WebSockets) finish, until the deadline."""
        loop = asyncio.get_running_loop()
        current = asyncio.current_task()
        while True:
            pending = [
                instance
                for details in list(self.connections.values())
                if (instance := details.get("application_instance")) is not None
                and not instance.done()
                and instance is not current
            ]
            if not pending or loop.time() >= deadline:
                if pending:
                    logger.warning("%d request(s) still running at the deadline: cancelled", len(pending))
                return
            await asyncio.wait(pending, timeout=min(0.1, max(0.0, deadline - loop.time())))


async def _correct_presence(sockets: list[Any]) -> None:
    """Sockets whose disconnect hooks could not run before the deadline leave presence here."""
    if not sockets:
        return
    from chat.services.presence import presence_disconnect

    async def leave(socket: Any) -> None:
        with contextlib.suppress(Exception):
            await presence_disconnect(socket)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(
            asyncio.gather(*(leave(s) for s in sockets if s.user_id)), timeout=PRESENCE_CLEANUP_SECONDS
        )


async def _stop_background(deadline: float) -> None:
    """The presence heartbeat, the hub's channel-layer memberships, queued AI style updates."""
    from aifriend import background
    from chat.services.presence import stop_heartbeat
    from retrochat.realtime.hub import get_hub

    stop_heartbeat()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(get_hub().stop(), timeout=PRESENCE_CLEANUP_SECONDS)
    remaining = deadline - asyncio.get_running_loop().time()
    if remaining > 0:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(background.drain, min(remaining, PRESENCE_CLEANUP_SECONDS))


def _hard_exit() -> None:
    logger.error("graceful shutdown did not finish in time: exiting now")
    logging.shutdown()
    os._exit(1)


class CommandLine(CommandLineInterface):  # type: ignore[misc]
    description = "RetroChat worker: daphne with graceful shutdown, multiprocess metrics and structured logs"
    server_class = GracefulServer


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retrochat.settings")
    from django.conf import settings

    # Before anything imports prometheus_client (the application import below does).
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = settings.METRICS_DIR
    prepare_metrics_dir(settings.METRICS_DIR)
    logging.captureWarnings(True)
    started = time.monotonic()
    try:
        CommandLine().run(sys.argv[1:] if argv is None else argv)
    finally:
        from retrochat.observability import metrics

        metrics.process_exited()
        logger.debug("worker ran for %.1f s", time.monotonic() - started)


if __name__ == "__main__":
    main()
