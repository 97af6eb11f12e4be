"""Decoded contract messages as rows of the event tables."""

from __future__ import annotations

from typing import Any

from protocol.messages import (
    AccessDecision,
    CommandAck,
    DeviceEvent,
    DoorEvent,
    DutyCheck,
    PassageCount,
    RoomTelemetry,
)

Row = dict[str, Any]


def envelope(building: str, message: DeviceEvent) -> Row:
    return {
        "event_id": message.id,
        "building_id": building,
        "device_id": message.device,
        "seq": message.seq,
        "ts": message.ts,
        "received_at": message.received_at,
        "replayed": message.replayed,
    }


def access_row(building: str, m: AccessDecision) -> Row:
    # The most frequent event: one literal, no envelope() + update().
    return {
        "event_id": m.id,
        "building_id": building,
        "device_id": m.device,
        "seq": m.seq,
        "ts": m.ts,
        "received_at": m.received_at,
        "replayed": m.replayed,
        "direction": m.direction.value,
        "credential": m.credential.value,
        "decision": m.decision.value,
        "reason": m.reason.value,
        "person_id": m.person,
        "card_ref": m.card_ref,
        "nonce": m.nonce,
        "door": m.door,
    }


def door_row(building: str, m: DoorEvent) -> Row:
    row = envelope(building, m)
    row.update(
        kind=m.kind.value, door=m.door, grant_id=m.grant_id, person_id=m.person, open_s=m.open_s
    )
    return row


def passage_row(building: str, m: PassageCount) -> Row:
    row = envelope(building, m)
    row.update(direction=m.direction.value, count=m.count, grant_id=m.grant_id, door=m.door)
    return row


def duty_row(building: str, m: DutyCheck) -> Row:
    row = envelope(building, m)
    row.update(action=m.action.value, person_id=m.person, room_id=m.room, nonce=m.nonce)
    return row


def telemetry_row(building: str, m: RoomTelemetry) -> Row:
    row = envelope(building, m)
    row.update(
        room_id=m.room,
        occupancy=m.occupancy,
        power_w=m.power_w,
        temperature_c=m.temperature_c,
        smoke=m.smoke,
    )
    return row


def ack_row(building: str, m: CommandAck) -> Row:
    row = envelope(building, m)
    row.update(
        command_id=m.command_id, action=m.action.value, result=m.result.value, detail=m.detail
    )
    return row
