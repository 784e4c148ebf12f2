"""Timestamps on the wire: ISO-8601 UTC with milliseconds and a `Z` (what a JS Date serializes to)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_z(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def iso_z_or_none(value: datetime | None) -> str | None:
    return None if value is None else iso_z(value)
