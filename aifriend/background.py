"""A small thread pool for the AI's database work that must stay off the request path.

Style-profile updates run here (fire-and-forget after a message is sent, or awaited by a reply
that is already streaming), so neither the sender's request nor the server's shared sync thread
waits for them.

Fire-and-forget checks are coalesced per key (`submit_coalesced`): at most one check per key is
waiting at any time (a check queued but not started yet already covers every later trigger), a
key's checks start at least ``min_interval`` seconds apart (plus up to half of it, at random, so
keys do not stay in phase), and a trigger that arrives while a check runs gets one trailing
check after it, so the last trigger is always seen.

The pool threads keep their database connections between jobs, like request threads do: after
each job `close_old_connections` closes them only when ``CONN_MAX_AGE`` says so (with 0, the
default, every job ends with its connections closed).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from django.db import close_old_connections

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
        close_old_connections()


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


# --- coalesced fire-and-forget checks ----------------------------------------------------------


@dataclass
class _Slot:
    call: Callable[[], object] = field(default=lambda: None)
    interval: float = 0.0
    waiting: bool = False  # a check is wanted and has not started yet
    arranged: bool = False  # ... and it is on the pool's queue or on the timer heap
    running: bool = False
    last_start: float = float("-inf")


_cond = threading.Condition()
_slots: dict[Hashable, _Slot] = {}
_timers: list[tuple[float, int, Hashable]] = []
_seq = itertools.count()
_timer_thread: threading.Thread | None = None
_PRUNE_ABOVE = 1024


def submit_coalesced(key: Hashable, call: Callable[[], object], *, min_interval: float = 1.0) -> bool:
    """Make sure a run of ``call()`` for ``key`` starts after now (never blocks).

    Returns False when a run that has not started yet already covers this trigger (nothing new
    was queued). Runs of one key never overlap and start at least ``min_interval`` seconds apart.
    """
    with _cond:
        slot = _slots.get(key)
        if slot is not None and slot.waiting:
            return False
        if slot is None:
            if len(_slots) > _PRUNE_ABOVE:
                _prune(time.monotonic())
            slot = _slots[key] = _Slot()
        slot.call = call
        slot.interval = max(0.0, min_interval)
        slot.waiting = True
        if not slot.running:
            _arrange(key, slot)
        return True


def _arrange(key: Hashable, slot: _Slot) -> None:
    """Queue the slot's waiting run now or put it on the timer heap (``_cond`` held)."""
    slot.arranged = True
    # Up to half an interval of jitter: keys triggered together (a burst of traffic) do not stay
    # in phase, so their checks spread out instead of landing on the pool at the same instant.
    due = slot.last_start + slot.interval * (1.0 + 0.5 * random.random())
    if due <= time.monotonic():
        _launch(key, slot)
        return
    heapq.heappush(_timers, (due, next(_seq), key))
    _ensure_timer_thread()
    _cond.notify_all()


def _launch(key: Hashable, slot: _Slot) -> None:
    """Hand the slot's waiting run to the pool (``_cond`` held)."""

    def job() -> None:
        with _cond:
            slot.waiting = False
            slot.arranged = False
            slot.running = True
            slot.last_start = time.monotonic()
            call = slot.call
        try:
            call()
        finally:
            with _cond:
                slot.running = False
                if slot.waiting and not slot.arranged:
                    _arrange(key, slot)  # triggered while running: one trailing run

    submit(job)


def _prune(now: float) -> None:
    """Forget idle keys whose interval has passed (``_cond`` held)."""
    idle = [
        key
        for key, slot in _slots.items()
        if not (slot.waiting or slot.running) and slot.last_start + slot.interval <= now
    ]
    for key in idle:
        del _slots[key]


def _launch_due(*, everything: bool) -> None:
    """Hand every timer that is due (or every timer) to the pool (``_cond`` held)."""
    now = time.monotonic()
    while _timers and (everything or _timers[0][0] <= now):
        _due, _n, key = heapq.heappop(_timers)
        slot = _slots.get(key)
        if slot is not None and slot.waiting and slot.arranged and not slot.running:
            _launch(key, slot)


def _timer_loop() -> None:
    with _cond:
        while True:
            _launch_due(everything=False)
            timeout = (_timers[0][0] - time.monotonic()) if _timers else None
            _cond.wait(timeout)


def _ensure_timer_thread() -> None:
    global _timer_thread
    if _timer_thread is None or not _timer_thread.is_alive():
        _timer_thread = threading.Thread(target=_timer_loop, name="retrochat-ai-timer", daemon=True)
        _timer_thread.start()


def drain(timeout: float = 10.0) -> bool:
    """Run every waiting check now and wait for every job to finish (tests, shutdown).

    True if none is left.
    """
    deadline = time.monotonic() + timeout
    while True:
        with _cond:
            _launch_due(everything=True)
            waiting = any(slot.waiting for slot in _slots.values())
        with _pool_lock:
            pending = set(_pending)
        if not pending and not waiting:
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if pending:
            wait(pending, timeout=left)
        else:
            time.sleep(min(0.01, left))  # a waiting check is between the timer heap and the pool
