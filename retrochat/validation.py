"""Input rules shared by every way a user writes text (direct, group and AI messages)."""

from __future__ import annotations

from retrochat.errors import BadRequest

MESSAGE_MAX_LENGTH = 2000


def clean_text(
    content: object,
    *,
    max_length: int = MESSAGE_MAX_LENGTH,
    empty: str = "Message content cannot be empty",
    too_long: str = "Message content must be shorter than or equal to {max_length} characters",
) -> str:
    """``content`` trimmed, 1..``max_length`` characters, or a 400 with the given wording.

    Text that cannot be stored (a lone UTF-16 surrogate, which JSON escapes can carry) is refused
    here, alone: found later, it would fail the whole batched insert it shares with other users.
    """
    if not isinstance(content, str):
        raise BadRequest("content must be a string")
    if not content.isascii():
        try:
            content.encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest("content must be valid Unicode text (no unpaired surrogates)") from None
    text = content.strip()
    if not text:
        raise BadRequest(empty)
    if len(text) > max_length:
        raise BadRequest(too_long.format(max_length=max_length))
    return text
