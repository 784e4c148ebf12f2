"""Fuzzing both codecs: random input never raises anything but CodecError; valid packets round-trip."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrochat.realtime.eio import (
    CodecError,
    EioPacket,
    EioType,
    decode_packet,
    decode_payload,
    encode_packet,
    encode_payload,
)
from retrochat.realtime.sio import BinaryAssembler, SioPacket, SioType, decode, dumps, encode, loads

from .codec_strategies import (
    MAX_GENERATED_ATTACHMENTS,
    SURROGATES,
    TEXT_CHARS,
    eio_packets,
    expected_after_round_trip,
    json_values,
    normalized,
    sio_packets,
)

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

any_text = st.text(max_size=64)  # surrogates included: decoders take whatever str they are given

# Fragments that steer random packets into the decoder's deeper branches.
SIO_FRAGMENTS = st.sampled_from(
    [
        *"0123456789",
        "-",
        "/",
        ",",
        "/ns",
        "/ns,",
        "[",
        "]",
        "{",
        "}",
        '"ev"',
        '"connect"',
        ":",
        "null",
        "true",
        '"_placeholder"',
        '{"_placeholder":true,"num":0}',
        '{"_placeholder":true,"num":1}',
        '"num"',
        "NaN",
        " ",
        "\x00",
        "é",
        "\ud800",
    ]
)
sio_like = st.lists(SIO_FRAGMENTS, max_size=16).map("".join)
eio_like = st.tuples(st.sampled_from([*"0123456789b", ""]), st.text(max_size=16)).map("".join)


def json_text() -> st.SearchStrategy[str]:
    return json_values().map(dumps)


@st.composite
def sio_texts(draw: st.DrawFn) -> str:
    """Headers assembled from plausible parts around a (possibly invalid) JSON payload."""
    parts = [
        draw(st.sampled_from("0123456")),
        draw(st.sampled_from(["", "1-", "2-", "0-", "-", "01-", "11-"])),
        draw(st.sampled_from(["", "/", "/ns", "/ns,", "/a/b,", ","])),
        draw(st.sampled_from(["", "0", "1", "12", "007", "99999999999"])),
        draw(json_text() | sio_like | st.sampled_from(['["ev",{"_placeholder":true,"num":0}]', "[]", "{}"])),
    ]
    return "".join(parts)


def assert_sio_decode_is_total(text: str) -> None:
    try:
        packet = decode(text)
    except CodecError:
        return
    assert isinstance(packet.type, SioType)
    assert isinstance(packet.namespace, str)
    assert packet.namespace.startswith("/")
    assert packet.id is None or packet.id >= 0
    if packet.type in (SioType.BINARY_EVENT, SioType.BINARY_ACK):
        assembler = BinaryAssembler(packet)  # a decoded header is always consistent
        result = None
        for i in range(packet.attachments):
            result = assembler.add(bytes([i]))
        assert result is not None
        assert result.type is packet.type
    else:
        # re-encoding a decoded packet gives text that decodes to the same packet
        (again,) = encode(packet)
        assert isinstance(again, str)
        assert normalized(decode(again).data) == normalized(packet.data)


# ----------------------------------------------------------------------------------------------
# Random input: CodecError or a packet, nothing else


@FUZZ
@given(any_text | eio_like)
def test_eio_decode_packet_text_raises_only_codec_error(text: str) -> None:
    try:
        packet = decode_packet(text)
    except CodecError:
        return
    assert isinstance(packet.type, EioType)


@FUZZ
@given(st.binary(max_size=64))
def test_eio_decode_packet_bytes_is_a_binary_message(data: bytes) -> None:
    assert decode_packet(data) == EioPacket(EioType.MESSAGE, data)


@FUZZ
@given(st.lists(any_text | eio_like, max_size=6).map("\x1e".join), st.integers(min_value=1, max_value=8))
def test_eio_decode_payload_raises_only_codec_error(body: str, max_packets: int) -> None:
    try:
        packets = decode_payload(body, max_packets=max_packets)
    except CodecError:
        return
    assert 1 <= len(packets) <= max_packets


@FUZZ
@given(any_text | sio_like)
def test_sio_decode_random_text_raises_only_codec_error(text: str) -> None:
    assert_sio_decode_is_total(text)


@FUZZ
@given(sio_texts())
def test_sio_decode_structured_text_raises_only_codec_error(text: str) -> None:
    assert_sio_decode_is_total(text)


@FUZZ
@given(
    any_text | sio_texts(),
    st.integers(min_value=0, max_value=12),
    st.integers(min_value=0, max_value=12),
    st.integers(min_value=0, max_value=12),
)
def test_sio_decode_with_any_limits_raises_only_codec_error(text: str, ack: int, att: int, nsp: int) -> None:
    try:
        packet = decode(text, max_ack_id_digits=ack, max_attachments=att, max_namespace_length=nsp)
    except CodecError:
        return
    assert packet.id is None or len(str(packet.id)) <= ack
    assert packet.attachments <= att
    assert len(packet.namespace) <= max(nsp, 1)


@FUZZ
@given(st.lists(st.one_of(st.binary(max_size=4), st.text(max_size=4), st.none(), st.integers()), max_size=5))
def test_binary_assembler_raises_only_codec_error(items: list[Any]) -> None:
    assembler = BinaryAssembler(decode('52-["ev",{"_placeholder":true,"num":1},[{"_placeholder":true,"num":0}]]'))
    accepted: list[bytes] = []
    for item in items:
        try:
            result = assembler.add(item)
        except CodecError:
            assert not isinstance(item, bytes) or len(accepted) == 2
            continue
        assert isinstance(item, bytes)
        accepted.append(item)
        if len(accepted) < 2:
            assert result is None
        else:
            assert result == SioPacket(SioType.BINARY_EVENT, "/", ["ev", accepted[1], [accepted[0]]], None, 2)


@FUZZ
@given(any_text | json_text())
def test_loads_raises_only_codec_error(text: str) -> None:
    with contextlib.suppress(CodecError):
        loads(text)


# ----------------------------------------------------------------------------------------------
# Valid packets: encode → decode gives them back


@FUZZ
@given(eio_packets(framable=False), st.booleans())
def test_eio_packet_round_trip(packet: EioPacket, b64: bool) -> None:
    wire = encode_packet(packet, b64=b64)
    assert isinstance(wire, bytes) == (isinstance(packet.data, bytes) and not b64)
    assert decode_packet(wire) == packet


@FUZZ
@given(st.lists(eio_packets(), min_size=1, max_size=8))
def test_eio_payload_round_trip(packets: list[EioPacket]) -> None:
    body = encode_payload(packets)
    assert decode_payload(body, max_packets=len(packets)) == packets
    if len(packets) > 1:
        try:
            decode_payload(body, max_packets=len(packets) - 1)
        except CodecError:
            pass
        else:
            raise AssertionError("payload over max_packets accepted")


@FUZZ
@given(sio_packets())
def test_sio_packet_round_trip_with_nested_binary(packet: SioPacket) -> None:
    text, *attachments = encode(packet)
    assert isinstance(text, str)
    assert all(isinstance(attachment, bytes) for attachment in attachments)
    decoded = decode(text, max_attachments=MAX_GENERATED_ATTACHMENTS)
    if attachments:
        assembler = BinaryAssembler(decoded)
        results = [assembler.add(attachment) for attachment in attachments]  # type: ignore[arg-type]
        assert results[:-1] == [None] * (len(results) - 1)
        assembled = results[-1]
        assert assembled is not None
        decoded = assembled
    decoded.data = normalized(decoded.data)
    assert decoded == expected_after_round_trip(packet)


@FUZZ
@given(sio_packets(binary=False))
def test_sio_text_packet_encoding_is_canonical(packet: SioPacket) -> None:
    (text,) = encode(packet)
    assert isinstance(text, str)
    assert encode(decode(text)) == [text]


@FUZZ
@given(json_values())
def test_dumps_loads_round_trip(value: Any) -> None:
    text = dumps(value)
    assert "\x1e" not in text  # can always be framed in a polling payload
    text.encode("utf-8")  # always valid UTF-8 on the wire
    assert normalized(loads(text)) == normalized(value)


@FUZZ
@given(st.text(st.characters(categories=SURROGATES) | TEXT_CHARS, max_size=8))
def test_dumps_of_any_str_is_valid_utf8_json(value: str) -> None:
    text = dumps(value)
    text.encode("utf-8")
    decoded = loads(text)
    # pairs of surrogates held as two code units come back as the one character they encode
    assert decoded.encode("utf-16-le", "surrogatepass") == value.encode("utf-16-le", "surrogatepass")
