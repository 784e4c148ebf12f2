"""Style analysis (contract §6.2): phrases, emoji, average length, tone, group weighting, prompts."""

from __future__ import annotations

import pytest

from aifriend import style


def test_common_phrases_are_repeated_windows_of_two_to_four_words_most_frequent_first() -> None:
    messages = [
        "See You Later alligator",
        "see you later then",
        "ok see you later",
        "pizza time tonight",
        "pizza time again",
    ]
    phrases = style.common_phrases(messages)
    # "see you later" 3x, "see you" 3x, "you later" 3x, "pizza time" 2x; single occurrences dropped.
    assert phrases[:3] == ["see you", "you later", "see you later"]
    assert "pizza time" in phrases
    assert "later alligator" not in phrases
    assert all(len(p) > 5 for p in phrases)


def test_common_phrases_skip_stop_list_short_windows_and_keep_ten() -> None:
    messages = ["i am going to do it"] * 3 + [f"word{i} thing{i}" for i in range(20)] * 2
    phrases = style.common_phrases(messages)
    assert "i am" not in phrases  # stop phrase (and too short)
    assert "going to" not in phrases  # stop phrase
    assert "am going to" in phrases
    assert len(phrases) == 10
    # lower-cased, counted across messages
    assert style.common_phrases(["Big Deal", "big deal"]) == ["big deal"]
    assert style.common_phrases(["ab cd", "ab cd"]) == []  # "ab cd" is 5 characters: not longer than 5


def test_emoji_usage_counts_code_points_in_the_contract_ranges_most_used_first() -> None:
    usage = style.emoji_usage(["lol 😂😂", "nice 🔥", "😂 ☀ ✨", "plain text ©"])
    assert usage == {"😂": 3, "🔥": 1, "☀": 1, "✨": 1}
    assert list(usage) == ["😂", "🔥", "☀", "✨"]
    many = style.emoji_usage([chr(0x1F600 + i) * (i + 1) for i in range(25)])
    assert len(many) == 20
    assert next(iter(many)) == chr(0x1F600 + 24)


def test_average_length_counts_utf16_units_and_rounds_half_up() -> None:
    assert style.average_message_length([]) == 0
    assert style.average_message_length(["ab", "abc"]) == 3  # 2.5 rounds up like Math.round
    assert style.average_message_length(["😂"]) == 2  # outside the BMP: two UTF-16 units
    assert style.average_message_length(["hello", "hi"]) == 4  # 3.5 -> 4


def test_tone_is_integer_percentages_of_marker_hits() -> None:
    tone = style.tone_indicators(["lol haha", "However, regarding the plan", "awesome!!"])
    # casual: lol, haha -> 2; formal: however, regarding -> 2; enthusiastic: "!", "!!", awesome, one "!" run -> 4
    assert tone == {"casual": 25, "formal": 25, "enthusiastic": 50}
    assert style.tone_indicators(["plain words only"]) == {"casual": 0, "formal": 0, "enthusiastic": 0}
    assert style.tone_indicators(["idk tbh"]) == {"casual": 100, "formal": 0, "enthusiastic": 0}


def test_group_weighting_repeats_recent_messages() -> None:
    messages = [f"m{i}" for i in range(10)]
    weighted = style.recency_weighted(messages)
    assert weighted.count("m0") == 1
    assert weighted.count("m4") == 1
    assert weighted.count("m5") == 2
    assert weighted.count("m7") == 2
    assert weighted.count("m8") == 3
    assert weighted.count("m9") == 3
    assert len(weighted) == 5 + 6 + 6
    # The weighting changes the result: the newest voice dominates the tone.
    group = style.analyze_group(["however therefore"] * 5 + ["lol"] * 3 + ["haha omg"] * 2)
    flat = style.analyze(["however therefore"] * 5 + ["lol"] * 3 + ["haha omg"] * 2)
    assert group.tone_indicators["casual"] > flat.tone_indicators["casual"]


def test_member_contributions_are_unweighted_counts() -> None:
    assert style.member_contributions(["a", "b", "a", "a"]) == {"a": 3, "b": 1}


def test_friend_prompt_lists_the_features_and_the_strong_tones() -> None:
    analysis = style.analyze(["lol see you later 😂", "lol see you later 😂", "haha ok"])
    prompt = style.friend_style_prompt(analysis)
    lines = prompt.split("\n")
    assert lines[0].startswith("You are imitating the chat style of one specific user")
    assert any('"see you later"' in line for line in lines)
    assert any("😂 (2)" in line for line in lines)
    assert any(line.startswith("Their average message length: about") for line in lines)
    assert "Their tone: casual" in lines
    assert "formal" not in prompt.split("Their tone:")[1].split("\n")[0]
    assert lines[-1].startswith("Reply to the next message in this user's style")


