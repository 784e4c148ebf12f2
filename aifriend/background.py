"""A small thread pool for the AI's database work that must stay off the request path.

Style-profile updates run here (fire-and-forget after a message is sent, or awaited by a reply
that is already streaming), so neither the sender's request nor the server's shared sync thread
waits for them. Each job closes its database connections when it is done.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, ParamSpec, TypeVar

from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

_MAX_WORKERS = 2
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_pending: set[Future[Any]] = set()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_MAX_WORKERS, thread_name_prefix="retrochat-ai")
        return _pool


def _run_job(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    close_old_connections()
    try:
        return fn(*args, **kwargs)
    finally:
        connections.close_all()


def submit(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
    """Run ``fn`` on the pool; failures are logged (nobody may be waiting for the result)."""

    def job() -> T:
        return _run_job(fn, *args, **kwargs)

    future: Future[T] = _executor().submit(job)
    with _pool_lock:
        _pending.add(future)

    def _done(done: Future[T]) -> None:
        with _pool_lock:
            _pending.discard(done)
        if not done.cancelled() and done.exception() is not None:
            logger.error("AI background job %s failed", getattr(fn, "__name__", fn), exc_info=done.exception())

    future.add_done_callback(_done)
    return future


async def run(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Await ``fn`` run on the pool (if the caller is cancelled, the job still finishes)."""
    return await asyncio.wrap_future(submit(fn, *args, **kwargs))


def drain(timeout: float = 10.0) -> bool:
    """Wait for every submitted job to finish (tests, shutdown); True if none is left."""
    with _pool_lock:
        pending = set(_pending)
    if not pending:
        return True
    _done, not_done = wait(pending, timeout=timeout)
    return not not_done
