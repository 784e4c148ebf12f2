"""Timestamps on the wire: ISO-8601 UTC with milliseconds and a `Z` (what a JS Date serializes to)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_z(value: datetime) -> str:
    # isoformat is C code; strftime + f-string cost several times more on every message sent.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def iso_z_or_none(value: datetime | None) -> str | None:
    return None if value is None else iso_z(value)
