"""The offline generator: writes with the person's own words and emoji, varies, is fast, streams."""

from __future__ import annotations

import asyncio
import random
import socket
import time

import pytest

from aifriend import style
from aifriend.providers import GenerationRequest, LocalStyleProvider, ProviderError, StyleContext
from aifriend.providers.local import MAX_CHARS, MAX_WORDS, chunks_of, compose_reply
from tests.aifriend.conftest import SAM_SAYS


def _request(corpus: list[str], prompt: str = "what should we eat tonight?") -> GenerationRequest:
    analysis = style.analyze(corpus)
    return GenerationRequest(
        prompt=prompt,
        style=StyleContext(
            system_prompt=style.friend_style_prompt(analysis),
            corpus=tuple(corpus),
            common_phrases=tuple(analysis.common_phrases),
            emoji_usage=analysis.emoji_usage,
            average_message_length=analysis.average_message_length,
        ),
    )


def _vocabulary(texts: list[str]) -> set[str]:
    return {word for text in texts for word in text.split()}


def test_replies_use_only_the_persons_words_and_emoji() -> None:
    rng = random.Random(7)
    vocabulary = _vocabulary(SAM_SAYS)
    replies = [compose_reply(_request(SAM_SAYS), rng) for _ in range(40)]
    for reply in replies:
        words = reply.split()
        assert words, reply
        unknown = [w for w in words if w not in vocabulary and not all(style.is_emoji(c) for c in w)]
        assert not unknown, (reply, unknown)
    # Their pet emoji shows up (they use it in a third of their messages), and no other emoji does.
    emoji_in_replies = {c for reply in replies for c in reply if style.is_emoji(c)}
    assert emoji_in_replies == {"🍕"}


def test_replies_vary_and_are_not_copies_of_the_persons_messages() -> None:
    rng = random.Random(11)
    replies = [compose_reply(_request(SAM_SAYS), rng) for _ in range(30)]
    assert len(set(replies)) >= 20
    originals = {" ".join(t.split()).lower() for t in SAM_SAYS}
    copies = [r for r in replies if " ".join(r.split()).lower() in originals]
    assert len(copies) <= 3  # the material is small; almost every reply is a new combination


def test_a_prompt_word_the_person_used_steers_the_reply() -> None:
    rng = random.Random(3)
    replies = [compose_reply(_request(SAM_SAYS, prompt="any plans for the beach?"), rng) for _ in range(40)]
    assert sum("beach" in r for r in replies) >= 20


def test_length_follows_the_persons_habit_and_is_bounded() -> None:
    rng = random.Random(5)
    short = [f"ok {w}" for w in ("sure", "fine", "cool", "yep", "nah", "lol")]
    long = [" ".join(f"word{i}x{j}" for j in range(40)) for i in range(6)]
    short_replies = [compose_reply(_request(short), rng) for _ in range(20)]
    long_replies = [compose_reply(_request(long), rng) for _ in range(20)]
    assert max(len(r) for r in short_replies) < 40
    assert min(len(r) for r in long_replies) > 60
    assert all(len(r.split()) <= MAX_WORDS and style.utf16_length(r) <= MAX_CHARS for r in long_replies)


def test_nothing_to_learn_from_is_a_provider_error() -> None:
    with pytest.raises(ProviderError):
        compose_reply(_request(["   ", ""]), random.Random(1))


def test_chunks_rebuild_the_text_exactly() -> None:
    text = "honestly  the pizza slaps 🍕"
    assert "".join(chunks_of(text)) == text
    assert chunks_of(text) == ["honestly", "  the", " pizza", " slaps", " 🍕"]


async def test_streams_in_several_chunks_in_bounded_time_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the local provider must not open connections")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    provider = LocalStyleProvider(rng=random.Random(2), chunk_delay=0.005)
    started = time.monotonic()
    chunks = [c async for c in provider.stream(_request(SAM_SAYS))]
    elapsed = time.monotonic() - started
    assert len(chunks) >= 3
    assert all(chunks)
    assert elapsed < 2.0
    assert provider.name == "local"


async def test_streaming_can_be_cancelled_between_chunks() -> None:
    provider = LocalStyleProvider(rng=random.Random(4), chunk_delay=0.2)
    received: list[str] = []

    async def consume() -> None:
        async for chunk in provider.stream(_request(SAM_SAYS)):
            received.append(chunk)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(received) == 1
