"""Engine.IO v4 packet codec: pure functions, no I/O.

Wire format (engine.io-protocol v4):

- A text packet is its type digit followed by its data: ``0{...}`` (OPEN), ``1`` (CLOSE),
  ``2`` / ``2probe`` (PING), ``3`` / ``3probe`` (PONG), ``4hello`` (MESSAGE), ``5`` (UPGRADE),
  ``6`` (NOOP).
- A binary MESSAGE travels as a raw binary WebSocket frame (no type prefix), or, where only text
  can travel (long-polling), as ``b`` followed by its standard base64 encoding.
- A long-polling body ("payload") is a list of packets joined by the record separator ``\\x1e``.

Everything malformed raises `CodecError`; nothing else escapes the decoders.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass

RECORD_SEPARATOR = "\x1e"
"""Separates the packets of a long-polling payload."""

BASE64_PREFIX = "b"
"""Marks a binary MESSAGE encoded as base64 text (long-polling)."""


class CodecError(ValueError):
    """Anything malformed, in either codec (sio.py imports and raises it)."""


class EioType(enum.IntEnum):
    OPEN = 0
    CLOSE = 1
    PING = 2
    PONG = 3
    MESSAGE = 4
    UPGRADE = 5
    NOOP = 6


_NO_DATA_TYPES = frozenset({EioType.CLOSE, EioType.UPGRADE, EioType.NOOP})
"""Types whose packets never carry data: ``1x``, ``5x`` or ``6x`` is malformed."""

_TYPE_BY_CHAR = {str(int(t)): t for t in EioType}


@dataclass(frozen=True, slots=True)
class EioPacket:
    type: EioType
    data: str | bytes | None = None  # bytes only for binary MESSAGE

    @property
    def binary(self) -> bool:
        return isinstance(self.data, bytes)


def encode_packet(packet: EioPacket, *, b64: bool = False) -> str | bytes:
    """One packet as it goes over the wire.

    WebSocket (``b64=False``): text packets become ``"4hello"``, ``"2probe"``, ``"3"``, ``"6"``;
    a binary MESSAGE becomes the raw bytes. Long-polling (``b64=True``): a binary MESSAGE becomes
    ``"b" + base64``.
    """
    data = packet.data
    if isinstance(data, bytes | bytearray | memoryview):
        if packet.type is not EioType.MESSAGE:
            raise CodecError(f"binary data on a {packet.type.name} packet")
        raw = bytes(data)
        if b64:
            return BASE64_PREFIX + base64.b64encode(raw).decode("ascii")
        return raw
    if data is None:
        return str(int(packet.type))
    if not isinstance(data, str):
        raise CodecError(f"packet data must be str, bytes or None, not {type(data).__name__}")
    if data and packet.type in _NO_DATA_TYPES:
        raise CodecError(f"a {packet.type.name} packet carries no data")
    return str(int(packet.type)) + data


def decode_packet(data: str | bytes | bytearray | memoryview) -> EioPacket:
    """One packet from the wire: text (``"4hello"``, ``"bAQID"``) or a binary frame (bytes)."""
    if isinstance(data, bytes | bytearray | memoryview):
        return EioPacket(EioType.MESSAGE, bytes(data))
    if not isinstance(data, str):
        raise CodecError(f"cannot decode a {type(data).__name__}")
    if not data:
        raise CodecError("empty packet")
    head = data[0]
    if head == BASE64_PREFIX:
        encoded = data[1:]
        try:
            if len(encoded) % 4:
                raise ValueError("length is not a multiple of 4")
            raw = binascii.a2b_base64(encoded.encode("ascii"), strict_mode=True)
        except (UnicodeEncodeError, binascii.Error, ValueError) as exc:
            raise CodecError("invalid base64 in a binary packet") from exc
        return EioPacket(EioType.MESSAGE, raw)
    packet_type = _TYPE_BY_CHAR.get(head)
    if packet_type is None:
        raise CodecError(f"unknown packet type {head!r}")
    rest = data[1:]
    if packet_type is EioType.MESSAGE:
        return EioPacket(packet_type, rest)
    if not rest:
        return EioPacket(packet_type)
    if packet_type in _NO_DATA_TYPES:
        raise CodecError(f"a {packet_type.name} packet carries no data")
    return EioPacket(packet_type, rest)


def encode_payload(packets: Sequence[EioPacket]) -> str:
    """A long-polling response body: the packets joined by ``\\x1e``, binary ones as base64.

    A text packet whose data contains ``\\x1e`` cannot be framed and raises `CodecError`
    (Socket.IO packets never contain it: JSON escapes control characters).
    """
    parts: list[str] = []
    for packet in packets:
        encoded = encode_packet(packet, b64=True)
        assert isinstance(encoded, str)  # b64=True always yields text
        if RECORD_SEPARATOR in encoded:
            raise CodecError("a text packet in a payload cannot contain the record separator")
        parts.append(encoded)
    return RECORD_SEPARATOR.join(parts)


def decode_payload(body: str, *, max_packets: int) -> list[EioPacket]:
    """The packets of a long-polling request body; more than ``max_packets`` raises `CodecError`."""
    if not isinstance(body, str):
        raise CodecError(f"cannot decode a {type(body).__name__} payload")
    if body.count(RECORD_SEPARATOR) >= max_packets:
        raise CodecError(f"more than {max_packets} packets in one payload")
    return [decode_packet(part) for part in body.split(RECORD_SEPARATOR)]


def open_packet(*, sid: str, upgrades: list[str], ping_interval: int, ping_timeout: int, max_payload: int) -> EioPacket:
    """The OPEN packet of a new session: ``0{"sid":…,"upgrades":[…],"pingInterval":…,…}``."""
    handshake = {
        "sid": sid,
        "upgrades": list(upgrades),
        "pingInterval": int(ping_interval),
        "pingTimeout": int(ping_timeout),
        "maxPayload": int(max_payload),
    }
    return EioPacket(EioType.OPEN, json.dumps(handshake, separators=(",", ":"), ensure_ascii=False))
