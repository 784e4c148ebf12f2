"""``manage.py runserver_conformance [--host H] [--port P]``: the engine in conformance mode.

Serves what the official Engine.IO / Socket.IO protocol test suites expect (see
`retrochat.realtime.conformance` and docs/PROTOCOL.md): ``/engine.io/`` echo, ``/socket.io/``
with ``/`` and ``/custom``, heartbeat 300/200 ms, no authentication. For testing the engine only;
never in production.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the realtime engine in conformance mode (Engine.IO/Socket.IO protocol test suites)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=3000, help="port (default 3000, the suites' default)")

    def handle(self, *args: Any, **options: Any) -> None:
        from daphne.cli import CommandLineInterface

        os.environ["REALTIME_CONFORMANCE"] = "1"
        settings.REALTIME_CONFORMANCE = True
        from retrochat.realtime import limits

        limits.current.cache_clear()
        host, port = options["host"], str(options["port"])
        self.stdout.write(f"Realtime engine in conformance mode on http://{host}:{port} (/engine.io/, /socket.io/)")
        self.stdout.flush()
        CommandLineInterface().run(["--bind", host, "--port", port, "retrochat.asgi:application"])
