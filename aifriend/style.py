"""Chat-style analysis (contract §6.2): pure functions from message texts to a style description.

Nothing here touches the database or the network. The services feed in the most recent messages
(bounded) and store the result; the providers read it back.

Four features are extracted: the phrases a writer repeats, their emoji habits, how long their
messages are, and a rough tone (casual / formal / enthusiastic). The group variant weights recent
messages more heavily before running the same analysis.
"""

from __future__ import annotations

import math
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

_EXCLAMATION_RUN = re.compile(r"!+")


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


def common_phrases(messages: Iterable[str], *, limit: int = MAX_PHRASES) -> list[str]:
    """Two- to four-word windows (lower-cased) seen at least twice, most frequent first."""
    counts: Counter[str] = Counter()
    for message in messages:
        words = message.lower().split()
        for size in (2, 3, 4):
            for start in range(len(words) - size + 1):
                phrase = " ".join(words[start : start + size])
                if len(phrase) > 5 and phrase not in STOP_PHRASES:
                    counts[phrase] += 1
    # Counter.most_common keeps first-seen order among equal counts (a stable sort).
    return [phrase for phrase, count in counts.most_common() if count >= 2][:limit]


def emoji_usage(messages: Iterable[str], *, limit: int = MAX_EMOJIS) -> dict[str, int]:
    """Emoji code point -> count, the ``limit`` most used, most used first."""
    counts: Counter[str] = Counter(char for message in messages for char in message if is_emoji(char))
    return dict(counts.most_common(limit))


def average_message_length(messages: Sequence[str]) -> int:
    if not messages:
        return 0
    return js_round(sum(utf16_length(m) for m in messages) / len(messages))


def tone_indicators(messages: Iterable[str]) -> ToneIndicators:
    """Share (0..100) of casual, formal and enthusiastic markers found in the messages."""
    casual = formal = enthusiastic = 0
    for message in messages:
        text = message.lower()
        casual += sum(1 for marker in CASUAL_MARKERS if marker in text)
        formal += sum(1 for marker in FORMAL_MARKERS if marker in text)
        enthusiastic += sum(1 for marker in ENTHUSIASTIC_MARKERS if marker in text)
        enthusiastic += len(_EXCLAMATION_RUN.findall(text))
    total = (casual + formal + enthusiastic) or 1
    return {
        "casual": js_round(casual / total * 100),
        "formal": js_round(formal / total * 100),
        "enthusiastic": js_round(enthusiastic / total * 100),
    }


def analyze(messages: Sequence[str]) -> StyleAnalysis:
    """The four features of §6.2 over ``messages`` (any order)."""
    return StyleAnalysis(
        common_phrases=common_phrases(messages),
        emoji_usage=emoji_usage(messages),
        average_message_length=average_message_length(messages),
        tone_indicators=tone_indicators(messages),
    )


def recency_weighted(messages_oldest_first: Sequence[str]) -> list[str]:
    """Group weighting: the oldest 50% once, the next 30% twice, the newest 20% three times."""
    n = len(messages_oldest_first)
    once, twice = math.floor(n * 0.5), math.floor(n * 0.8)
    weighted: list[str] = []
    for index, message in enumerate(messages_oldest_first):
        copies = 1 if index < once else 2 if index < twice else 3
        weighted.extend([message] * copies)
    return weighted


def analyze_group(messages_oldest_first: Sequence[str]) -> StyleAnalysis:
    return analyze(recency_weighted(messages_oldest_first))


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