def test_group_prompt_names_the_contributors() -> None:
    analysis = style.analyze(["yo team!!", "yo team!!"])
    prompt = style.group_style_prompt(analysis, ["Alice", "Bob", ""])
    assert prompt.startswith("You are an AI member of a group chat")
    assert "2 members have been chatting: Alice, Bob" in prompt
    assert '"yo team!!"' in prompt
    assert "The group's tone: enthusiastic" in prompt


def test_empty_input_gives_an_empty_analysis() -> None:
    analysis = style.analyze([])
    assert analysis == style.StyleAnalysis()
    assert style.friend_style_prompt(analysis).count("\n") == 1  # only the two instruction lines


# --- edge cases of the weighted, single-pass implementation -------------------------------------


def test_phrase_ties_keep_first_seen_order_pairs_then_triples_then_quads_per_message() -> None:
    messages = ["alpha beta gamma delta", "zeta eta", "zeta eta", "alpha beta gamma delta"]
    assert style.common_phrases(messages, limit=20) == [
        "alpha beta",
        "beta gamma",
        "gamma delta",
        "alpha beta gamma",
        "beta gamma delta",
        "alpha beta gamma delta",
        "zeta eta",
    ]
    # A more frequent phrase first seen later still comes first; the rest keep first-seen order.
    assert style.common_phrases(["red fox jumps", "blue sky", "red fox jumps", "blue sky", "blue sky"]) == [
        "blue sky",
        "red fox",
        "fox jumps",
        "red fox jumps",
    ]


def test_phrase_length_filter_applies_to_every_window_size() -> None:
    # "a b" (3 characters) and "a b c" (5) are too short; four words always make at least 7.
    assert style.common_phrases(["a b c d", "a b c d", "xy z", "xy z"]) == ["a b c d"]
    assert style.common_phrases(["A  B\tC\nD", "a b c d"]) == ["a b c d"]  # any whitespace separates words


def test_group_analysis_weights_each_distinct_message_like_the_copies_would() -> None:
    messages = [
        "However, regarding that",
        "LOL see you later 😂",
        "lol see you later 😂",
        "wow!!! great",
        "ok",
        "see you later!!",
        "😂🔥 yay!",
        "see you later!!",
        "Wow!!! great",
        "lol ☀",
    ]
    group = style.analyze_group(messages)
    assert group == style.analyze(style.recency_weighted(messages))
    assert group.common_phrases == [
        "see you",
        "wow!!! great",
        "you later!!",
        "see you later!!",
        "lol see",
        "you later",
        "later 😂",
        "lol see you",
        "see you later",
        "you later 😂",
    ]
    assert list(group.emoji_usage.items()) == [("😂", 4), ("☀", 3), ("🔥", 2)]
    assert group.average_message_length == 12
    assert group.tone_indicators == {"casual": 10, "formal": 4, "enthusiastic": 86}


def test_tone_counts_each_marker_once_per_message_and_every_exclamation_run() -> None:
    # 1: "!", "!!", "!!!", wow, yay + three runs = 8 enthusiastic; 2: lol once (inside "lollipop" too);
    # 3: "yeahaha" holds both "yeah" and "haha", "hahaha" adds nothing new -> 3 casual in all.
    assert style.tone_indicators(["wow!!! yay! !!", "lollipop lol", "hahaha yeahaha"]) == {
        "casual": 27,
        "formal": 0,
        "enthusiastic": 73,
    }
    # Runs do not join across a line break nor across messages: 3 + 4 hits.
    assert style.tone_indicators(["!\n!", "!!!!"]) == {"casual": 0, "formal": 0, "enthusiastic": 100}
    # Case does not matter: 2 casual, 1 formal, and "!" is both a marker and a run: 2 enthusiastic.
    assert style.tone_indicators(["LOL", "lol", "however!"]) == {"casual": 40, "formal": 20, "enthusiastic": 40}


def test_emoji_ties_keep_first_seen_order_and_the_limit_cuts_after_sorting() -> None:
    assert list(style.emoji_usage(["🔥 😂", "😂 🔥", "☀"]).items()) == [("🔥", 2), ("😂", 2), ("☀", 1)]
    assert style.emoji_usage(["a🔥", "b😂😂"], limit=1) == {"😂": 2}
    assert style.emoji_usage(["\u25ff\u2600\u27bf\u27c0\U0001f2ff\U0001f300\U0001f9ff\U0001fa00"]) == {
        "\u2600": 1,
        "\u27bf": 1,
        "\U0001f300": 1,
        "\U0001f9ff": 1,
    }


def test_a_lone_surrogate_fails_like_measuring_that_message_alone() -> None:
    with pytest.raises(UnicodeEncodeError) as failure:
        style.analyze(["fine", "bad \ud83d end", "fine"])
    with pytest.raises(UnicodeEncodeError) as alone:
        style.utf16_length("bad \ud83d end")
    assert str(failure.value) == str(alone.value)
