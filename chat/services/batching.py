"""Coalescing calls of a service from async code: many concurrent requests, one database round.

A `Batcher` wraps a synchronous *many* service function — ``run_many(requests) -> outcomes``, one
outcome per request, in order, each either the result or the `DomainError` that request earned —
and offers ``await batcher.submit(request)`` to async code (socket handlers, presence).

Requests submitted while a round is running on the database thread wait for the next round,
which takes all of them (at most ``max_batch``). There is no timer: an idle server answers a lone
request at once, a busy one amortises a transaction, a COMMIT and a thread hop over every request
that arrived meanwhile. ``submit`` returns (or raises) only after ``run_many`` returned, so when
the many-function commits inside, a result means committed — what an ack promises.

What the round's services publish after their COMMITs is collected on the database thread
(`broadcast.collect_published`) and published from the event loop as one layer message, before
any request of the round is answered: the database thread goes straight back to work, and a
sender's ``message:sent`` still precedes its ack.

``submit_nowait`` queues a request at once and returns the future of its outcome: a socket
handler that queues its sends in arrival order (see ``pipelined`` in `retrochat.realtime.router`)
gets them stored in that order while several of them share a round.

If ``run_many`` itself raises (database down, a bug), every request of that round gets the
exception. A caller that goes away (task cancelled) does not withdraw its request: like a
``database_sync_to_async`` call already started, it completes and its result is dropped.

State is per event loop (tests run several loops in one process).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from channels.db import database_sync_to_async

from retrochat.errors import DomainError
from retrochat.realtime.broadcast import LayerMessage, collect_published, publish

logger = logging.getLogger(__name__)

Req = TypeVar("Req")
Res = TypeVar("Res")


@dataclass
class _LoopState(Generic[Req, Res]):
    pending: list[tuple[Req, asyncio.Future[Res]]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    rounds: int = 0
    requests: int = 0


def outcome_of(call: Callable[[], Res], *, what: str) -> Res | DomainError:
    """Run one request of a round on its own (e.g. an idempotent retry path): whatever it raises is
    its outcome alone — the rest of the round is committed already."""
    try:
        return call()
    except DomainError as exc:
        return exc
    except Exception:
        logger.exception("%s failed", what)
        return DomainError("Failed to send message", code="internal")


class Batcher(Generic[Req, Res]):
    def __init__(
        self,
        run_many: Callable[[Sequence[Req]], Sequence[Res | DomainError]],
        *,
        name: str,
        max_batch: int = 256,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self.run_many = run_many
        self.name = name
        self.max_batch = max_batch
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState[Req, Res]] = (
            weakref.WeakKeyDictionary()
        )

    def _state(self) -> tuple[asyncio.AbstractEventLoop, _LoopState[Req, Res]]:
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            state = self._states[loop] = _LoopState()
        return loop, state

    async def submit(self, request: Req) -> Res:
        """The outcome of ``request`` once its round has finished (a DomainError outcome is raised)."""
        return await self.submit_nowait(request)

    def submit_nowait(self, request: Req) -> asyncio.Future[Res]:
        """Queue ``request`` now (requests are stored in the order they were queued); the future
        resolves once its round has finished."""
        loop, state = self._state()
        future: asyncio.Future[Res] = loop.create_future()
        state.pending.append((request, future))
        if state.task is None or state.task.done():
            state.task = loop.create_task(self._drain(state), name=f"batcher-{self.name}")
        return future

    def stats(self) -> tuple[int, int]:
        """(rounds, requests) run on the current loop: requests / rounds is the mean batch size."""
        _, state = self._state()
        return state.rounds, state.requests

    async def _drain(self, state: _LoopState[Req, Res]) -> None:
        run = database_sync_to_async(self._run)
        while state.pending:
            batch = state.pending[: self.max_batch]
            del state.pending[: self.max_batch]
            state.rounds += 1
            state.requests += len(batch)
            try:
                outcomes, published = await run([request for request, _ in batch])
            except asyncio.CancelledError:
                for _, future in batch + state.pending:
                    future.cancel()
                state.pending.clear()
                raise
            except Exception as exc:
                logger.exception("%s: a round of %d requests failed", self.name, len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            try:
                await publish(published)
            except Exception:
                # The round is committed: its requests succeeded even if the events were lost.
                logger.exception("%s: could not publish the events of a round", self.name)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, DomainError):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    def _run(self, requests: list[Req]) -> tuple[Sequence[Res | DomainError], list[LayerMessage]]:
        with collect_published() as published:
            outcomes = self.run_many(requests)
        if len(outcomes) != len(requests):
            raise RuntimeError(f"{self.name}: {len(outcomes)} outcomes for {len(requests)} requests")
        return outcomes, published
