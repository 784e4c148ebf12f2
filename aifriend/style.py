"""Chat-style analysis (contract §6.2): pure functions from message texts to a style description.

Nothing here touches the database or the network. The services feed in the most recent messages
(bounded) and store the result; the providers read it back.

Four features are extracted: the phrases a writer repeats, their emoji habits, how long their
messages are, and a rough tone (casual / formal / enthusiastic). The group variant weights recent
messages more heavily before running the same analysis.

Every feature is a sum over messages, so each distinct message is analysed once and counted with its
number of occurrences (its weight); ties are broken by first-seen order, which that keeps. This gives
exactly what analysing every copy would, at a fraction of the cost (the analysis holds the GIL on a
worker thread of the server).
"""

from __future__ import annotations

import itertools
import math
import operator
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypedDict

# Two-word fillers that say nothing about a writer's style.
STOP_PHRASES = frozenset(
    {
        "i am",
        "you are",
        "it is",
        "this is",
        "that is",
        "going to",
        "want to",
        "have to",
        "need to",
        "i have",
        "do you",
        "in the",
        "of the",
    }
)

CASUAL_MARKERS = (
    "lol",
    "haha",
    "hehe",
    "lmao",
    "gonna",
    "wanna",
    "gotta",
    "yeah",
    "nah",
    "idk",
    "tbh",
    "omg",
    "btw",
    "brb",
    "ngl",
)
FORMAL_MARKERS = (
    "however",
    "therefore",
    "furthermore",
    "moreover",
    "regarding",
    "sincerely",
    "nevertheless",
    "consequently",
    "accordingly",
)
ENTHUSIASTIC_MARKERS = (
    "!",
    "!!",
    "!!!",
    "awesome",
    "amazing",
    "great",
    "love",
    "excited",
    "yay",
    "fantastic",
    "wonderful",
    "incredible",
    "wow",
)

EMOJI_RANGES = ((0x1F300, 0x1F9FF), (0x2600, 0x26FF), (0x2700, 0x27BF))

MAX_PHRASES = 10
MAX_EMOJIS = 20
PROMPT_EMOJIS = 10
TONE_LABEL_THRESHOLD = 30

# Markers that span words cannot be found in the word list, so they are always looked for in full.
_SPACED_MARKERS = frozenset(
    marker for marker in (*CASUAL_MARKERS, *FORMAL_MARKERS, *ENTHUSIASTIC_MARKERS) if marker.split() != [marker]
)


class ToneIndicators(TypedDict):
    casual: int
    formal: int
    enthusiastic: int


def empty_tone() -> ToneIndicators:
    return {"casual": 0, "formal": 0, "enthusiastic": 0}


@dataclass(frozen=True)
class StyleAnalysis:
    """What the analysis found in a list of messages."""

    common_phrases: list[str] = field(default_factory=list)
    emoji_usage: dict[str, int] = field(default_factory=dict)
    average_message_length: int = 0
    tone_indicators: ToneIndicators = field(default_factory=empty_tone)


def js_round(value: float) -> int:
    """``Math.round``: halves go up (Python's ``round`` would go to the even neighbour)."""
    return math.floor(value + 0.5)


def utf16_length(text: str) -> int:
    """Length as JavaScript counts it (UTF-16 code units): an emoji outside the BMP counts 2."""
    return len(text.encode("utf-16-le")) // 2


def is_emoji(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in EMOJI_RANGES)


def _weighted(messages: Iterable[str]) -> tuple[list[str], list[int]]:
    """Distinct messages in first-seen order, and how often each occurs."""
    counts = Counter(messages)
    return list(counts), list(counts.values())


def _phrase_counts(texts: Sequence[str], weights: Sequence[int]) -> Counter[str]:
    """Every two- to four-word window of the lower-cased ``texts``, unfiltered."""
    join = " ".join
    seen: list[str] = []
    for text, weight in zip(texts, weights, strict=True):
        words = text.split()
        start = len(seen)
        pairs = list(map(join, itertools.pairwise(words)))
        # Pairs, then triples, then quads: the order in which first-seen ties are decided.
        seen += pairs
        seen += map(join, zip(pairs, words[2:], strict=False))
        seen += map(join, zip(pairs, pairs[2:], strict=False))
        if weight > 1:
            seen += seen[start:] * (weight - 1)
    return Counter(seen)


