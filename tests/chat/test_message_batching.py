"""`chat.services.batching.Batcher`: concurrent requests coalesce into rounds; outcomes stay per request."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from chat.services.batching import Batcher
from retrochat.errors import BadRequest, DomainError
from retrochat.realtime import broadcast


class Recorder:
    def __init__(self) -> None:
        self.rounds: list[list[int]] = []
        self.release = threading.Event()
        self.release.set()

    def run_many(self, requests: Sequence[int]) -> list[int | DomainError]:
        self.release.wait(5)
        self.rounds.append(list(requests))
        return [BadRequest(f"odd {r}") if r % 2 else r * 10 for r in requests]


async def test_requests_arriving_during_a_round_share_the_next_one() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder.run_many, name="test")
    recorder.release.clear()
    first = asyncio.ensure_future(batcher.submit(0))
    await asyncio.sleep(0.05)  # the first round is now blocked on the database thread
    rest = [asyncio.ensure_future(batcher.submit(n)) for n in (2, 4, 6, 8)]
    await asyncio.sleep(0.01)
    recorder.release.set()
    assert await first == 0
    assert [await r for r in rest] == [20, 40, 60, 80]
    assert recorder.rounds == [[0], [2, 4, 6, 8]]
    assert batcher.stats() == (2, 5)


async def test_a_refusal_reaches_only_its_own_caller() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder.run_many, name="test")
    results = await asyncio.gather(*(batcher.submit(n) for n in (2, 3, 4)), return_exceptions=True)
    assert results[0] == 20
    assert results[2] == 40
    assert isinstance(results[1], BadRequest)
    assert results[1].message == "odd 3"


async def test_max_batch_splits_rounds() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder.run_many, name="test", max_batch=2)
    recorder.release.clear()
    tasks = [asyncio.ensure_future(batcher.submit(n)) for n in (0, 2, 4, 6, 8)]
    await asyncio.sleep(0.01)
    recorder.release.set()
    assert [await t for t in tasks] == [0, 20, 40, 60, 80]
    assert recorder.rounds == [[0, 2], [4, 6], [8]]


async def test_a_failing_round_fails_each_of_its_requests_and_the_next_round_still_runs() -> None:
    calls: list[list[int]] = []

    def run_many(requests: Sequence[int]) -> list[int | DomainError]:
        calls.append(list(requests))
        if len(calls) == 1:
            raise RuntimeError("database down")
        return list(requests)

    batcher: Batcher[int, int] = Batcher(run_many, name="test")
    results = await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]
    assert await batcher.submit(3) == 3


async def test_a_wrong_number_of_outcomes_is_an_error_not_a_silent_mismatch() -> None:
    batcher: Batcher[int, int] = Batcher(lambda requests: [], name="test")
    with pytest.raises(RuntimeError, match="0 outcomes for 1 requests"):
        await batcher.submit(1)


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        Batcher(lambda requests: list(requests), name="test", max_batch=0)


class PublishLog:
    """A channel layer that logs what a round publishes, and whether its callers were answered yet."""

    def __init__(self, *, broken: bool = False) -> None:
        self.log: list[tuple[str, object, bool]] = []
        self.answered: list[asyncio.Future[int]] = []
        self.broken = broken

    async def group_send(self, group: str, message: dict[str, object]) -> None:
        if self.broken:
            raise ConnectionError("layer down")
        self.log.append((group, message["type"], any(f.done() for f in self.answered)))


def publishing_run_many(requests: Sequence[int]) -> list[int | DomainError]:
    # Outside a transaction, on_commit callbacks run at once: what a service does after its COMMIT.
    for request in requests:
        broadcast.broadcast_on_commit("stored", request, user_ids=[f"user-{request}"])
    return [request * 10 for request in requests]


@pytest.mark.django_db(transaction=True)  # on_commit outside a transaction needs a connection
async def test_a_round_publishes_its_events_in_one_layer_message_before_answering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layer = PublishLog()
    monkeypatch.setattr(broadcast, "get_channel_layer", lambda: layer)
    batcher: Batcher[int, int] = Batcher(publishing_run_many, name="test")
    layer.answered = [batcher.submit_nowait(n) for n in (1, 2, 3)]
    assert [await f for f in layer.answered] == [10, 20, 30]
    assert layer.log == [(broadcast.WORKERS_GROUP, "rt.batch", False)]  # one message, before any answer


@pytest.mark.django_db(transaction=True)  # on_commit outside a transaction needs a connection
async def test_a_round_whose_events_cannot_be_published_still_answers(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(broadcast, "get_channel_layer", lambda: PublishLog(broken=True))
    batcher: Batcher[int, int] = Batcher(publishing_run_many, name="test")
    assert await batcher.submit(4) == 40  # committed: the ack still says so
    assert "could not publish the events of a round" in caplog.text


async def test_submit_nowait_keeps_the_order_requests_were_queued_in() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder.run_many, name="test")
    futures = [batcher.submit_nowait(n) for n in (8, 2, 6)]
    assert [await f for f in futures] == [80, 20, 60]
    assert recorder.rounds == [[8, 2, 6]]
