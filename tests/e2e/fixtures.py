"""Server fixtures shared by the end-to-end and protocol tests (star-imported by their conftests).

- ``server`` (session scope): one daphne worker running `tests.e2e.asgi` (RetroChat + the
  ``e2e:*`` probe handlers) on the pytest-django TEST database. Tests that create rows for it
  must use ``@pytest.mark.django_db(transaction=True)`` so the server sees them. It uses the same
  channel layer settings as the test run (Redis with the run's ``CHANNEL_LAYER_PREFIX`` when
  ``REDIS_URL`` is set, else its own in-memory layer).
- ``two_servers`` (session scope): two such workers sharing the real Redis (same prefix).
  Needs ``REDIS_URL``: fails loudly when ``RETROCHAT_REQUIRE_SERVICES=1``, skips otherwise.
- ``server_factory`` (function scope): ``server_factory(env={...})`` starts an extra worker with
  extra environment (e.g. ``{"REALTIME_EVENTS_PER_SECOND": "5"}``), stopped after the test.
- ``conformance_server`` (session scope): ``manage.py runserver_conformance`` (no database, no
  authentication), connect timeout shortened to 1.5 s for the tests.

When a test fails, the tail of every running server's log is attached to its report.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings

from tests.e2e.harness import ServerProcess, database_url

RUNNING: list[ServerProcess] = []

CONFORMANCE_CONNECT_TIMEOUT_MS = 1500


def services_required() -> bool:
    return os.environ.get("RETROCHAT_REQUIRE_SERVICES") == "1"


def db_env() -> dict[str, str]:
    """Environment pointing a server at the test database (call after django_db_setup)."""
    from django.db import connections

    return {"DATABASE_URL": database_url(connections["default"].settings_dict)}


@contextlib.contextmanager
def started(**kwargs: Any) -> Iterator[ServerProcess]:
    srv = ServerProcess.start(**kwargs)
    RUNNING.append(srv)
    try:
        yield srv
    finally:
        RUNNING.remove(srv)
        srv.stop()
        srv.cleanup()


@pytest.fixture(scope="session")
def server(django_db_setup: None) -> Iterator[ServerProcess]:
    with started(env=db_env(), name="server") as srv:
        yield srv


def require_redis() -> None:
    if settings.REDIS_URL:
        return
    if services_required():
        pytest.fail("RETROCHAT_REQUIRE_SERVICES=1 but REDIS_URL is not set: multi-worker tests cannot run")
    pytest.skip("needs REDIS_URL (two workers share the Redis channel layer)")


@pytest.fixture(scope="session")
def two_servers(django_db_setup: None) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    require_redis()
    env = db_env()
    with started(env=env, name="worker-a") as a, started(env=env, name="worker-b") as b:
        yield a, b


@pytest.fixture
def server_factory(django_db_setup: None) -> Iterator[Callable[..., ServerProcess]]:
    stack = contextlib.ExitStack()

    def start(env: dict[str, str] | None = None, **kwargs: Any) -> ServerProcess:
        return stack.enter_context(started(env={**db_env(), **(env or {})}, **kwargs))

    with stack:
        yield start


@pytest.fixture(scope="session")
def conformance_server() -> Iterator[ServerProcess]:
    argv = ["{python}", "manage.py", "runserver_conformance", "--port", "{port}"]
    env = {"REALTIME_CONNECT_TIMEOUT_MS": str(CONFORMANCE_CONNECT_TIMEOUT_MS)}
    with started(argv=argv, env=env, name="conformance") as srv:
        yield srv


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed and report.when in ("setup", "call"):
        for srv in RUNNING:
            report.sections.append((f"{srv.name} log (127.0.0.1:{srv.port})", srv.log_tail(150)))