def _top_phrases(counts: Counter[str], limit: int) -> list[str]:
    # Filtering only the repeated windows is cheaper than filtering every window, and a window
    # that is dropped never changes another's count or first-seen position.
    kept = [p for p, n in counts.items() if n >= 2 and len(p) > 5 and p not in STOP_PHRASES]
    # A stable sort, like Counter.most_common: equal counts stay in first-seen order.
    kept.sort(key=counts.__getitem__, reverse=True)
    return kept[:limit]


def common_phrases(messages: Iterable[str], *, limit: int = MAX_PHRASES) -> list[str]:
    """Two- to four-word windows (lower-cased) seen at least twice, most frequent first."""
    distinct, weights = _weighted(messages)
    return _top_phrases(_phrase_counts([m.lower() for m in distinct], weights), limit)


# One regex scan is far cheaper than calling ``is_emoji`` on every character; it matches the same set.
_EMOJI = re.compile("[" + "".join(f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in EMOJI_RANGES) + "]")


def _top_emojis(text: str, limit: int) -> dict[str, int]:
    return dict(Counter(_EMOJI.findall(text)).most_common(limit))


def emoji_usage(messages: Iterable[str], *, limit: int = MAX_EMOJIS) -> dict[str, int]:
    """Emoji code point -> count, the ``limit`` most used, most used first."""
    # An emoji is one code point, so gluing the messages together cannot create or split one.
    return _top_emojis("".join(messages), limit)


def _average_length(text: str, count: int, messages: Iterable[str], weights: Iterable[int]) -> int:
    """``text`` is ``messages`` glued together, each ``weights`` times; ``count`` is the sum of weights."""
    if not count:
        return 0
    try:
        total = utf16_length(text)
    except UnicodeEncodeError:
        # A lone surrogate: measure message by message, to fail on the same message with the same error.
        total = sum(utf16_length(message) * weight for message, weight in zip(messages, weights, strict=True))
    return js_round(total / count)


def average_message_length(messages: Sequence[str]) -> int:
    return _average_length("".join(messages), len(messages), messages, itertools.repeat(1, len(messages)))


def _marker_hits(markers: Iterable[str], texts: Sequence[str], weights: Sequence[int], vocabulary: str) -> int:
    """How many (weighted) texts contain each marker, summed over the markers."""
    hits = 0
    for marker in markers:
        # A marker without whitespace lies inside one word, so the few distinct words rule most out
        # at once instead of testing every text.
        if marker in vocabulary or marker in _SPACED_MARKERS:
            hits += sum(itertools.compress(weights, map(operator.contains, texts, itertools.repeat(marker))))
    return hits


def _exclamation_runs(texts: Sequence[str], weights: Sequence[int]) -> int:
    """Runs of "!" in the (weighted) texts; a separator that is not "!" keeps texts' runs apart."""
    glued = "".join(map(operator.mul, map(operator.add, texts, itertools.repeat("\n")), weights))
    # Halving every run until none is longer than one leaves one "!" per run.
    while "!!" in glued:
        glued = glued.replace("!!", "!")
    return glued.count("!")


def _tone(texts: Sequence[str], weights: Sequence[int]) -> ToneIndicators:
    vocabulary = "\n".join(set(" ".join(texts).split()))
    casual = _marker_hits(CASUAL_MARKERS, texts, weights, vocabulary)
    formal = _marker_hits(FORMAL_MARKERS, texts, weights, vocabulary)
    enthusiastic = _marker_hits(ENTHUSIASTIC_MARKERS, texts, weights, vocabulary)
    if "!" in vocabulary:
        enthusiastic += _exclamation_runs(texts, weights)
    total = (casual + formal + enthusiastic) or 1
    return {
        "casual": js_round(casual / total * 100),
        "formal": js_round(formal / total * 100),
        "enthusiastic": js_round(enthusiastic / total * 100),
    }


def tone_indicators(messages: Iterable[str]) -> ToneIndicators:
    """Share (0..100) of casual, formal and enthusiastic markers found in the messages."""
    distinct, weights = _weighted(messages)
    return _tone([m.lower() for m in distinct], weights)


