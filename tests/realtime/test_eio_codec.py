"""Engine.IO v4 codec: exact wire strings both ways (engine.io-protocol v4)."""

from __future__ import annotations

import pytest

from retrochat.realtime.eio import (
    CodecError,
    EioPacket,
    EioType,
    decode_packet,
    decode_payload,
    encode_packet,
    encode_payload,
    open_packet,
)

# (packet, WebSocket frame) — every packet type, as the spec writes them.
TEXT_PACKETS = [
    (EioPacket(EioType.OPEN, '{"sid":"abc"}'), '0{"sid":"abc"}'),
    (EioPacket(EioType.CLOSE), "1"),
    (EioPacket(EioType.PING), "2"),
    (EioPacket(EioType.PING, "probe"), "2probe"),
    (EioPacket(EioType.PONG), "3"),
    (EioPacket(EioType.PONG, "probe"), "3probe"),
    (EioPacket(EioType.MESSAGE, "hello"), "4hello"),
    (EioPacket(EioType.MESSAGE, ""), "4"),
    (EioPacket(EioType.MESSAGE, "€ 😀"), "4€ 😀"),
    (EioPacket(EioType.MESSAGE, '2["ev",{"a":1}]'), '42["ev",{"a":1}]'),
    (EioPacket(EioType.UPGRADE), "5"),
    (EioPacket(EioType.NOOP), "6"),
]


@pytest.mark.parametrize(("packet", "wire"), TEXT_PACKETS)
def test_text_packet_encodes_to_exact_wire_string(packet: EioPacket, wire: str) -> None:
    assert encode_packet(packet) == wire
    assert encode_packet(packet, b64=True) == wire  # text is the same on both transports


@pytest.mark.parametrize(("packet", "wire"), TEXT_PACKETS)
def test_text_packet_decodes_from_exact_wire_string(packet: EioPacket, wire: str) -> None:
    decoded = decode_packet(wire)
    assert decoded == packet
    assert type(decoded.type) is EioType


def test_binary_message_is_a_raw_frame_on_websocket() -> None:
    packet = EioPacket(EioType.MESSAGE, b"\x01\x02\x03\x04")
    encoded = encode_packet(packet)
    assert encoded == b"\x01\x02\x03\x04"
    assert isinstance(encoded, bytes)
    assert decode_packet(b"\x01\x02\x03\x04") == packet
    assert decode_packet(bytearray(b"\x01\x02")) == EioPacket(EioType.MESSAGE, b"\x01\x02")
    assert decode_packet(b"") == EioPacket(EioType.MESSAGE, b"")


def test_binary_message_is_b_base64_on_polling() -> None:
    # engine.io-protocol v4: "bAQIDBA==" is the binary message [1, 2, 3, 4]
    packet = EioPacket(EioType.MESSAGE, b"\x01\x02\x03\x04")
    assert encode_packet(packet, b64=True) == "bAQIDBA=="
    assert decode_packet("bAQIDBA==") == packet
    assert decode_packet("b") == EioPacket(EioType.MESSAGE, b"")
    assert encode_packet(EioPacket(EioType.MESSAGE, b""), b64=True) == "b"


def test_binary_data_only_on_message_packets() -> None:
    with pytest.raises(CodecError, match="binary data on a PING packet"):
        encode_packet(EioPacket(EioType.PING, b"x"))


@pytest.mark.parametrize("data", ["1x", "5probe", "6 "])
def test_data_on_types_that_carry_none_is_rejected_both_ways(data: str) -> None:
    with pytest.raises(CodecError, match="carries no data"):
        decode_packet(data)
    with pytest.raises(CodecError, match="carries no data"):
        encode_packet(EioPacket(EioType(int(data[0])), data[1:]))


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        ("", "empty packet"),
        ("7", "unknown packet type '7'"),
        ("9hello", "unknown packet type '9'"),
        ("x", "unknown packet type 'x'"),
        ("B", "unknown packet type 'B'"),
        ("٤hello", "unknown packet type"),  # an Arabic-Indic four is not a type digit
        ("bAQIDBA=", "invalid base64"),  # wrong padding
        ("bAQIDBA", "invalid base64"),  # missing padding
        ("bAQID BA==", "invalid base64"),  # not in the alphabet
        ("bAQIDBA==AA==", "invalid base64"),  # data after padding
        ("bA", "invalid base64"),
        ("béé==", "invalid base64"),
        ("bAAAA=", "invalid base64"),
    ],
)
def test_malformed_packets_raise_codec_error(wire: str, message: str) -> None:
    with pytest.raises(CodecError, match=message):
        decode_packet(wire)


def test_codec_error_is_a_value_error() -> None:
    assert issubclass(CodecError, ValueError)


def test_payload_joins_packets_with_record_separator_and_base64s_binary() -> None:
    packets = [
        EioPacket(EioType.MESSAGE, "hello"),
        EioPacket(EioType.MESSAGE, b"\x01\x02\x03\x04"),
        EioPacket(EioType.MESSAGE, "€"),
        EioPacket(EioType.PING),
    ]
    body = "4hello\x1ebAQIDBA==\x1e4€\x1e2"
    assert encode_payload(packets) == body
    assert decode_payload(body, max_packets=4) == packets
    assert encode_payload([EioPacket(EioType.NOOP)]) == "6"
    assert decode_payload("1", max_packets=1) == [EioPacket(EioType.CLOSE)]


def test_payload_with_more_than_max_packets_is_rejected() -> None:
    assert len(decode_payload("\x1e".join(["4a"] * 16), max_packets=16)) == 16
    with pytest.raises(CodecError, match="more than 16 packets"):
        decode_payload("\x1e".join(["4a"] * 17), max_packets=16)


@pytest.mark.parametrize("body", ["", "\x1e", "4a\x1e", "\x1e4a", "4a\x1e\x1e4b", "4a\x1e7"])
def test_payload_with_empty_or_bad_packet_is_rejected(body: str) -> None:
    with pytest.raises(CodecError):
        decode_payload(body, max_packets=16)


def test_payload_cannot_frame_a_text_packet_holding_the_separator() -> None:
    with pytest.raises(CodecError, match="record separator"):
        encode_payload([EioPacket(EioType.MESSAGE, "a\x1eb")])


def test_open_packet_has_exactly_the_handshake_keys_in_order() -> None:
    packet = open_packet(
        sid="lv_VI97HAXpY6yYWAAAC", upgrades=["websocket"], ping_interval=25000, ping_timeout=20000, max_payload=1000000
    )
    assert packet == EioPacket(
        EioType.OPEN,
        '{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,'
        '"maxPayload":1000000}',
    )
    assert encode_packet(packet) == (
        '0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,'
        '"maxPayload":1000000}'
    )
    ws = open_packet(sid="s", upgrades=[], ping_interval=300, ping_timeout=200, max_payload=1000000)
    assert ws.data == '{"sid":"s","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}'
