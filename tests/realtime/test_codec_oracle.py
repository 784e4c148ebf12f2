"""Cross-check of our codecs against python-engineio / python-socketio's packet classes.

Their classes serve as an independent oracle: whatever we encode they decode to the same packet,
and whatever they encode we decode to the same packet. Where they are more lenient than the
protocol (and than the reference Node parser), `test_known_divergences` pins the difference.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
from engineio import packet as eio_oracle
from engineio import payload as eio_payload_oracle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from socketio import packet as sio_oracle

from retrochat.realtime.eio import (
    CodecError,
    EioPacket,
    decode_packet,
    decode_payload,
    encode_packet,
    encode_payload,
)
from retrochat.realtime.sio import BinaryAssembler, SioPacket, SioType, decode, dumps, encode

from .codec_strategies import (
    MAX_GENERATED_ATTACHMENTS,
    SURROGATES,
    eio_packets,
    expected_after_round_trip,
    json_values,
    normalized,
    sio_packets,
)

ORACLE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------------------------
# Engine.IO


def same_eio_packet(ours: EioPacket, theirs: Any) -> bool:
    """Their Packet means the same as ours.

    python-engineio JSON-decodes the text of a packet when it can (``4{"a":1}`` → dict, ``4null`` →
    None) and reads a missing payload as ``""``; Engine.IO itself treats the text as opaque, which
    is what we do. Both readings are accepted here as long as they agree on the text.
    """
    if theirs.packet_type != int(ours.type):
        return False
    if isinstance(ours.data, bytes):
        return bool(theirs.binary) and theirs.data == ours.data
    text = ours.data or ""
    if isinstance(theirs.data, str) and theirs.data == text:
        return True
    try:
        # compared as re-serialized JSON so that their NaN (from "4NaN") equals ours
        return json.dumps(json.loads(text)) == json.dumps(theirs.data)
    except ValueError:
        return False


@ORACLE
@given(eio_packets(), st.booleans())
def test_eio_our_packets_decode_the_same_in_theirs(packet: EioPacket, b64: bool) -> None:
    wire = encode_packet(packet, b64=b64)
    theirs = eio_oracle.Packet(encoded_packet=wire)
    assert same_eio_packet(packet, theirs)


@ORACLE
@given(eio_packets(), st.booleans())
def test_eio_their_packets_decode_the_same_in_ours(packet: EioPacket, b64: bool) -> None:
    theirs = eio_oracle.Packet(int(packet.type), packet.data)
    wire = theirs.encode(b64=b64)
    assert decode_packet(wire) == packet


@ORACLE
@given(st.lists(eio_packets(), min_size=1, max_size=16))
def test_eio_payloads_agree_both_ways(packets: list[EioPacket]) -> None:
    body = encode_payload(packets)
    theirs = eio_payload_oracle.Payload(encoded_payload=body)
    assert len(theirs.packets) == len(packets)
    assert all(same_eio_packet(ours, their) for ours, their in zip(packets, theirs.packets, strict=True))

    their_body = eio_payload_oracle.Payload(packets=[eio_oracle.Packet(int(p.type), p.data) for p in packets]).encode()
    assert their_body == body
    assert decode_payload(their_body, max_packets=16) == packets


# ----------------------------------------------------------------------------------------------
# Socket.IO


def their_decode(frames: list[str | bytes]) -> Any:
    text, *attachments = frames
    theirs = sio_oracle.Packet(encoded_packet=text)
    assert theirs.attachment_count == len(attachments)
    for i, attachment in enumerate(attachments):
        assert theirs.add_attachment(attachment) == (i == len(attachments) - 1)
    return theirs


@ORACLE
@given(sio_packets())
def test_sio_our_packets_decode_the_same_in_theirs(packet: SioPacket) -> None:
    theirs = their_decode(encode(packet))
    expected = expected_after_round_trip(packet)
    assert theirs.packet_type == int(expected.type)
    assert (theirs.namespace or "/") == expected.namespace
    assert theirs.id == expected.id
    assert normalized(theirs.data) == expected.data


@ORACLE
@given(sio_packets())
def test_sio_their_packets_decode_the_same_in_ours(packet: SioPacket) -> None:
    theirs = sio_oracle.Packet(int(packet.type), packet.data, namespace=packet.namespace, id=packet.id)
    encoded = theirs.encode()
    frames: list[Any] = encoded if isinstance(encoded, list) else [encoded]
    ours = decode(frames[0], max_attachments=MAX_GENERATED_ATTACHMENTS)
    if len(frames) > 1:
        assembler = BinaryAssembler(ours)
        for attachment in frames[1:]:
            result = assembler.add(attachment)
        assert result is not None
        ours = result
    ours.data = normalized(ours.data)
    assert ours == expected_after_round_trip(packet)


@pytest.mark.parametrize(
    "wire",
    [
        "0",
        "0/admin,",
        '0/admin,{"sid":"x"}',
        "0/custom",
        '2["ev",1]',
        '212["ev"]',
        "3/ns,5[1]",
        '51-["ev",{"_placeholder":true,"num":0}]',
        '61-/admin,13[{"_placeholder":true,"num":0}]',
        "1",
        "1/ns,",
        '4{"message":"Invalid namespace"}',
    ],
)
def test_sio_spec_examples_decode_alike(wire: str) -> None:
    ours = decode(wire)
    theirs = sio_oracle.Packet(encoded_packet=wire)
    assert (int(ours.type), ours.namespace, ours.id, ours.data, ours.attachments) == (
        theirs.packet_type,
        theirs.namespace or "/",
        theirs.id,
        theirs.data,
        theirs.attachment_count,
    )


# ----------------------------------------------------------------------------------------------
# Where they are lax and we are strict (per the protocol specs and the reference Node parser)


def eio_oracle_accepts(wire: str) -> bool:
    try:
        eio_oracle.Packet(encoded_packet=wire)
    except (ValueError, IndexError):
        return False
    return True


def sio_oracle_accepts(wire: str) -> bool:
    try:
        sio_oracle.Packet(encoded_packet=wire)
    except (ValueError, IndexError):
        return False
    return True


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        ("1x", "CLOSE carries no data"),
        ("6noop", "NOOP carries no data"),
        ("bAQ ID BA==", "python-engineio's base64 decoding drops characters outside the alphabet"),
        ("bAQIDBA==AA==", "python-engineio ignores what follows the base64 padding"),
        ("bAAAA=", "python-engineio accepts excess base64 padding"),
    ],
)
def test_known_divergences_engineio(wire: str, why: str) -> None:
    assert eio_oracle_accepts(wire), why
    with pytest.raises(CodecError):
        decode_packet(wire)


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        ("2", "an EVENT needs a non-empty array payload"),
        ("2[]", "an EVENT needs an event name"),
        ("2[1]", "an event name is a string"),
        ('2["connect"]', "reserved event names are refused by the reference parser"),
        ("3[1]", "an ACK needs an ack id"),
        ('31{"a":1}', "an ACK payload is an array"),
        ("0[1]", "a CONNECT payload is an object"),
        ("1{}", "a DISCONNECT has no payload"),
        ('201["ev"]', "no leading zero in an ack id"),
        ('51-["ev"]', "placeholders must match the attachment count"),
        ('51-["ev",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}]', "placeholders used once"),
        ('50-["ev"]', "a binary packet has attachments"),
        ('2["ev",NaN]', "NaN is not JSON"),
        ('2 ["ev"]', "no whitespace where an ack id or namespace belongs"),
        ('2/n\x00s,["ev"]', "no control characters in a namespace"),
    ],
)
def test_known_divergences_socketio(wire: str, why: str) -> None:
    assert sio_oracle_accepts(wire), why
    with pytest.raises(CodecError):
        decode(wire)


def test_known_divergence_query_in_namespace() -> None:
    # python-socketio drops a "?query" from the namespace (a Socket.IO v2 habit); in v5 the
    # namespace is the whole string up to the comma, and that is what we keep.
    assert sio_oracle.Packet(encoded_packet='2/ns?x=1,["ev"]').namespace == "/ns"
    assert decode('2/ns?x=1,["ev"]').namespace == "/ns?x=1"


def test_known_divergence_json_formatting() -> None:
    # python-socketio writes JSON with ASCII escapes and Python's float format; we write it like
    # JSON.stringify. Both decode to the same values.
    theirs = sio_oracle.Packet(sio_oracle.EVENT, ["é", 1e16, 1.0]).encode()
    assert theirs == '2["\\u00e9",1e+16,1.0]'
    assert encode(SioPacket(SioType.EVENT, data=["é", 1e16, 1.0])) == ['2["é",10000000000000000,1]']
    assert normalized(decode(theirs).data) == normalized(["é", 1e16, 1.0])


# ----------------------------------------------------------------------------------------------
# JSON.stringify itself as the oracle for dumps (needs node)


NODE = shutil.which("node")


@pytest.mark.node
@pytest.mark.skipif(NODE is None, reason="node is not installed")
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    st.lists(
        json_values(),
        min_size=40,
        max_size=60,
    ),
    st.lists(st.text(st.characters(categories=SURROGATES), min_size=1, max_size=3), max_size=5),
)
def test_dumps_matches_node_json_stringify(values: list[Any], lone_surrogates: list[str]) -> None:
    assert NODE is not None
    values = [strip_index_keys(value) for value in values] + lone_surrogates
    # Python's own JSON (ASCII escapes, repr floats) is parsed by node and re-written by JSON.stringify;
    # ASCII-only input, so reading stdin in chunks cannot split a character.
    source = json.dumps([json.dumps(value) for value in values])
    script = (
        "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{"
        "process.stdout.write(JSON.parse(s).map(t=>JSON.stringify(JSON.parse(t))).join('\\n'))})"
    )
    out = subprocess.run([NODE, "-e", script], input=source.encode(), capture_output=True, check=True, timeout=30)
    expected = out.stdout.decode("utf-8").split("\n")
    assert [dumps(value) for value in values] == expected


def strip_index_keys(value: Any) -> Any:
    """JS objects put integer-like keys first whatever the insertion order; leave those out."""
    if isinstance(value, list):
        return [strip_index_keys(item) for item in value]
    if isinstance(value, dict):
        return {key: strip_index_keys(item) for key, item in value.items() if not is_index_key(key)}
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return float(value)  # beyond 2**53 JS holds the nearest double
    return value


def is_index_key(key: str) -> bool:
    return key.isascii() and key.isdigit() and (key == "0" or not key.startswith("0")) and int(key) < 2**32 - 1
