"""GET /, /healthz and /readyz (no session; readiness = database, migrations, channel-layer round trip)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError, connections
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client

from retrochat import health
from tests.conftest import services_required

pytestmark = pytest.mark.django_db


def test_index_is_a_small_json_without_session() -> None:
    response = Client().get("/")
    assert response.status_code == 200
    assert response.json() == {"service": "retrochat-backend", "status": "ok", "docs": "/api/docs"}


def test_healthz() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert Client().head("/healthz").status_code == 200
    assert Client().post("/healthz").status_code == 405


def test_readyz_when_everything_works() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "channelLayer": "ok"}}


def test_readyz_database_down(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr(type(connections["default"]), "cursor", refuse)  # in every thread
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "reason": "database unreachable",
        "checks": {"database": "database unreachable", "channelLayer": "ok"},
    }


def test_readyz_unapplied_migration(monkeypatch: pytest.MonkeyPatch) -> None:
    real = MigrationRecorder.applied_migrations

    def missing_latest_chat_migration(self: MigrationRecorder) -> Any:
        applied = dict(real(self))
        latest = max(key for key in applied if key[0] == "chat")
        del applied[latest]
        return applied

    monkeypatch.setattr(MigrationRecorder, "applied_migrations", missing_latest_chat_migration)
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["reason"].startswith("unapplied migrations (")
    assert "chat." in body["reason"]
    assert body["checks"]["channelLayer"] == "ok"


class BrokenLayer:
    async def new_channel(self, prefix: str = "specific.") -> str:
        return f"{prefix}x!y"

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        raise ConnectionError("redis is gone")

    async def receive(self, channel: str) -> dict[str, Any]:  # pragma: no cover - never reached
        raise AssertionError


class SilentLayer(BrokenLayer):
    async def send(self, channel: str, message: dict[str, Any]) -> None:
        return None

    async def receive(self, channel: str) -> dict[str, Any]:
        await asyncio.sleep(60)
        raise AssertionError


def test_readyz_channel_layer_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "get_channel_layer", BrokenLayer)
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"] == "channel layer round trip failed"
    assert response.json()["checks"]["database"] == "ok"


def test_readyz_channel_layer_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "get_channel_layer", SilentLayer)
    monkeypatch.setattr(health, "CHECK_TIMEOUT_SECONDS", 0.2)
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"] == "channel layer check timed out"


def test_readyz_unreachable_redis_is_503(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}}
    }
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"] in ("channel layer round trip failed", "channel layer check timed out")


@pytest.mark.redis
@pytest.mark.skipif(
    not settings.REDIS_URL and not services_required(),
    reason="needs Redis (set REDIS_URL)",
)
def test_readyz_round_trips_through_real_redis() -> None:
    from channels.layers import get_channel_layer

    assert type(get_channel_layer()).__name__ == "RedisChannelLayer"
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["channelLayer"] == "ok"
