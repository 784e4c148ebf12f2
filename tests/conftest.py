"""Suite-wide test setup: which backends run, a loud failure when CI's services are missing, and the
shared account fixtures (`new_account`, `account`, `account_client`, `client_with_session`) and
``layer``, the recording channel layer."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test import Client, override_settings

from chat.services.auth import SignedIn, user_sign_up
from chat.sessions import cookie_name, sign_token
from tests import recording_layer


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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ratelimit: runs with the auth rate limits switched on")
    test_db = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if test_db:  # the SQLite test database file lives in var/, which a fresh checkout does not have
        Path(test_db).parent.mkdir(parents=True, exist_ok=True)


# --- CI: tests that need PostgreSQL/Redis must not be skipped ----------------------------------

_SERVICE_MARKERS = ("postgres", "redis")
_skipped_needing_services: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember skips of tests marked `postgres`/`redis` or skipped for want of PostgreSQL/Redis."""
    if not report.skipped:
        return
    reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr).lower()
    if any(m in report.keywords for m in _SERVICE_MARKERS) or "redis" in reason or "postgres" in reason:
        _skipped_needing_services.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With RETROCHAT_REQUIRE_SERVICES=1 a skipped PostgreSQL/Redis test fails the run."""
    if services_required() and _skipped_needing_services:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                "FAILED: tests that need PostgreSQL/Redis were skipped: " + ", ".join(_skipped_needing_services),
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --- Suite-wide defaults: cheap password hashing, auth rate limits off -------------------------


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 (same algorithm and hash format) with minimal cost, so tests do not spend 100 MiB per hash."""

    time_cost = 1
    memory_cost = 64
    parallelism = 1


@pytest.fixture(scope="session", autouse=True)
def _test_settings() -> Iterator[None]:
    overrides = override_settings(
        # The production Argon2 hasher must not follow: the last hasher of an algorithm verifies it.
        PASSWORD_HASHERS=[
            "tests.conftest.FastArgon2PasswordHasher",
            *(h for h in settings.PASSWORD_HASHERS if not h.endswith(".Argon2PasswordHasher")),
        ],
        AUTH_RATE_LIMIT_ENABLED=False,  # tests of the limits switch them on (`ratelimit` marker)
    )
    overrides.enable()
    yield
    overrides.disable()


@pytest.fixture(autouse=True)
def _rate_limits_for_marked_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("ratelimit") is None:
        yield
        return
    with override_settings(AUTH_RATE_LIMIT_ENABLED=True):
        yield


# --- Accounts and signed-in clients (shared by every app's tests) -------------------------------

FRONTEND_ORIGIN = "http://localhost:3000"
DEFAULT_PASSWORD = "Secret123!"
_account_numbers = itertools.count(1)


def session_cookie_value(token: str) -> str:
    """The session cookie's value for a raw token, as the sign-in endpoints set it."""
    return quote(sign_token(token), safe="")


def client_with_session(token: str | None = None, *, origin: str = FRONTEND_ORIGIN) -> Client:
    """A test client that behaves like the frontend: Origin header, and the session cookie if given."""
    client = Client(headers={"Origin": origin})
    if token is not None:
        client.cookies[cookie_name()] = session_cookie_value(token)
    return client


@pytest.fixture
def new_account(db: None) -> Callable[..., SignedIn]:
    """Factory: ``new_account(name="Ada Lovelace", email=None, password=...)`` signs a person up
    through the real service (user + profile + session) and returns ``SignedIn(user, session, token)``."""

    def make(name: str | None = None, *, email: str | None = None, password: str = DEFAULT_PASSWORD) -> SignedIn:
        n = next(_account_numbers)
        return user_sign_up(
            name=name if name is not None else f"Person {n}",
            email=email or f"person{n}@example.com",
            password=password,
            ip_address="127.0.0.1",
            user_agent="pytest",
        )

    return make


@pytest.fixture
def account(new_account: Callable[..., SignedIn]) -> SignedIn:
    """One signed-up person."""
    return new_account("Ada Lovelace", email="ada@example.com")


@pytest.fixture
def account_client(account: SignedIn) -> Client:
    """A client signed in as `account`, sending Origin: http://localhost:3000."""
    return client_with_session(account.token)


@pytest.fixture
def layer(monkeypatch: pytest.MonkeyPatch) -> recording_layer.RecordingLayer:
    """Every event published through `retrochat.realtime.broadcast`, recorded instead of sent."""
    return recording_layer.install(monkeypatch)
