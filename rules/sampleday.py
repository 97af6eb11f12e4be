"""A deterministic synthetic day of one building, with known incidents in it.

Used by the engine benchmark (a realistic event mix) and by the tests
(same day in order vs shuffled, the outage backlog). Students come and go
through two gates (grant → door opened → closed → one passage), rooms report
every 30 s, every device heartbeats every 30 s, a counselor checks in; and a
few incidents are planted at known times so a test can say exactly what must
be raised.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Final

from protocol.messages import (
    AccessDecision,
    AccessReason,
    CredentialKind,
    Decision,
    Direction,
    DoorEvent,
    DoorEventKind,
    DutyAction,
    DutyCheck,
    GatewayHealth,
    Heartbeat,
    Message,
    PassageCount,
    RoomTelemetry,
)
from rules.context import (
    BuildingInfo,
    CurfewTimes,
    DeviceInfo,
    DutyShift,
    PersonInfo,
    RoomInfo,
    SiteContext,
)

DAY_START: Final = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True, slots=True)
class Incident:
    """What must be raised: rule, subject and event time."""

    rule: str
    subject: str
    at: datetime


@dataclass
class Day:
    building: str
    ctx: SiteContext
    #: (building, message) in event-time order.
    messages: list[tuple[str, Message]] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.n = 0

    def __call__(self, moment: datetime) -> str:
        """A ULID: 48-bit milliseconds, then a counter (unique, sortable by time)."""
        self.n += 1
        ms = int(moment.timestamp() * 1000)
        value = (ms << 80) | self.n
        return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1))


def sample_day(
    *,
    building: str = "b1",
    rooms: int = 40,
    students: int = 200,
    hours: float = 24.0,
    seed: int = 1,
    start: datetime = DAY_START,
    incidents: bool = True,
) -> Day:
    rng = random.Random(seed)
    ids = _Ids(rng)
    gates = [f"{building}-gate-in", f"{building}-gate-out"]
    side = f"{building}-gate-side"  # planted gate decisions only
    kiosk = f"{building}-kiosk"
    gateway = f"{building}-gw"
    room_ids = [f"{building}-r{i:03d}" for i in range(rooms)]
    sensors = {room: f"{building}-s{i:03d}" for i, room in enumerate(room_ids)}
    # Incidents are planted in a room of their own (its sensor reports only then).
    lab = f"{building}-lab"
    lab_sensor = f"{building}-s-lab"
    people = [f"p-{i:04d}" for i in range(students)]
    counselor = "c-0001"
    end = start + timedelta(hours=hours)
    shift = DutyShift("s-1", building, counselor, start + timedelta(hours=8), end)
    ctx = SiteContext.build(
        buildings=[
            BuildingInfo(
                building, gateway, {d: CurfewTimes(time(23, 30), time(6, 0)) for d in range(7)}
            )
        ],
        rooms=[
            RoomInfo(r, building, str(1 + i // 10), "dorm", 4, 2000.0)
            for i, r in enumerate(room_ids)
        ]
        + [RoomInfo(lab, building, "1", "dorm", 4, 2000.0)],
        devices=[DeviceInfo(g, building, "gate") for g in [*gates, side]]
        + [DeviceInfo(kiosk, building, "kiosk")]
        + [DeviceInfo(s, building, "room_sensor", r) for r, s in sensors.items()]
        + [DeviceInfo(lab_sensor, building, "room_sensor", lab)],
        persons=[PersonInfo(p, "student", building) for p in people]
        + [PersonInfo(counselor, "staff", building)],
        shifts=[shift],
    )
    day = Day(building, ctx)
    out: list[tuple[datetime, str, Message]] = []
    seqs: dict[str, int] = {}

    def env(device: str, moment: datetime) -> dict[str, Any]:
        seqs[device] = seqs.get(device, 0) + 1
        return {"id": ids(moment), "device": device, "seq": seqs[device], "ts": moment}

    def add(message: Message, moment: datetime) -> None:
        out.append((moment, message.id, message))  # type: ignore[attr-defined]

    inside = {p: True for p in people}
    # Gate traffic: a passage every ~6 s on average, busier in the day.
    moment = start
    while moment < end:
        hour = (moment - start).total_seconds() / 3600 % 24
        mean_gap = 4.0 if 7 <= hour < 23 else 40.0
        moment += timedelta(seconds=rng.expovariate(1 / mean_gap))
        if moment >= end:
            break
        person = rng.choice(people)
        direction = Direction.EXIT if inside[person] else Direction.ENTRY
        if 0.5 <= hour < 6 and direction is Direction.ENTRY:
            continue  # nobody returns in the curfew (late returns are planted)
        gate = gates[0] if direction is Direction.ENTRY else gates[1]
        if rng.random() < 0.03:
            add(
                AccessDecision(
                    **env(gate, moment),
                    direction=direction,
                    credential=CredentialKind.CARD,
                    decision=Decision.DENIED,
                    reason=AccessReason.UNKNOWN_CARD,
                    card_ref=f"{rng.getrandbits(64):016x}",
                ),
                moment,
            )
            continue
        inside[person] = direction is Direction.ENTRY
        grant = AccessDecision(
            **env(gate, moment),
            direction=direction,
            credential=CredentialKind.CARD,
            decision=Decision.GRANTED,
            reason=AccessReason.OK,
            person=person,
        )
        add(grant, moment)
        opened = moment + timedelta(seconds=1)
        closed = opened + timedelta(seconds=3 + rng.random() * 4)
        add(
            DoorEvent(
                **env(gate, opened),
                kind=DoorEventKind.OPENED,
                grant_id=grant.id,
                person=person,
            ),
            opened,
        )
        add(
            DoorEvent(
                **env(gate, closed),
                kind=DoorEventKind.CLOSED,
                grant_id=grant.id,
                person=person,
                open_s=round((closed - opened).total_seconds(), 3),
            ),
            closed,
        )
        add(
            PassageCount(
                **env(gate, closed),
                direction=direction,
                count=1,
                grant_id=grant.id,
            ),
            closed,
        )
    # Rooms every 30 s, heartbeats every 30 s, gateway health every 30 s.
    tick = start
    occupancy = {r: rng.randint(0, 4) for r in room_ids}
    while tick < end:
        for room, sensor in sensors.items():
            at = tick + timedelta(seconds=rng.random() * 5)
            if rng.random() < 0.02:
                occupancy[room] = rng.randint(0, 4)
            add(
                RoomTelemetry(
                    **env(sensor, at),
                    room=room,
                    occupancy=occupancy[room],
                    power_w=60 + 150 * occupancy[room],
                    temperature_c=21.0,
                    smoke=False,
                ),
                at,
            )
        for device in [*gates, kiosk, *sensors.values(), lab_sensor]:
            at = tick + timedelta(seconds=5 + rng.random() * 5)
            add(
                Heartbeat(
                    **env(device, at),
                    software_version="1",
                    config_version="1",
                    allowlist_version=1,
                    outbox_depth=0,
                    clock_offset_ms=0,
                    uptime_s=(at - start).total_seconds() + 1,
                ),
                at,
            )
        at = tick + timedelta(seconds=15)
        add(
            GatewayHealth(
                **env(gateway, at),
                uptime_s=(at - start).total_seconds() + 1,
                received=0,
                forwarded=0,
                duplicates=0,
                outbox_depth=0,
                outbox_max=100000,
                uplink_connected=True,
            ),
            at,
        )
        tick += timedelta(seconds=30)
    check_in = shift.starts_at - timedelta(minutes=5)
    if check_in < end:
        add(
            DutyCheck(
                **env(kiosk, check_in),
                action=DutyAction.CHECK_IN,
                person=counselor,
            ),
            check_in,
        )
    if incidents:
        _plant(day, add, env, start, hours, gates[0], lab, lab_sensor)
        _plant_access(day, add, env, start, hours, side, people[:8])
    out.sort(key=lambda item: (item[0], item[1]))
    day.messages = [(building, message) for _moment, _id, message in out]
    day.incidents.sort(key=lambda i: (i.at, i.rule, i.subject))
    return day


def _plant(
    day: Day,
    add: Callable[[Message, datetime], None],
    env: Callable[[str, datetime], dict[str, Any]],
    start: datetime,
    hours: float,
    gate: str,
    room: str,
    sensor: str,
) -> None:
    """One of each kind of incident every two hours, at fixed offsets."""
    for block in range(int(hours // 2)):
        base = start + timedelta(hours=2 * block)
        door = f"door:{gate}/side"
        forced = base + timedelta(minutes=10, seconds=0.5)
        add(DoorEvent(**env(gate, forced), kind=DoorEventKind.FORCED, door="side"), forced)
        closed = forced + timedelta(seconds=8)
        add(
            DoorEvent(**env(gate, closed), kind=DoorEventKind.CLOSED, open_s=8.0, door="side"),
            closed,
        )
        day.incidents.append(Incident("door_forced", door, forced))
        # Held open 50 s by a grant (the door was opened with one).
        opened = base + timedelta(minutes=30, seconds=0.25)
        add(DoorEvent(**env(gate, opened), kind=DoorEventKind.OPENED, door="side"), opened)
        shut = opened + timedelta(seconds=50)
        add(DoorEvent(**env(gate, shut), kind=DoorEventKind.CLOSED, open_s=50.0, door="side"), shut)
        day.incidents.append(Incident("door_held_open", door, opened + timedelta(seconds=30)))
        # Tailgating: two through on one grant.
        tail = base + timedelta(minutes=50, seconds=0.75)
        add(
            PassageCount(
                **env(gate, tail),
                direction=Direction.ENTRY,
                count=2,
                grant_id=env(gate, tail)["id"],
                door="side",
            ),
            tail,
        )
        day.incidents.append(Incident("tailgating", door, tail))
        # Power over the limit for 40 s (a heater), then off: also an appliance step.
        heat = base + timedelta(minutes=70, seconds=2.5)
        before = heat - timedelta(seconds=10)
        add(
            RoomTelemetry(
                **env(sensor, before),
                room=room,
                occupancy=1,
                power_w=100.0,
                temperature_c=22.0,
                smoke=False,
            ),
            before,
        )
        for k in range(5):
            at = heat + timedelta(seconds=10 * k)
            add(
                RoomTelemetry(
                    **env(sensor, at),
                    room=room,
                    occupancy=1,
                    power_w=2600.0 if k < 4 else 100.0,
                    temperature_c=22.0,
                    smoke=False,
                ),
                at,
            )
        day.incidents.append(Incident("appliance_step", f"room:{room}", heat))
        day.incidents.append(
            Incident("power_over_limit", f"room:{room}", heat + timedelta(seconds=10))
        )
        # Smoke in one sample.
        smoke = base + timedelta(minutes=95, seconds=1.5)
        add(
            RoomTelemetry(
                **env(sensor, smoke),
                room=room,
                occupancy=1,
                power_w=100.0,
                temperature_c=30.0,
                smoke=True,
            ),
            smoke,
        )
        day.incidents.append(Incident("smoke", f"room:{room}", smoke))
        # Six people in a room for four for 150 s, then a hot sample.
        crowd = base + timedelta(minutes=100, seconds=3.5)
        for k in range(17):
            at = crowd + timedelta(seconds=10 * k)
            add(
                RoomTelemetry(
                    **env(sensor, at),
                    room=room,
                    occupancy=6 if k < 16 else 2,
                    power_w=100.0,
                    temperature_c=50.0 if k == 16 else 22.0,
                    smoke=False,
                ),
                at,
            )
        day.incidents.append(
            Incident("room_over_capacity", f"room:{room}", crowd + timedelta(seconds=120))
        )
        day.incidents.append(
            Incident("temperature_high", f"room:{room}", crowd + timedelta(seconds=160))
        )


def iter_batches(
    messages: list[tuple[str, Message]], size: int
) -> Iterator[list[tuple[str, Message]]]:
    for i in range(0, len(messages), size):
        yield messages[i : i + size]


def _plant_access(
    day: Day,
    add: Callable[[Message, datetime], None],
    env: Callable[[str, datetime], dict[str, Any]],
    start: datetime,
    hours: float,
    gate: str,
    people: list[str],
) -> None:
    """Gate incidents on a side gate of their own, every two hours."""

    def decision(moment: datetime, **fields: Any) -> None:
        granted = fields.pop("granted", False)
        add(
            AccessDecision(
                **env(gate, moment),
                direction=fields.pop("direction", Direction.ENTRY),
                credential=fields.pop("credential", CredentialKind.CARD),
                decision=Decision.GRANTED if granted else Decision.DENIED,
                reason=AccessReason.OK if granted else fields.pop("reason"),
                **fields,
            ),
            moment,
        )

    for block in range(int(hours // 2)):
        base = start + timedelta(hours=2 * block)
        card = f"{0xC0FFEE00 + block:016x}"
        # One unknown card tried five times in 40 s: both denied-burst rules.
        for k in range(5):
            decision(
                base + timedelta(minutes=15, seconds=10 * k + 0.125),
                reason=AccessReason.UNKNOWN_CARD,
                card_ref=card,
            )
        fifth = base + timedelta(minutes=15, seconds=40.125)
        day.incidents.append(Incident("denied_burst_gate", f"gate:{gate}", fifth))
        third = base + timedelta(minutes=15, seconds=20.125)  # 3 denials of one card
        day.incidents.append(Incident("denied_burst_credential", f"credential:{card}", third))
        # A QR token shown twice.
        person = people[block % len(people)]
        replay = base + timedelta(minutes=25, seconds=0.375)
        decision(
            replay,
            reason=AccessReason.TOKEN_REPLAYED,
            credential=CredentialKind.QR,
            person=person,
            nonce=f"{block:016x}",
        )
        day.incidents.append(Incident("qr_replay", f"credential:{person}", replay))
        # A second entry without an exit, flagged by the gate.
        passback = base + timedelta(minutes=35, seconds=0.625)
        decision(passback, granted=True, person=person, passback=True)
        day.incidents.append(Incident("anti_passback", f"person:{person}", passback))
