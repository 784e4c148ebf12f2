"""The offline reply generator: a word-level Markov chain over the writer's own recent messages.

How it writes a reply:

1. It learns which word follows which pair of words (and, as a fallback, which word follows which
   word) in the person's (AI friend) or the group's (group AI) recent messages.
2. It starts from a word of the prompt the writer has used before when there is one (so the reply
   stays loosely on topic), otherwise from one of the ways the writer starts messages, and walks
   the chain. Now and then it takes the one-word fallback even when a two-word continuation exists:
   that recombines the writer's fragments instead of replaying whole messages.
3. It aims for the writer's usual message length, may weave in one of their common phrases, and
   adds emoji as often as they do, choosing the ones they use most.
4. It never returns one of the writer's messages verbatim when the material allows anything else.

The reply is streamed word by word with a small typing pause. No network, no model files; the
time per reply is bounded (at most `MAX_WORDS` words).
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from aifriend import conf
from aifriend.providers.base import GenerationRequest, ProviderError
from aifriend.style import is_emoji, utf16_length

_START = "\x02"
_END = "\x03"
MAX_WORDS = 60
MAX_CHARS = 280
MIN_TARGET_CHARS = 12
_SENTENCES_MAX = 3
_RECOMBINE_PROBABILITY = 0.3
_TOPIC_START_PROBABILITY = 0.75
_PHRASE_PROBABILITY = 0.35
_ATTEMPTS = 8
_CHUNK = re.compile(r"\s*\S+")
_WORD_CHARS = re.compile(r"[^\w']+")
_TOPIC_STOPWORDS = frozenset(
    (
        *("the", "and", "you", "your", "for", "are", "was", "were", "what", "when", "where", "which", "who"),
        *("why", "how", "that", "this", "with", "have", "has", "had", "not", "but", "can", "could", "would"),
        *("should", "will", "just", "like", "its", "it's", "i'm", "you're", "don't", "about", "from", "they"),
        *("them", "then", "there", "their", "our", "out", "all", "any", "some", "get", "got", "too", "very"),
    )
)


def _normalize(word: str) -> str:
    return _WORD_CHARS.sub("", word.lower())


def _flatten(text: str) -> str:
    return " ".join(text.split()).lower()


@dataclass
class MarkovChain:
    """Second-order word chain with a first-order fallback, built from whitespace-split messages.

    It also keeps the chain backwards, so a sentence can be grown in both directions around a
    word: a reply "about" a word starts where the writer would have started such a sentence.
    """

    pairs: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    singles: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    back_pairs: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    back_singles: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # normalized word -> states (previous word, word) where it occurs
    occurrences: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def build(cls, texts: Sequence[str]) -> MarkovChain:
        chain = cls()
        for text in texts:
            words = text.split()
            if not words:
                continue
            forward = [_START, _START, *words, _END]
            for i in range(2, len(forward)):
                chain.pairs[(forward[i - 2], forward[i - 1])].append(forward[i])
                chain.singles[forward[i - 1]].append(forward[i])
            backward = [_END, _END, *reversed(words), _START]
            for i in range(2, len(backward)):
                chain.back_pairs[(backward[i - 2], backward[i - 1])].append(backward[i])
                chain.back_singles[backward[i - 1]].append(backward[i])
            for prev, word in zip([_START, *words], words, strict=False):
                key = _normalize(word)
                if key:
                    chain.occurrences[key].append((prev, word))
        return chain

    @property
    def empty(self) -> bool:
        return not self.pairs

    @staticmethod
    def _walk(
        pairs: dict[tuple[str, str], list[str]],
        singles: dict[str, list[str]],
        stop: str,
        rng: random.Random,
        state: tuple[str, str],
        budget: int,
    ) -> list[str]:
        words: list[str] = []
        prev, last = state
        seen: set[tuple[str, str, str]] = set()
        while len(words) < budget:
            options = pairs.get((prev, last)) or []
            fallback = singles.get(last) or []
            if fallback and (not options or (len(fallback) > len(options) and rng.random() < _RECOMBINE_PROBABILITY)):
                options = fallback
            if not options:
                break
            nxt = rng.choice(options)
            if nxt in (_START, _END) or (prev, last, nxt) in seen:
                break  # the message ends, or the walk started going round in circles
            seen.add((prev, last, nxt))
            words.append(nxt)
            prev, last = last, nxt
        return words

    def forward(self, rng: random.Random, state: tuple[str, str], budget: int) -> list[str]:
        """Words following ``state`` until the chain ends a message or ``budget`` words are out."""
        return self._walk(self.pairs, self.singles, _END, rng, state, budget)

    def sentence(self, rng: random.Random, budget: int) -> list[str]:
        return self.forward(rng, (_START, _START), budget)

    def sentence_around(self, rng: random.Random, seeds: Sequence[str], budget: int) -> list[str]:
        """A sentence through one occurrence of a seed word: grown backwards to a start, then forwards."""
        states = [state for seed in seeds for state in self.occurrences.get(seed, ())]
        if not states:
            return []
        prev, word = rng.choice(states)
        left: list[str] = []
        if prev != _START:
            back = self._walk(self.back_pairs, self.back_singles, _START, rng, (word, prev), budget // 2)
            left = [*reversed(back), prev]
        right = self.forward(rng, (prev, word), max(1, budget - len(left) - 1))
        return [*left, word, *right]


def _seeds(text: str, chain: MarkovChain) -> list[str]:
    words = {_normalize(w) for w in text.split()}
    return sorted(w for w in words if len(w) >= 3 and w not in _TOPIC_STOPWORDS and w in chain.occurrences)


def _emoji_habits(corpus: Sequence[str], usage: dict[str, int]) -> tuple[float, list[str], list[int]]:
    """How often the writer uses emoji (share of messages) and which ones, weighted by use."""
    with_emoji = sum(1 for text in corpus if any(is_emoji(c) for c in text))
    rate = with_emoji / len(corpus) if corpus else 0.0
    if not usage:
        counts: dict[str, int] = defaultdict(int)
        for text in corpus:
            for char in text:
                if is_emoji(char):
                    counts[char] += 1
        usage = dict(counts)
    return rate, list(usage), [max(1, int(n)) for n in usage.values()]


def _trim(words: list[str]) -> str:
    text = ""
    for word in words[:MAX_WORDS]:
        candidate = f"{text} {word}" if text else word
        if utf16_length(candidate) > MAX_CHARS:
            break
        text = candidate
    return text


def _has_emoji(text: str) -> bool:
    return any(is_emoji(c) for c in text)


def compose_reply(request: GenerationRequest, rng: random.Random) -> str:
    """One reply in the style of ``request.style.corpus``; raises `ProviderError` with nothing to learn from."""
    corpus = [text for text in request.style.corpus if text.strip()]
    chain = MarkovChain.build(corpus)
    if chain.empty:
        raise ProviderError("no messages to learn a style from")
    seen = {_flatten(text) for text in corpus}
    topics = _seeds(request.prompt, chain)
    phrase_seeds = [_seeds(p, chain) for p in request.style.common_phrases if p.strip()]
    phrase_seeds = [seeds for seeds in phrase_seeds if seeds]
    average = request.style.average_message_length or (sum(utf16_length(t) for t in corpus) // len(corpus))
    rate, emojis, weights = _emoji_habits(corpus, dict(request.style.emoji_usage))

    text = ""
    for _attempt in range(_ATTEMPTS):
        target = min(MAX_CHARS, max(MIN_TARGET_CHARS, int(average * rng.uniform(0.6, 1.5))))
        sentences: list[list[str]] = []
        if topics and rng.random() < _TOPIC_START_PROBABILITY:
            sentences.append(chain.sentence_around(rng, topics, MAX_WORDS))
        elif phrase_seeds and rng.random() < _PHRASE_PROBABILITY:
            sentences.append(chain.sentence_around(rng, rng.choice(phrase_seeds), MAX_WORDS))
        used = sum(len(s) for s in sentences)
        while len(sentences) < _SENTENCES_MAX and used < MAX_WORDS:
            if sentences and utf16_length(" ".join(w for s in sentences for w in s)) >= target:
                break
            candidate = chain.sentence(rng, MAX_WORDS - used)
            if candidate and candidate not in sentences:
                sentences.append(candidate)
                used += len(candidate)
            elif sentences:
                break
        text = _trim([w for s in sentences for w in s])
        novel = bool(text) and _flatten(text) not in seen
        if emojis and rng.random() < rate and not _has_emoji(text[-4:]):
            picked = rng.choices(emojis, weights=weights, k=1)[0]
            text = f"{text} {picked * rng.choice((1, 1, 1, 2))}".strip()
        if novel:
            break
    if not text:
        raise ProviderError("the style material produced no words")
    return text


def chunks_of(text: str) -> list[str]:
    """The reply split into streaming chunks (one word each, with its leading space)."""
    return _CHUNK.findall(text)


class LocalStyleProvider:
    """Offline provider; ``rng`` and ``chunk_delay`` are injectable for tests."""

    name = "local"

    def __init__(self, *, rng: random.Random | None = None, chunk_delay: float | None = None) -> None:
        self._rng = rng or random.Random()  # style variety, not security
        self._chunk_delay = conf.local_chunk_delay() if chunk_delay is None else chunk_delay

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        text = compose_reply(request, self._rng)
        for index, chunk in enumerate(chunks_of(text)):
            if index and self._chunk_delay:
                await asyncio.sleep(self._chunk_delay * self._rng.uniform(0.5, 1.5))
            yield chunk