def _analyze_weighted(distinct: list[str], weights: list[int]) -> StyleAnalysis:
    lowered = [message.lower() for message in distinct]
    glued = "".join(map(operator.mul, distinct, weights))
    return StyleAnalysis(
        common_phrases=_top_phrases(_phrase_counts(lowered, weights), MAX_PHRASES),
        emoji_usage=_top_emojis(glued, MAX_EMOJIS),
        average_message_length=_average_length(glued, sum(weights), distinct, weights),
        tone_indicators=_tone(lowered, weights),
    )


def analyze(messages: Sequence[str]) -> StyleAnalysis:
    """The four features of §6.2 over ``messages`` (any order)."""
    return _analyze_weighted(*_weighted(messages))


def _recency_bounds(n: int) -> tuple[int, int]:
    """Where, among ``n`` messages oldest first, the twice- and the three-times-counted ones start."""
    return math.floor(n * 0.5), math.floor(n * 0.8)


def recency_weighted(messages_oldest_first: Sequence[str]) -> list[str]:
    """Group weighting: the oldest 50% once, the next 30% twice, the newest 20% three times."""
    once, twice = _recency_bounds(len(messages_oldest_first))
    weighted: list[str] = []
    for index, message in enumerate(messages_oldest_first):
        copies = 1 if index < once else 2 if index < twice else 3
        weighted.extend([message] * copies)
    return weighted


def analyze_group(messages_oldest_first: Sequence[str]) -> StyleAnalysis:
    """``analyze(recency_weighted(messages_oldest_first))``, without making the copies."""
    once, twice = _recency_bounds(len(messages_oldest_first))
    weights: Counter[str] = Counter()
    for index, message in enumerate(messages_oldest_first):
        weights[message] += 1 if index < once else 2 if index < twice else 3
    return _analyze_weighted(list(weights), list(weights.values()))


def member_contributions(sender_ids: Iterable[str]) -> dict[str, int]:
    """Unweighted number of messages per sender."""
    return dict(Counter(sender_ids))


def _tone_labels(tone: ToneIndicators) -> list[str]:
    scores = (("casual", tone["casual"]), ("formal", tone["formal"]), ("enthusiastic", tone["enthusiastic"]))
    return [name for name, score in scores if int(score) > TONE_LABEL_THRESHOLD]


def _feature_lines(analysis: StyleAnalysis, *, who: str, possessive: str) -> list[str]:
    lines: list[str] = []
    if analysis.common_phrases:
        quoted = ", ".join(f'"{phrase}"' for phrase in analysis.common_phrases)
        lines.append(f"Phrases {who} often use: {quoted}")
    if analysis.emoji_usage:
        emojis = list(analysis.emoji_usage.items())[:PROMPT_EMOJIS]
        lines.append(f"Emojis {who} use (with counts): " + ", ".join(f"{e} ({n})" for e, n in emojis))
    if analysis.average_message_length:
        lines.append(f"{possessive} average message length: about {analysis.average_message_length} characters")
    labels = _tone_labels(analysis.tone_indicators)
    if labels:
        lines.append(f"{possessive} tone: " + ", ".join(labels))
    return lines


def friend_style_prompt(analysis: StyleAnalysis) -> str:
    """The system prompt that makes a model write like one user."""
    lines = [
        "You are imitating the chat style of one specific user. Write exactly the way they write.",
        *_feature_lines(analysis, who="they", possessive="Their"),
        "Reply to the next message in this user's style: naturally and conversationally, like a friend "
        "texting back, never like an assistant. Keep it about as long as their messages usually are.",
    ]
    return "\n".join(lines)


def group_style_prompt(analysis: StyleAnalysis, member_names: Sequence[str]) -> str:
    """The system prompt that makes a model write like a group's members."""
    names = [name for name in member_names if name]
    lines = ["You are an AI member of a group chat, imitating the collective chat style of the group."]
    if names:
        lines.append(f"{len(names)} members have been chatting: " + ", ".join(names))
    lines.extend(_feature_lines(analysis, who="the members", possessive="The group's"))
    lines.append(
        "Answer as one more member of this group would: naturally, conversationally and in the group's "
        "style, never like an assistant."
    )
    return "\n".join(lines)
