"""The gate agent without MQTT: cards, QR frames from the camera, events in the outbox."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from edge.camera import FrameIterator, QrScanner
from edge.qr import decode_camera_frame
from protocol.cardhash import card_hash
from protocol.messages import (
    AccessDecision,
    AccessReason,
    CredentialKind,
    Decision,
    Direction,
    DoorEvent,
    DoorEventKind,
    PersonKind,
)
from protocol.token_issuer import SigningKey, issue_token
from simulators.camera import camera_effects, empty_frame, frame_with_qr
from tests.edge.conftest import GateRig
from tests.edge.helpers import CARD_KEY, card_number, person_id

# Each (module size in px, camera effects) pair is applied to several tokens.
CAMERA_VARIANTS = [
    (4, {}),
    (3, {"scale": 0.9}),
    (6, {"scale": 0.85}),
    (4, {"rotate_deg": 5.0}),
    (5, {"rotate_deg": -4.0}),
    (4, {"blur_sigma": 1.2}),
    (4, {"noise_sd": 14.0}),
    (5, {"light_low": 0.3}),
    (4, {"rotate_deg": 3.0, "blur_sigma": 0.8, "noise_sd": 8.0, "light_low": 0.5, "scale": 0.9}),
]


def access_events(rig: GateRig) -> list[AccessDecision]:
    return [e for e in rig.events() if isinstance(e, AccessDecision)]


def test_card_grant_energises_the_relay_and_records_only_the_hash(gate_rig: GateRig) -> None:
    verdict = gate_rig.gate.present_card(card_number(3))
    assert verdict.granted
    assert gate_rig.hw.relay.pin.state
    (event,) = access_events(gate_rig)
    assert event.decision is Decision.GRANTED
    assert event.person == person_id(3)
    assert event.card_ref == card_hash(CARD_KEY, card_number(3))[:16]
    assert event.seq == 0
    assert event.replayed is False
    for row in gate_rig.outbox.next_batch(100):
        assert card_number(3).encode() not in row.payload


def test_door_events_name_the_grant(gate_rig: GateRig) -> None:
    gate_rig.gate.present_card(card_number(3))
    gate_rig.hw.door_contact.pin.drive_high()
    gate_rig.clock.advance(1)
    gate_rig.hw.door_contact.pin.drive_low()
    events = gate_rig.events()
    grant = events[0]
    doors = [e for e in events if isinstance(e, DoorEvent)]
    assert [d.kind for d in doors] == [DoorEventKind.OPENED, DoorEventKind.CLOSED]
    assert all(d.grant_id == grant.id for d in doors)
    assert [e.seq for e in events] == list(range(len(events)))


def test_unknown_card_is_denied_and_the_relay_stays_off(gate_rig: GateRig) -> None:
    verdict = gate_rig.gate.present_card("NOT-A-CARD-OF-OURS".replace("-", ""))
    assert verdict.reason is AccessReason.UNKNOWN_CARD
    assert not gate_rig.hw.relay.pin.state
    assert gate_rig.hw.red_led.pin.state


def test_anti_passback_allows_a_second_entry_and_counts_it(gate_rig: GateRig) -> None:
    gate = gate_rig.gate
    assert gate.present_card(card_number(4)).granted
    assert gate.present_card(card_number(4)).granted  # allowed...
    assert gate.passback.violations == 1  # ...and reported
    decisions = [e for e in gate_rig.events() if isinstance(e, AccessDecision)]
    assert [d.passback for d in decisions] == [False, True]
    # An exit seen from the building's exit gate resets it.
    gate.passback.observe(person_id(4), Direction.EXIT)
    assert gate.present_card(card_number(4)).granted
    assert gate.passback.violations == 1


def test_lockdown_decision_follows_the_door(gate_rig: GateRig) -> None:
    gate_rig.gate.door.enter_lockdown()
    assert gate_rig.gate.present_card(card_number(5)).reason is AccessReason.LOCKDOWN
    assert gate_rig.gate.present_card(card_number(0)).granted  # staff
    assert gate_rig.hw.relay.pin.state


def test_replayed_qr_token_is_refused_and_reported(
    gate_rig: GateRig, signing_key: SigningKey
) -> None:
    token = issue_token(signing_key, person_id(6), PersonKind.STUDENT, gate_rig.now[0])
    assert gate_rig.gate.present_qr(token).granted
    gate_rig.now[0] += timedelta(seconds=20)
    replay = gate_rig.gate.present_qr(token)
    assert replay.reason is AccessReason.TOKEN_REPLAYED
    events = access_events(gate_rig)
    assert [e.reason for e in events] == [AccessReason.OK, AccessReason.TOKEN_REPLAYED]
    assert events[1].nonce == events[0].nonce
    assert events[1].credential is CredentialKind.QR


def test_synthetic_camera_frames_decode_and_are_decided(
    gate_rig: GateRig, signing_key: SigningKey
) -> None:
    rng = np.random.default_rng(20260302)
    frames, expected = [], []
    for n, (module_px, effects) in enumerate(CAMERA_VARIANTS):
        for k in range(4):
            person = (n * 4 + k) % 10
            # Distinct steps keep the nonces apart; the gate's clock follows.
            token = issue_token(
                signing_key,
                person_id(person),
                PersonKind.STUDENT,
                gate_rig.now[0],
                nonce=rng.bytes(8),
            )
            scene = frame_with_qr(token, module_px=module_px, rng=rng)
            frame = camera_effects(scene, rng=rng, **effects)
            assert decode_camera_frame(frame) == [token], (module_px, effects)
            frames.append(frame)
            expected.append(person_id(person))
    scanner = QrScanner(FrameIterator(frames), gate_rig.gate.present_qr, clock=lambda: 0.0)
    for frame in frames:
        scanner.scan(frame)
    events = access_events(gate_rig)
    assert [e.person for e in events] == expected
    assert all(e.decision is Decision.GRANTED for e in events)


def test_frames_without_a_code_produce_nothing(gate_rig: GateRig) -> None:
    rng = np.random.default_rng(5)
    scanner = QrScanner(FrameIterator([]), gate_rig.gate.present_qr)
    for seed, (_, effects) in enumerate(CAMERA_VARIANTS):
        frame = camera_effects(empty_frame(seed=seed), rng=rng, **effects)
        assert scanner.scan(frame) == []
    assert gate_rig.events() == []
    assert not gate_rig.hw.relay.pin.state


def test_a_code_held_in_view_is_decided_once(gate_rig: GateRig, signing_key: SigningKey) -> None:
    token = issue_token(signing_key, person_id(7), PersonKind.STUDENT, gate_rig.now[0])
    frame = frame_with_qr(token, rng=np.random.default_rng(9))
    seconds = [0.0]
    scanner = QrScanner(FrameIterator([]), gate_rig.gate.present_qr, clock=lambda: seconds[0])
    for _ in range(15):  # one second of video
        scanner.scan(frame)
        seconds[0] += 1 / 15
    assert len(access_events(gate_rig)) == 1
    seconds[0] += 10  # shown again much later: decided again (and refused as a replay)
    scanner.scan(frame)
    reasons = [e.reason for e in access_events(gate_rig)]
    assert reasons == [AccessReason.OK, AccessReason.TOKEN_REPLAYED]


@pytest.mark.parametrize("command", ["fire_release", "lock"])
def test_gate_commands_map_to_the_door(gate_rig: GateRig, command: str) -> None:
    door = gate_rig.gate.door
    outcome = door.fire_release() if command == "fire_release" else door.lock()
    assert outcome.result.value == "ok"
    assert bool(gate_rig.hw.relay.pin.state) is (command == "fire_release")
