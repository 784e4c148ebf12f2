"""The OpenAI-compatible provider against a fake chat-completions server on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from aifriend.providers import GenerationRequest, OpenAICompatProvider, ProviderError, StyleContext, get_provider
from aifriend.providers.local import LocalStyleProvider
from tests.aifriend.fake_openai import FakeOpenAI, Hang, Status, Stream, running_fake_openai

REQUEST = GenerationRequest(prompt="what's up?", style=StyleContext(system_prompt="You are imitating sam."))


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with running_fake_openai() as fake:
        yield fake


def provider(server: FakeOpenAI, *, timeout: float = 1.0, retries: int = 2) -> OpenAICompatProvider:
    return OpenAICompatProvider(
        api_key="sk-test", base_url=server.base_url, timeout=timeout, max_retries=retries, retry_base_delay=0.01
    )


async def collect(p: OpenAICompatProvider) -> list[str]:
    return [chunk async for chunk in p.stream(REQUEST)]


async def test_normal_stream_sends_the_contract_parameters(server: FakeOpenAI) -> None:
    server.script(Stream(["Hey", " there", "!", ""]))
    assert await collect(provider(server)) == ["Hey", " there", "!"]
    assert len(server.requests) == 1
    sent = server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.body["model"] == "gpt-4o-mini"
    assert sent.body["temperature"] == 0.9
    assert sent.body["max_tokens"] == 150
    assert sent.body["stream"] is True
    assert sent.body["messages"] == [
        {"role": "system", "content": "You are imitating sam."},
        {"role": "user", "content": "what's up?"},
    ]


async def test_slow_stream_delivers_chunks_as_they_arrive(server: FakeOpenAI) -> None:
    server.script(Stream(["one", " two", " three"], delay=0.15))
    arrivals: list[float] = []
    started = time.monotonic()
    async for _chunk in provider(server).stream(REQUEST):
        arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 3
    assert arrivals[2] - arrivals[0] >= 0.2  # one by one as the server sends them, not all at the end


async def test_rate_limit_then_success_is_retried_before_the_first_token(server: FakeOpenAI) -> None:
    server.script(Status(429, "slow down", retry_after=0), Stream(["fine", " now"]))
    assert await collect(provider(server)) == ["fine", " now"]
    assert len(server.requests) == 2


async def test_server_errors_are_retried_a_bounded_number_of_times(server: FakeOpenAI) -> None:
    server.script(Status(500, "boom"))
    with pytest.raises(ProviderError, match="3 attempt"):
        await collect(provider(server, retries=2))
    assert len(server.requests) == 3


async def test_client_errors_are_not_retried(server: FakeOpenAI) -> None:
    server.script(Status(401, "bad key"))
    with pytest.raises(ProviderError):
        await collect(provider(server))
    assert len(server.requests) == 1


async def test_timeout_is_bounded(server: FakeOpenAI) -> None:
    server.script(Hang(30))
    started = time.monotonic()
    with pytest.raises(ProviderError, match="2 attempt"):
        await collect(provider(server, timeout=0.3, retries=1))
    elapsed = time.monotonic() - started
    assert 0.5 < elapsed < 3.0
    assert len(server.requests) == 2


async def test_a_stream_cut_before_the_first_token_is_retried(server: FakeOpenAI) -> None:
    server.script(Stream(["never"], drop_after=0), Stream(["second", " try"]))
    assert await collect(provider(server)) == ["second", " try"]
    assert len(server.requests) == 2


async def test_a_stream_cut_after_tokens_keeps_what_arrived_and_is_not_retried(server: FakeOpenAI) -> None:
    server.script(Stream(["Hel", "lo", " wor", "ld"], drop_after=2), Stream(["other"]))
    assert await collect(provider(server)) == ["Hel", "lo"]
    assert len(server.requests) == 1


async def test_cancelling_the_consumer_closes_the_connection_and_leaves_no_task(server: FakeOpenAI) -> None:
    server.script(Stream([f" w{i}" for i in range(50)], delay=0.05))
    before = asyncio.all_tasks()
    received: list[str] = []

    async def consume() -> None:
        async for chunk in provider(server).stream(REQUEST):
            received.append(chunk)

    task = asyncio.create_task(consume())
    while len(received) < 2:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The server notices the closed connection while writing the next chunks.
    assert await asyncio.to_thread(server.client_gone.wait, 5)
    assert await asyncio.to_thread(server.wait_idle, 5)
    assert server.completed == 0
    assert 2 <= len(received) < 50
    await asyncio.sleep(0)
    assert asyncio.all_tasks() - before == set()


def test_provider_choice_follows_settings(settings: object) -> None:
    settings.AI_PROVIDER = "local"  # type: ignore[attr-defined]
    assert isinstance(get_provider(), LocalStyleProvider)
    settings.AI_PROVIDER = "openai"  # type: ignore[attr-defined]
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"  # type: ignore[attr-defined]
    chosen = get_provider()
    assert isinstance(chosen, OpenAICompatProvider)
    assert chosen.base_url == "http://127.0.0.1:9/v1"
    # No explicit choice: a key means OpenAI, no key means the offline provider.
    settings.AI_PROVIDER = ""  # type: ignore[attr-defined]
    settings.OPENAI_API_KEY = ""  # type: ignore[attr-defined]
    assert isinstance(get_provider(), LocalStyleProvider)
    settings.OPENAI_API_KEY = "sk-x"  # type: ignore[attr-defined]
    assert isinstance(get_provider(), OpenAICompatProvider)
