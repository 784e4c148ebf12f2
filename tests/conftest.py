"""Suite-wide test setup: which backends run, and a loud failure when CI's services are missing."""

from __future__ import annotations

import os

import pytest
from django.conf import settings


def pytest_report_header(config: pytest.Config) -> list[str]:
    db = settings.DATABASES["default"]
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    where = db.get("HOST") or db.get("NAME")
    return [f"retrochat backends: database={db['ENGINE'].rsplit('.', 1)[-1]} ({where}), channel layer={layer}"]


def services_required() -> bool:
    return os.environ.get("RETROCHAT_REQUIRE_SERVICES") == "1"


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI the suite must run on PostgreSQL and Redis; refuse to run on the embedded fallbacks."""
    if not services_required():
        return
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        raise pytest.UsageError(f"RETROCHAT_REQUIRE_SERVICES=1 but the database is {engine}; set DATABASE_URL")
    if not settings.REDIS_URL:
        raise pytest.UsageError("RETROCHAT_REQUIRE_SERVICES=1 but REDIS_URL is not set")
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        raise pytest.UsageError(f"Redis at {settings.REDIS_URL} is unreachable: {exc}") from exc
