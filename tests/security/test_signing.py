"""Signed downlink (protocol.downlink, protocol.signing): what verifies, what not, who signs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.fire import FireRelease
from protocol.codec import decode
from protocol.downlink import (
    DownlinkSignatureError,
    DownlinkVerifier,
    KeyScope,
    SignatureReason,
)
from protocol.ids import new_event_id
from protocol.messages import (
    AllowlistDelta,
    AllowlistSnapshot,
    Command,
    CommandAction,
    RoomTelemetry,
    encode,
)
from protocol.signing import DownlinkSigner
from protocol.topics import Family, building_topic, device_topic
from server.allowlist import Published, publish
from tests.edge.helpers import snapshot

TOPIC = device_topic("b1", "b1-gate-in", Family.COMMAND)
SERVER = DownlinkSigner.generate("server")
GATEWAY = DownlinkSigner.generate("b1-gw")
VERIFIER = DownlinkVerifier([SERVER.trusted(KeyScope.ALL), GATEWAY.trusted(KeyScope.FIRE_RELEASE)])


def command(action: CommandAction = CommandAction.UNLOCK, device: str = "b1-gate-in") -> Command:
    now = datetime.now(UTC)
    return Command(
        id=new_event_id(),
        device=device,
        action=action,
        issued_at=now,
        expires_at=now + timedelta(minutes=1),
    )


def refusal(topic: str, payload: bytes) -> SignatureReason:
    with pytest.raises(DownlinkSignatureError) as info:
        VERIFIER.verify(topic, payload)
    return info.value.reason


def test_a_signed_command_verifies_and_still_decodes() -> None:
    payload = SERVER.sign(TOPIC, encode(command()))
    assert VERIFIER.verify(TOPIC, payload) == "server"
    decoded = decode(TOPIC, payload)
    assert isinstance(decoded, Command)
    assert decoded.sig is not None
    assert decoded.sig.kid == "server"


def test_tampering_with_any_byte_breaks_the_signature() -> None:
    payload = SERVER.sign(TOPIC, encode(command(CommandAction.LOCK)))
    tampered = payload.replace(b'"lock"', b'"unlock"')
    assert tampered != payload
    assert refusal(TOPIC, tampered) is SignatureReason.BAD_SIGNATURE


def test_a_signature_is_bound_to_its_topic() -> None:
    other = device_topic("b1", "b1-gate-out", Family.COMMAND)
    payload = SERVER.sign(TOPIC, encode(command()))
    assert refusal(other, payload) is SignatureReason.BAD_SIGNATURE


def test_unsigned_unknown_key_and_malformed_signatures_are_refused() -> None:
    body = encode(command())
    assert refusal(TOPIC, body) is SignatureReason.UNSIGNED
    assert refusal(TOPIC, b"") is SignatureReason.UNSIGNED
    assert refusal(TOPIC, b"not json") is SignatureReason.UNSIGNED
    stranger = DownlinkSigner.generate("stranger")
    assert refusal(TOPIC, stranger.sign(TOPIC, body)) is SignatureReason.UNKNOWN_KEY
    broken = body[:-1] + b',"sig":{"kid":"server","value":"short"}}'
    assert refusal(TOPIC, broken) is SignatureReason.MALFORMED


def test_the_gateway_key_signs_fire_release_only() -> None:
    fire = GATEWAY.sign(TOPIC, encode(command(CommandAction.FIRE_RELEASE)))
    assert VERIFIER.verify(TOPIC, fire) == "b1-gw"
    for action in (CommandAction.UNLOCK, CommandAction.LOCKDOWN, CommandAction.RESET):
        payload = GATEWAY.sign(TOPIC, encode(command(action)))
        assert refusal(TOPIC, payload) is SignatureReason.OUT_OF_SCOPE
    snapshot_topic = building_topic("b1", Family.ALLOWLIST_SNAPSHOT)
    allowlist = GATEWAY.sign(snapshot_topic, encode(snapshot(3)))
    assert refusal(snapshot_topic, allowlist) is SignatureReason.OUT_OF_SCOPE


def test_signing_refuses_a_body_that_already_has_a_signature() -> None:
    signed = SERVER.sign(TOPIC, encode(command()))
    with pytest.raises(ValueError, match="without `sig`"):
        SERVER.sign(TOPIC, signed)


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bool]] = []

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> object:
        self.sent.append((topic, payload, retain))
        return None


def test_the_server_signs_both_the_delta_and_the_snapshot() -> None:
    current = snapshot(4, version=2)
    delta = AllowlistDelta(
        building="b1",
        from_version=1,
        version=2,
        issued_at=current.issued_at,
        upserts=current.entries[3:],
    )
    recorder = _Recorder()
    publish(recorder, Published(snapshot=current, delta=delta), SERVER)
    assert [(t, r) for t, _, r in recorder.sent] == [
        (building_topic("b1", Family.ALLOWLIST_DELTA), False),
        (building_topic("b1", Family.ALLOWLIST_SNAPSHOT), True),
    ]
    for topic, payload, _ in recorder.sent:
        assert VERIFIER.verify(topic, payload) == "server"
    decoded = decode(recorder.sent[1][0], recorder.sent[1][1])
    assert isinstance(decoded, AllowlistSnapshot)
    assert decoded.entries == current.entries


def test_the_gateway_signs_its_fire_release_with_its_own_key() -> None:
    sent: list[tuple[str, bytes]] = []

    def send(topic: str, payload: bytes) -> bool:
        sent.append((topic, payload))
        return True

    fire = FireRelease(
        "b1",
        "b1-gw",
        ("b1-gate-in", "b1-gate-out"),
        send,
        on_release=lambda: None,
        signer=GATEWAY,
    )
    fire.observe(
        RoomTelemetry(
            id=new_event_id(),
            device="b1-r101-sensor",
            seq=1,
            ts=datetime.now(UTC),
            room="b1-r101",
            occupancy=1,
            power_w=10.0,
            temperature_c=40.0,
            smoke=True,
        ),
        Family.TELEMETRY,
    )
    assert len(sent) == 2
    for topic, payload in sent:
        assert VERIFIER.verify(topic, payload) == "b1-gw"
        message = decode(topic, payload)
        assert isinstance(message, Command)
        assert message.action is CommandAction.FIRE_RELEASE
