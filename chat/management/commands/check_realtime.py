"""`manage.py check_realtime`: is this deployment able to deliver realtime events? Exit 1 if not."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import subprocess
import sys
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from retrochat.health import check_channel_layer, check_database

CROSS_PROCESS_TIMEOUT_SECONDS = 15.0


class Command(BaseCommand):
    help = (
        "Check the database (reachable, migrations applied), Redis (when REDIS_URL is set) and a channel-layer "
        "round trip; with --cross-process the round trip goes through a second process, as between workers. "
        "Exits non-zero on the first failure."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--cross-process", action="store_true", help="send the probe from a separate Python process"
        )
        parser.add_argument("--send-to", help=argparse.SUPPRESS, default=None)
        parser.add_argument("--nonce", help=argparse.SUPPRESS, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["send_to"]:  # the child side of --cross-process
            asyncio.run(_send(options["send_to"], options["nonce"] or ""))
            return
        failures = 0
        failures += self._report("database", check_database())
        if settings.REDIS_URL:
            failures += self._report("redis", _check_redis(settings.REDIS_URL))
        else:
            self.stdout.write("redis: not configured (in-memory channel layer: single process only)")
        failures += self._report("channel layer", asyncio.run(check_channel_layer()))
        if options["cross_process"]:
            if not settings.REDIS_URL:
                raise CommandError("--cross-process needs REDIS_URL: the in-memory layer cannot cross processes")
            failures += self._report("channel layer across processes", asyncio.run(_cross_process_round_trip()))
        if failures:
            raise CommandError(f"{failures} check(s) failed")
        self.stdout.write(self.style.SUCCESS("realtime: ready"))

    def _report(self, name: str, problem: str | None) -> int:
        if problem:
            self.stderr.write(self.style.ERROR(f"{name}: FAILED — {problem}"))
            return 1
        self.stdout.write(f"{name}: ok")
        return 0


def _check_redis(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except redis.RedisError as exc:
        return f"unreachable ({exc.__class__.__name__})"
    return None


async def _send(channel: str, nonce: str) -> None:
    layer = get_channel_layer()
    assert layer is not None
    await layer.send(channel, {"type": "check.probe", "nonce": nonce})


async def _cross_process_round_trip() -> str | None:
    layer = get_channel_layer()
    assert layer is not None
    channel = await layer.new_channel("check.")
    nonce = secrets.token_hex(8)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        sys.argv[0],
        "check_realtime",
        "--send-to",
        channel,
        "--nonce",
        nonce,
        stdout=subprocess.DEVNULL,
    )
    try:
        message = await asyncio.wait_for(layer.receive(channel), timeout=CROSS_PROCESS_TIMEOUT_SECONDS)
    except TimeoutError:
        return "no message from the second process"
    finally:
        await child.wait()
    return None if message.get("nonce") == nonce else "foreign message received"
