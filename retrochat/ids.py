"""Identifiers for rows created in bulk."""

from __future__ import annotations

import os
import uuid


def new_uuid4s(count: int) -> list[uuid.UUID]:
    """``count`` random (version 4) UUIDs from ONE read of the system's random source.

    ``uuid.uuid4`` reads the random source once per id, a system call each: in a batched insert
    of a few hundred rows that was the single largest cost of building the rows.
    """
    raw = os.urandom(16 * count)
    return [uuid.UUID(bytes=raw[start : start + 16], version=4) for start in range(0, 16 * count, 16)]
