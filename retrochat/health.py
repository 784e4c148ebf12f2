"""Health endpoints (no session needed).

- ``GET /``        small JSON naming the service (deployment docs use ``curl <backend>/``).
- ``GET /healthz`` liveness: the process answers HTTP.
- ``GET /readyz``  readiness: the database answers, every migration is applied and a message
  makes a round trip through the channel layer (Redis when configured). 503 with a ``reason``
  naming the first failing check otherwise; details go to the log, not to the response. A worker
  that is shutting down answers 503 ``{"reason": "shutting down"}``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from retrochat.realtime.drain import draining

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 5.0


def _json(body: dict[str, Any], status: int = 200) -> HttpResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    return _json({"service": "retrochat-backend", "status": "ok", "docs": "/api/docs"})


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return _json({"status": "ok"})


def check_database() -> str | None:
    """None when the database answers and has no unapplied migration, else the reason."""
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except Exception:
            logger.exception("readiness: database unreachable")
            return "database unreachable"
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
            return f"unapplied migrations ({len(plan)}): {names}"
        return None
    finally:
        connection.close()  # this runs in a worker thread of its own: do not leak its connection


async def check_channel_layer() -> str | None:
    """None when a message sent to a fresh channel comes back, else the reason."""
    layer = get_channel_layer()
    if layer is None:
        return "channel layer not configured"
    try:
        channel = await layer.new_channel("health.")
        nonce = secrets.token_hex(8)
        await layer.send(channel, {"type": "health.ping", "nonce": nonce})
        message = await layer.receive(channel)
    except Exception:
        logger.exception("readiness: channel layer round trip failed")
        return "channel layer round trip failed"
    if message.get("nonce") != nonce:
        return "channel layer returned a foreign message"
    return None


async def _bounded(name: str, check: Any) -> str | None:
    try:
        result: str | None = await asyncio.wait_for(check, timeout=CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        logger.error("readiness: %s check timed out", name)
        return f"{name} check timed out"
    return result


@require_safe
async def readyz(request: HttpRequest) -> HttpResponse:
    if draining():
        return _json({"status": "unavailable", "reason": "shutting down", "checks": {}}, status=503)
    database = await _bounded("database", sync_to_async(check_database, thread_sensitive=False)())
    layer = await _bounded("channel layer", check_channel_layer())
    checks = {"database": database or "ok", "channelLayer": layer or "ok"}
    reason = database or layer
    if reason:
        return _json({"status": "unavailable", "reason": reason, "checks": checks}, status=503)
    return _json({"status": "ready", "checks": checks})
