"""The running campus: real edge agents per building, fed by the behaviour on simulated time.

For every building: an entry gate and an exit gate (:class:`edge.gate.GateAgent`
with its :class:`edge.door.DoorController`), a duty kiosk
(:class:`edge.kiosk.KioskAgent`) and a room sensor per dorm and activity room
(:class:`edge.room_sensor.RoomSensorAgent`), all on the building's
:class:`simulators.shared_link.SharedLink` and on one :class:`SimLoop`.

Without a server (``provision_allowlists``) the gates and kiosks start with
an allowlist built here from the population (version 1, as the server's first
would be); with a server they wait for the server's allowlist, which the
gateway fans out.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Final

import numpy as np

from edge.agent import Agent, software_version
from edge.allowlist import AllowlistStore
from edge.decision import Verdict
from edge.door import DoorController, DoorTimings
from edge.events import E, EventSink
from edge.feedback import Feedback
from edge.gate import GateAgent, PassbackTracker
from edge.kiosk import DUTY_FILE, KioskAgent
from edge.mqtt_link import BrokerAddress, Inbound
from edge.qr import decode_frame
from edge.room_sensor import RoomSensorAgent, SensorTimings
from edge.settings_from_config import curfew_rule
from protocol.cardhash import card_hash
from protocol.ids import new_event_id
from protocol.keys import token_key
from protocol.messages import (
    AllowlistEntry,
    AllowlistSnapshot,
    Direction,
    PersonKind,
    TimeWindow,
)
from protocol.token_issuer import SigningKey, issue_token
from protocol.tokens import NONCE_BYTES
from protocol.topics import TopicError, parse_topic
from simulators import behaviour
from simulators.behaviour import Appliance, DutyScan, GatePass, RoomMove, Stimulus
from simulators.camera import frame_with_qr
from simulators.campus import Campus, SimBuilding
from simulators.clock import SimLoop
from simulators.hardware import (
    PinAllocator,
    RoomPhysics,
    gate_hardware,
    kiosk_hardware,
    smoke_contact,
)
from simulators.population import Population
from simulators.seqbook import SeqBook
from simulators.shared_link import SharedLink
from transport.outbox import Outbox, Priority

log = logging.getLogger(__name__)

STUDENT_SCHEDULE: Final = "students"
OPEN_AFTER_S: Final = 1.5
WALK_GAP_S: Final = 0.6
#: The next person in a queue steps up this long after the door shut.
QUEUE_GAP_S: Final = 1.0
#: Room sensors sample every 10 s and report at least every 5 min in the simulation.
SIM_SENSOR_TIMINGS: Final = SensorTimings(sample_s=10.0, report_s=300.0)
SIM_DOOR_TIMINGS: Final = DoorTimings(unlock_s=5.0, held_open_s=30.0)


@dataclass(frozen=True)
class SimOptions:
    brokers: tuple[BrokerAddress, ...]
    state_dir: Path
    card_key: bytes
    signing_key: SigningKey
    start: datetime
    speed: float | None = 1.0
    seed: int = 1
    provision_allowlists: bool = True
    #: QR scans that go through a synthesised camera frame (the rest hand the text over)
    qr_frame_share: float = 1.0
    sensor_timings: SensorTimings = SIM_SENSOR_TIMINGS
    gate_heartbeat_s: float = 30.0
    sensor_heartbeat_s: float = 60.0
    door_timings: DoorTimings = SIM_DOOR_TIMINGS
    outbox_max_rows: int = 200_000
    client_prefix: str = "sim"

    def broker_for(self, index: int) -> BrokerAddress:
        return self.brokers[index] if len(self.brokers) > 1 else self.brokers[0]


@dataclass
class BuildingRig:
    building: SimBuilding
    link: SharedLink
    outbox: Outbox
    gates: dict[Direction, GateAgent]
    kiosk: KioskAgent
    sensors: dict[str, RoomSensorAgent]
    physics: dict[str, RoomPhysics]
    smoke: dict[str, object]
    agents: dict[str, Agent] = field(default_factory=dict)


class SimSink(EventSink):
    """An :class:`EventSink` whose event ids follow from the seed and the simulated time."""

    def __init__(
        self, *args: Any, entropy: random.Random, counts: Counter[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._entropy = entropy
        self._counts = counts

    def emit(
        self,
        cls: type[E],
        *,
        priority: Priority = Priority.EVENT,
        event_id: str | None = None,
        **fields: Any,
    ) -> E | None:
        if event_id is None:
            now_ms = int(self.clock().timestamp() * 1000)
            event_id = new_event_id(now_ms, self._entropy.randbytes(10))
        event = super().emit(cls, priority=priority, event_id=event_id, **fields)
        if event is not None:
            self._counts["events"] += 1
        return event


class Simulation:
    def __init__(self, campus: Campus, population: Population, options: SimOptions) -> None:
        self.campus = campus
        self.population = population
        self.options = options
        self.loop = SimLoop(options.start, options.speed)
        self.counts: Counter[str] = Counter()
        self.rigs: dict[str, BuildingRig] = {}
        self._rng = random.Random(f"{options.seed}:scans")
        self._frames = np.random.default_rng(options.seed)
        self._pins = PinAllocator()
        self._people: dict[str, tuple[str, PersonKind]] = {
            s.id: (s.card, PersonKind.STUDENT) for s in population.students
        }
        self._people.update({c.id: (c.card, PersonKind.STAFF) for c in population.counselors})
        self._homes = {s.id: s.building for s in population.students}
        self._homes.update({c.id: c.building for c in population.counselors})
        #: buildings whose next duty check-in is skipped (a scenario's missed check-in)
        self.skip_checkin: set[str] = set()
        self._busy_until: dict[str, float] = {}
        self._planned: set[date] = set()
        self._started = False
        self._stopped = False
        for index, b in enumerate(campus.buildings):
            self.rigs[b.id] = self._build(b, options.broker_for(index))

    # -- building the campus ---------------------------------------------------------

    def _sink(
        self, device: str, building: str, outbox: Outbox, link: SharedLink, book: SeqBook
    ) -> EventSink:
        return SimSink(
            device,
            building,
            outbox,
            book.store(device),
            connected=lambda: link.connected,
            wake=link.wake,
            clock=self.loop.now,
            entropy=random.Random(f"{self.options.seed}:{device}"),
            counts=self.counts,
        )

    def _build(self, b: SimBuilding, broker: BrokerAddress) -> BuildingRig:
        o = self.options
        directory = o.state_dir / b.id
        directory.mkdir(parents=True, exist_ok=True)
        book = SeqBook(directory / "seq.json")
        with book.deferred():
            return self._build_in(b, broker, directory, book)

    def _build_in(
        self, b: SimBuilding, broker: BrokerAddress, directory: Path, book: SeqBook
    ) -> BuildingRig:
        o = self.options
        outbox = Outbox(directory / "outbox.db", max_rows=o.outbox_max_rows)
        holder: dict[str, BuildingRig] = {}
        link = SharedLink(
            b.id,
            broker,
            outbox,
            client_id=f"{o.client_prefix}-{b.id}",
            devices=b.devices(),
            on_inbound=lambda item: self.loop.call_soon_threadsafe(
                lambda: self._route(holder[b.id], item)
            ),
            clock=self.loop.now,
            software_version=software_version(),
        )
        snapshot = self._snapshot(b) if o.provision_allowlists else None
        passback = PassbackTracker()
        gates: dict[Direction, GateAgent] = {}
        for direction, device in ((Direction.ENTRY, b.gate_in), (Direction.EXIT, b.gate_out)):
            sink = self._sink(device, b.id, outbox, link, book)
            door = DoorController(
                gate_hardware(self._pins),
                self.loop,
                lambda _r: None,
                timings=o.door_timings,
                direction=direction,
            )
            store = AllowlistStore(b.id, directory / device)
            store.load()
            if snapshot is not None:
                store.apply_snapshot(snapshot)
            gates[direction] = GateAgent(
                direction=direction,
                sink=sink,
                door=door,
                store=store,
                card_key=o.card_key,
                tz=self.campus.tz,
                curfew=curfew_rule(b.curfew),
                config_version="sim",
                heartbeat_s=o.gate_heartbeat_s,
                passback=passback,
            )
        kiosk_dir = directory / b.kiosk
        kiosk_dir.mkdir(parents=True, exist_ok=True)
        on_duty = self.population.on_duty(b.id, o.start)
        (kiosk_dir / DUTY_FILE).write_text(json.dumps([on_duty.person] if on_duty else []))
        kiosk_store = AllowlistStore(b.id, kiosk_dir)
        kiosk_store.load()
        if snapshot is not None:
            kiosk_store.apply_snapshot(snapshot)
        hw = kiosk_hardware(self._pins)
        kiosk = KioskAgent(
            sink=self._sink(b.kiosk, b.id, outbox, link, book),
            store=kiosk_store,
            feedback=Feedback(hw.green_led, hw.red_led, hw.buzzer, self.loop),
            state_dir=kiosk_dir,
            config_version="sim",
            heartbeat_s=o.gate_heartbeat_s,
            display=lambda _line: None,
        )
        sensors: dict[str, RoomSensorAgent] = {}
        physics: dict[str, RoomPhysics] = {}
        smoke: dict[str, object] = {}
        residents = Counter(s.room for s in self.population.students if not s.on_leave)
        for room in b.rooms:
            physics[room.id] = RoomPhysics(
                room.id, o.seed, room.capacity, residents.get(room.id, 0)
            )
        for room in b.sensed_rooms:
            phys = physics[room.id]
            contact = smoke_contact(self._pins)
            smoke[room.id] = contact
            sensors[room.id] = RoomSensorAgent(
                room=room.id,
                sink=self._sink(room.sensor, b.id, outbox, link, book),
                scheduler=self.loop,
                occupancy=phys,
                smoke=contact,
                meter=phys,
                thermometer=phys,
                config_version="sim",
                timings=o.sensor_timings,
                heartbeat_s=o.sensor_heartbeat_s,
            )
        rig = BuildingRig(b, link, outbox, gates, kiosk, sensors, physics, smoke)
        rig.agents = {g.device: g for g in gates.values()}
        rig.agents[kiosk.device] = kiosk
        rig.agents.update({s.device: s for s in sensors.values()})
        holder[b.id] = rig
        return rig

    def _snapshot(self, b: SimBuilding) -> AllowlistSnapshot:
        key = self.options.card_key
        entries = [
            AllowlistEntry(
                person=person,
                kind=kind,
                card_hashes=[card_hash(key, card)],
                schedule=STUDENT_SCHEDULE if kind is PersonKind.STUDENT else None,
            )
            for person, (card, kind) in sorted(self._people.items())
            if self._homes[person] == b.id
        ]
        windows = [
            TimeWindow(
                days=[weekday],
                start=b.curfew.ends.strftime("%H:%M"),
                end=b.curfew.start_for(weekday).strftime("%H:%M"),
            )
            for weekday in range(7)
        ]
        signing = self.options.signing_key
        return AllowlistSnapshot(
            building=b.id,
            version=1,
            issued_at=self.options.start,
            entries=entries,
            schedules={STUDENT_SCHEDULE: windows},
            keys=[token_key(signing.kid, signing.public_key)],
        )

    # -- messages from the building broker ---------------------------------------

    def _route(self, rig: BuildingRig, item: Inbound) -> None:
        try:
            topic = parse_topic(item.topic)
        except TopicError:
            self.counts["inbound_unroutable"] += 1
            return
        if topic.device is not None:
            agent = rig.agents.get(topic.device)
            if agent is not None and topic.device not in rig.link.offline_devices:
                agent.handle_inbound(item)
            return
        # Allowlists: for the gates and the kiosk.
        for agent in (*rig.gates.values(), rig.kiosk):
            agent.handle_inbound(item)

    # -- running -------------------------------------------------------------------

    def start(self) -> None:
        o = self.options
        rng = random.Random(f"{o.seed}:start")
        for rig in self.rigs.values():
            rig.link.start()
            for agent in rig.agents.values():
                self._schedule_heartbeat(rig, agent, rng.uniform(0, agent.heartbeat_s))
            for sensor in rig.sensors.values():
                self.loop.call_later(rng.uniform(0, o.sensor_timings.sample_s), sensor.start)
        self._plan(o.start.astimezone(self.campus.tz).date())
        self._started = True

    def wait_connected(self, timeout_s: float) -> bool:
        return all(rig.link.wait_connected(timeout_s) for rig in self.rigs.values())

    def _schedule_heartbeat(self, rig: BuildingRig, agent: Agent, delay_s: float) -> None:
        def beat() -> None:
            if agent.device not in rig.link.offline_devices:
                agent.heartbeat()
            self.loop.call_later(agent.heartbeat_s, beat)

        self.loop.call_later(delay_s, beat)

    def _plan(self, day: date) -> None:
        """Schedule ``day``'s behaviour, and the planning of the next day."""
        if day in self._planned:
            return
        self._planned.add(day)
        now = self.loop.now()
        for stimulus in behaviour.day_plan(
            self.population, self.campus, day, seed=self.options.seed
        ):
            if stimulus.at >= now:
                self.loop.call_at(stimulus.at, partial(self.perform, stimulus))
        tomorrow = day + timedelta(days=1)
        midnight = datetime.combine(tomorrow, datetime.min.time(), tzinfo=self.campus.tz)
        self.loop.call_at(midnight - timedelta(hours=1), lambda: self._plan(tomorrow))

    def run_until(self, end: datetime, stop: threading.Event | None = None) -> None:
        self.loop.run_until(end, stop)

    def flush(self, timeout_s: float) -> bool:
        """Wait until every building's outbox has been acknowledged by its broker."""
        return all(rig.link.publisher.flush(timeout_s) for rig in self.rigs.values())

    def stop(self) -> None:
        """Flush-less stop of every building (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        for rig in self.rigs.values():
            rig.link.stop()
            for agent in rig.agents.values():
                agent.close()
            rig.outbox.close()

    @property
    def outbox_depth(self) -> int:
        return sum(rig.outbox.depth for rig in self.rigs.values())

    # -- stimuli -------------------------------------------------------------------

    def perform(self, stimulus: Stimulus) -> None:
        self.counts[type(stimulus).__name__] += 1
        if isinstance(stimulus, GatePass):
            self.gate_pass(stimulus)
        elif isinstance(stimulus, RoomMove):
            self.room_move(stimulus.room, stimulus.delta)
        elif isinstance(stimulus, Appliance):
            self.appliance(stimulus.room, stimulus.power_w, stimulus.duration_s)
        elif isinstance(stimulus, DutyScan):
            self.duty_scan(stimulus.building, stimulus.person, checkin=stimulus.checkin)

    def gate(self, building: str, direction: Direction) -> GateAgent:
        return self.rigs[building].gates[direction]

    def _usable(self, building: str, gate: GateAgent) -> bool:
        return gate.device not in self.rigs[building].link.offline_devices

    def qr_text(self, person: str) -> str:
        _card, kind = self._people[person]
        nonce = self._rng.getrandbits(8 * NONCE_BYTES).to_bytes(NONCE_BYTES, "big")
        return issue_token(self.options.signing_key, person, kind, self.loop.now(), nonce=nonce)

    def show_qr(self, text: str) -> list[str]:
        """What the camera reads when ``text`` is shown to it (a synthesised frame)."""
        if self._rng.random() >= self.options.qr_frame_share:
            return [text]
        self.counts["qr_frames"] += 1
        texts = decode_frame(frame_with_qr(text, rng=self._frames))
        if not texts:
            self.counts["qr_unreadable"] += 1
        return texts

    def present(self, gate: GateAgent, person: str, credential: str) -> Verdict | None:
        if credential == "qr":
            verdict = None
            for text in self.show_qr(self.qr_text(person)):
                verdict = gate.present_qr(text)
            return verdict
        return gate.present_card(self._people[person][0])

    def gate_pass(self, p: GatePass) -> None:
        """One person at a gate. People queue: a gate serves one opening at a time,
        so the next person presents their credential after the door has shut
        (otherwise their opening would look forced)."""
        direction = Direction.ENTRY if p.direction == "entry" else Direction.EXIT
        gate = self.gate(p.building, direction)
        if not self._usable(p.building, gate):
            # The gate is off: people go round to the other one.
            other = Direction.EXIT if direction is Direction.ENTRY else Direction.ENTRY
            gate = self.gate(p.building, other)
        now_s = self.loop.monotonic()
        free_s = self._busy_until.get(gate.device, 0.0)
        if now_s < free_s:
            self.counts["queued"] += 1
            self.loop.call_later(free_s - now_s + QUEUE_GAP_S, partial(self.gate_pass, p))
            return
        verdict = self.present(gate, p.person, p.credential)
        if verdict is None:
            return
        self.counts["granted" if verdict.granted else "denied"] += 1
        if verdict.granted:
            busy_s = self.walk_through(gate, OPEN_AFTER_S, p.walkers, p.open_s)
        elif p.let_in_after_s is not None:
            self.loop.call_later(p.let_in_after_s, lambda: self.press_exit(gate))
            busy_s = self.walk_through(gate, p.let_in_after_s + OPEN_AFTER_S, 1, p.open_s)
        else:
            busy_s = 1.0
        self._busy_until[gate.device] = now_s + busy_s

    def reserve_gate(self, gate: GateAgent, seconds: float) -> None:
        """Keep the simulated people away from ``gate`` for a while (a scenario's door)."""
        now_s = self.loop.monotonic()
        self._busy_until[gate.device] = max(self._busy_until.get(gate.device, 0.0), now_s) + seconds

    def walk_through(self, gate: GateAgent, after_s: float, walkers: int, open_s: float) -> float:
        """Open the door ``after_s`` from now, walk people through; seconds until it shuts."""
        hw = gate.door.hw
        self.loop.call_later(after_s, hw.door_contact.pin.drive_high)
        beam = hw.beam
        for i in range(walkers):
            if beam is None:
                break
            at = after_s + 0.3 + i * WALK_GAP_S
            self.loop.call_later(at, beam.pin.drive_low)
            self.loop.call_later(at + 0.2, beam.pin.drive_high)
        shut_s = after_s + max(open_s, 0.5 + walkers * WALK_GAP_S)
        self.loop.call_later(shut_s, hw.door_contact.pin.drive_low)
        return shut_s

    def press_exit(self, gate: GateAgent) -> None:
        pin = gate.door.hw.exit_button.pin
        pin.drive_low()
        self.loop.call_later(0.2, pin.drive_high)

    def force_door(self, gate: GateAgent, open_s: float) -> None:
        """The door opened without a grant (pried open, or held from inside)."""
        hw = gate.door.hw
        hw.door_contact.pin.drive_high()
        self.loop.call_later(open_s, hw.door_contact.pin.drive_low)

    def room_move(self, room: str, delta: int) -> None:
        building = room.split("-", 1)[0]
        self.rigs[building].physics[room].move(delta)

    def appliance(self, room: str, power_w: float, duration_s: float) -> None:
        phys = self.rigs[room.split("-", 1)[0]].physics[room]
        phys.appliances_w += power_w

        def off() -> None:
            phys.appliances_w = max(0.0, phys.appliances_w - power_w)

        self.loop.call_later(duration_s, off)

    def smoke(self, room: str, duration_s: float) -> None:
        rig = self.rigs[room.split("-", 1)[0]]
        phys = rig.physics[room]
        contact = rig.smoke.get(room)  # None: no sensor in that room
        phys.fire = True
        if contact is not None:
            contact.pin.drive_high()  # type: ignore[attr-defined]

        def clear() -> None:
            phys.fire = False
            if contact is not None:
                contact.pin.drive_low()  # type: ignore[attr-defined]

        self.loop.call_later(duration_s, clear)

    def duty_scan(self, building: str, person: str, *, checkin: bool = True) -> None:
        kiosk = self.rigs[building].kiosk
        if kiosk.device in self.rigs[building].link.offline_devices:
            return
        if checkin and building in self.skip_checkin:
            self.skip_checkin.discard(building)
            self.counts["checkins_skipped"] += 1
            return
        for text in self.show_qr(self.qr_text(person)):
            if kiosk.present_qr(text) is not None:
                self.counts["duty_checks"] += 1
