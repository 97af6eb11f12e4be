"""The first demo: one simulated gate, a real broker, the contract end to end.

A gate in building ``b1`` reads dynamic QR codes from synthesised camera
frames and cards from a list, decides against a small allowlist, and
publishes its decisions and door events over MQTT QoS 1. A monitor on the
other side of the broker decodes every message with the contract and prints
it; one deliberately malformed message shows how a reject is reported.

This is the stand-in for ``make demo`` until the simulator issue lands; it
uses the real token, QR, topic and codec code that the parts build on.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TextIO

import numpy as np
import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from paho.mqtt.enums import CallbackAPIVersion

from edge.qr import decode_frame
from protocol.cardhash import card_hash, card_ref
from protocol.codec import decode, family_of
from protocol.errors import InvalidMessageError
from protocol.ids import new_event_id
from protocol.messages import (
    AccessDecision,
    AccessReason,
    CredentialKind,
    Decision,
    Direction,
    DoorEvent,
    DoorEventKind,
    Message,
    PersonKind,
    RoomTelemetry,
    encode,
)
from protocol.tokens import SigningKey, TokenError, TokenReason, issue_token, verify_token
from protocol.topics import Family, device_topic, device_uplink_filter
from simulators.camera import frame_with_qr

log = logging.getLogger(__name__)

BUILDING = "b1"
GATE = "b1-gate-in"
SENSOR = "b1-r101-sensor"
# A demo key; a real site provisions its own (protocol.cardhash).
CARD_KEY = b"demo-card-key-not-secret-000000"
_TOKEN_DENIALS = {
    TokenReason.EXPIRED: AccessReason.TOKEN_EXPIRED,
    TokenReason.NOT_YET_VALID: AccessReason.TOKEN_NOT_YET_VALID,
    TokenReason.BAD_SIGNATURE: AccessReason.TOKEN_BAD_SIGNATURE,
    TokenReason.UNKNOWN_KEY: AccessReason.TOKEN_UNKNOWN_KEY,
    TokenReason.MALFORMED: AccessReason.TOKEN_MALFORMED,
}


@dataclass
class DemoResult:
    received: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    published: int = 0


@dataclass
class _Gate:
    """Just enough of a gate to make real decisions for the demo."""

    keys: dict[str, Ed25519PublicKey]
    card_hashes: dict[str, str]  # card hash -> person
    seq: int = 0

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


def _scans(signing: SigningKey, rogue: SigningKey, now: datetime) -> Iterator[tuple[str, str]]:
    """(credential kind, what the reader produced) for a short morning at the gate."""
    rng = np.random.default_rng(7)
    for person in ("p-3k9x2a", "p-8m1q7d", "p-5t4w0z"):
        token = issue_token(signing, person, PersonKind.STUDENT, now)
        frame = frame_with_qr(token, rng=rng)
        for text in decode_frame(frame):
            yield "qr", text
    yesterday = issue_token(signing, "p-3k9x2a", PersonKind.STUDENT, now - timedelta(days=1))
    yield "qr", yesterday
    yield "qr", issue_token(rogue, "p-0bad00", PersonKind.STUDENT, now)
    yield "card", "04A1B2C3D4"
    yield "card", "04FFFFFFFF"


def _decide(gate: _Gate, kind: str, text: str, now: datetime) -> AccessDecision:
    person: str | None = None
    ref: str | None = None
    nonce: str | None = None
    if kind == "card":
        credential = CredentialKind.CARD
        hashed = card_hash(CARD_KEY, text)
        ref = card_ref(hashed)
        person = gate.card_hashes.get(hashed)
        reason = AccessReason.OK if person else AccessReason.UNKNOWN_CARD
    else:
        credential = CredentialKind.QR
        try:
            claims = verify_token(text, gate.keys, now)
        except TokenError as exc:
            reason = _TOKEN_DENIALS[exc.reason]
        else:
            reason, person, nonce = AccessReason.OK, claims.subject, claims.nonce
    return AccessDecision(
        id=new_event_id(),
        device=GATE,
        seq=gate.next_seq(),
        ts=now,
        direction=Direction.ENTRY,
        credential=credential,
        decision=Decision.GRANTED if reason is AccessReason.OK else Decision.DENIED,
        reason=reason,
        person=person,
        card_ref=ref,
        nonce=nonce,
    )


def _describe(message: Message) -> str:
    if isinstance(message, AccessDecision):
        who = message.person or (f"card {message.card_ref}" if message.card_ref else "unknown")
        return f"{message.decision.value:7} {message.credential.value:4} {who:18} {message.reason}"
    if isinstance(message, DoorEvent):
        return f"door {message.kind.value}"
    if isinstance(message, RoomTelemetry):
        return (
            f"room {message.room}: {message.occupancy} in, {message.power_w:.0f} W, "
            f"{message.temperature_c:.1f} °C, smoke={message.smoke}"
        )
    return type(message).__name__


def _connect(host: str, port: int, client_id: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.max_inflight_messages_set(100)
    client.connect(host, port, keepalive=30)
    client.loop_start()
    return client


def run(host: str, port: int, out: TextIO, timeout_s: float = 10.0) -> DemoResult:
    """Run the demo against the broker at ``host:port``; print what arrives to ``out``."""
    result = DemoResult()
    inbox: queue.Queue[tuple[str, bytes]] = queue.Queue(maxsize=10_000)
    subscribed = threading.Event()

    def on_connect(client: mqtt.Client, _u: object, _f: object, rc: object, _p: object) -> None:
        client.subscribe(device_uplink_filter(BUILDING), qos=1)

    def on_subscribe(*_args: object) -> None:
        subscribed.set()

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        try:
            inbox.put_nowait((msg.topic, bytes(msg.payload)))
        except queue.Full:
            result.rejected["queue_full"] += 1
            log.warning("monitor queue full; dropped a message on %s", msg.topic)

    monitor = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="dorm-demo-monitor")
    monitor.on_connect = on_connect
    monitor.on_subscribe = on_subscribe
    monitor.on_message = on_message
    monitor.connect(host, port, keepalive=30)
    monitor.loop_start()
    publisher = _connect(host, port, f"dorm-demo-{GATE}")
    try:
        if not subscribed.wait(timeout_s):
            raise TimeoutError("the monitor could not subscribe in time")
        _publish_morning(publisher, result)
        _drain(inbox, result, out, expected=result.published, timeout_s=timeout_s)
    finally:
        for client in (publisher, monitor):
            client.disconnect()
            client.loop_stop()
    return result


def _publish_morning(client: mqtt.Client, result: DemoResult) -> None:
    now = datetime.now(UTC)
    signing = SigningKey.generate("k1")
    rogue = SigningKey.generate("k9")
    enrolled = card_hash(CARD_KEY, "04A1B2C3D4")
    gate = _Gate(keys={"k1": signing.public_key}, card_hashes={enrolled: "p-8m1q7d"})

    def publish(family: Family, device: str, payload: bytes) -> None:
        info = client.publish(device_topic(BUILDING, device, family), payload, qos=1)
        info.wait_for_publish(timeout=5)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ConnectionError(f"publish failed: {mqtt.error_string(info.rc)}")
        result.published += 1

    messages: list[tuple[str, Message]] = []
    for kind, text in _scans(signing, rogue, now):
        decision = _decide(gate, kind, text, now)
        messages.append((GATE, decision))
        if decision.decision is Decision.GRANTED:
            for door_kind in (DoorEventKind.OPENED, DoorEventKind.CLOSED):
                door = DoorEvent(
                    id=new_event_id(),
                    device=GATE,
                    seq=gate.next_seq(),
                    ts=now,
                    kind=door_kind,
                    grant_id=decision.id,
                )
                messages.append((GATE, door))
    messages.append(
        (
            SENSOR,
            RoomTelemetry(
                id=new_event_id(),
                device=SENSOR,
                seq=1,
                ts=now,
                room="b1-r101",
                occupancy=3,
                power_w=412.5,
                temperature_c=23.4,
                smoke=False,
            ),
        )
    )
    for device, message in messages:
        publish(family_of(message), device, encode(message))
    # One malformed message: the monitor must reject it with a reason and go on.
    publish(Family.TELEMETRY, SENSOR, b'{"id": "nope", "power_w": -5}')


def _drain(
    inbox: queue.Queue[tuple[str, bytes]],
    result: DemoResult,
    out: TextIO,
    expected: int,
    timeout_s: float,
) -> None:
    deadline = datetime.now(UTC) + timedelta(seconds=timeout_s)
    seen = 0

    def emit(line: str) -> None:
        print(line, file=out)

    while seen < expected:
        remaining = (deadline - datetime.now(UTC)).total_seconds()
        if remaining <= 0:
            emit(f"timed out: {seen} of {expected} messages arrived")
            break
        try:
            topic, payload = inbox.get(timeout=remaining)
        except queue.Empty:
            continue
        seen += 1
        try:
            message = decode(topic, payload)
        except InvalidMessageError as exc:
            result.rejected[exc.reason.value] += 1
            emit(f"REJECTED {topic}: {exc}")
            continue
        result.received[type(message).__name__] += 1
        emit(f"{topic:40} {_describe(message)}")
