"""Building a running agent from its device file: hardware, storage, MQTT, threads.

This is the one place that constructs gpiozero devices, cameras and card
readers (from the pins and settings in firmware-config); everything below it
takes them as arguments. gpiozero picks its pin factory from
``GPIOZERO_PIN_FACTORY`` (``mock`` runs the agent without a Pi).

The device and site files are validated by siteconfig in a child process
(:func:`load_settings`): the agent process never imports pydantic.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

import msgspec
from gpiozero import LED, Button, Buzzer, DigitalInputDevice, MotionSensor, OutputDevice

from edge.agent import Agent, AgentRunner, software_version
from edge.allowlist import AllowlistStore
from edge.door import DoorController, DoorHardware, DoorTimings
from edge.errors import ConfigurationError, StateError
from edge.events import EventSink, SeqStore
from edge.feedback import Feedback
from edge.gate import GateAgent
from edge.heap import limit_heap_growth
from edge.kiosk import KioskAgent
from edge.meters import Pzem004tMeter
from edge.mqtt_link import BrokerAddress, MqttLink
from edge.readers import EvdevCardReader, LineCardReader, Reader, open_serial_reader
from edge.room_sensor import Ds18b20Thermometer, PirOccupancy, RoomSensorAgent
from edge.settings import (
    SETTINGS_DECODER,
    CameraSettings,
    CardReaderSettings,
    DeviceSettings,
    GateSettings,
    KioskSettings,
    RoomSensorSettings,
)
from edge.timers import ThreadScheduler
from protocol.downlink import DownlinkVerifier
from protocol.errors import ProtocolError
from protocol.messages import Direction
from protocol.topics import Family, building_topic, device_topic
from transport.outbox import Outbox

if TYPE_CHECKING:
    from edge.camera import QrScanner

log = logging.getLogger(__name__)

CARD_KEY_FILE: Final = "card-hash.key"
OUTBOX_FILE: Final = "outbox.db"
#: Contact and beam inputs: ignore bounces shorter than this (seconds).
INPUT_BOUNCE_S: Final = 0.02
#: Validating the configuration in the child process takes ~0.5 s here, a few on a Pi.
SETTINGS_TIMEOUT_S: Final = 120.0


@dataclass(frozen=True, slots=True)
class EdgeOptions:
    device_path: Path
    site_path: Path
    state_dir: Path
    card_key_path: Path | None = None
    #: run without a camera (no QR), e.g. on a bench
    camera: bool = True
    #: read cards from standard input instead of the configured reader
    stdin_cards: bool = False
    outbox_max_rows: int = 100_000
    first_connect_jitter_s: float = 2.0
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    #: connect here instead of the device file's broker (bench, tests)
    broker_override: tuple[str, int] | None = None
    #: ``downlink-keys.json`` from ``dorm provision``: commands and allowlists must
    #: be signed by one of its keys. None accepts unsigned ones (with a warning).
    downlink_keys_path: Path | None = None


def config_version(path: Path) -> str:
    """The device file's content hash: what the heartbeat reports as the config version."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def load_card_key(path: Path) -> bytes:
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise StateError(f"cannot read the card-hash key {path}: {exc}") from exc
    if len(key) < 16:
        raise StateError(f"the card-hash key in {path} is shorter than 16 bytes")
    return key


def load_settings(device_path: Path, site_path: Path) -> DeviceSettings:
    """Validate the device and site files with siteconfig (in a child process).

    Raise :class:`ConfigurationError` with siteconfig's report (file, line,
    reason of every error) if they are invalid.
    """
    command = [
        sys.executable,
        "-m",
        "edge.settings_from_config",
        "--device",
        str(device_path),
        "--site",
        str(site_path),
    ]
    try:
        done = subprocess.run(command, capture_output=True, timeout=SETTINGS_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StateError(f"cannot validate the configuration: {exc}") from exc
    report = done.stderr.decode(errors="replace").strip()
    if done.returncode == 2:
        raise ConfigurationError(report)
    if done.returncode != 0:
        raise StateError(f"validating the configuration failed ({done.returncode}): {report}")
    try:
        return SETTINGS_DECODER.decode(done.stdout)
    except msgspec.DecodeError as exc:
        raise StateError(f"the configuration validator's output does not decode: {exc}") from exc


def door_timings(gate: GateSettings) -> DoorTimings:
    return DoorTimings(
        unlock_s=gate.unlock_s,
        held_open_s=gate.held_open_s,
        relock_on_close=gate.relock_on_close,
    )


@dataclass
class EdgeRuntime:
    """Everything one agent process runs; :meth:`start` and :meth:`stop` own the threads."""

    agent: Agent
    link: MqttLink
    outbox: Outbox
    scheduler: ThreadScheduler
    runner: AgentRunner
    readers: list[Reader] = field(default_factory=list)
    scanner: QrScanner | None = None
    stopped: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self.link.start()
        self.runner.start()
        if isinstance(self.agent, RoomSensorAgent):
            self.agent.start()
        for reader in self.readers:
            reader.start()
        if self.scanner is not None:
            self.scanner.start()

    def stop(self) -> None:
        if self.stopped.is_set():
            return
        self.stopped.set()
        if self.scanner is not None:
            self.scanner.stop()
        for reader in self.readers:
            reader.stop()
        self.runner.stop()
        self.agent.close()
        self.scheduler.close()
        self.link.stop()
        self.outbox.close()


def build(options: EdgeOptions) -> EdgeRuntime:
    limit_heap_growth()
    device = load_settings(options.device_path, options.site_path)
    # Before any hardware or storage is touched: a bad key file stops the start.
    downlink = _downlink_verifier(options.downlink_keys_path, device.id)
    role = device.role
    pins = device.pins
    state_dir = options.state_dir
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateError(f"cannot create the state directory {state_dir}: {exc}") from exc
    outbox = Outbox(state_dir / OUTBOX_FILE, max_rows=options.outbox_max_rows)
    subscriptions = [device_topic(device.building, device.id, Family.COMMAND)]
    if not isinstance(role, RoomSensorSettings):
        subscriptions += [
            building_topic(device.building, Family.ALLOWLIST_SNAPSHOT),
            building_topic(device.building, Family.ALLOWLIST_DELTA),
        ]
    if isinstance(role, GateSettings):
        # The building's other gates' decisions feed soft anti-passback (if the ACL allows).
        subscriptions.append(f"dorm/v1/{device.building}/dev/+/{Family.ACCESS.value}")
    link = MqttLink(
        device.id,
        device.building,
        BrokerAddress(
            options.broker_override[0] if options.broker_override else device.broker_host,
            options.broker_override[1] if options.broker_override else device.broker_port,
            device.broker_tls,
            options.mqtt_username,
            options.mqtt_password,
        ),
        outbox,
        software_version=software_version(),
        subscriptions=subscriptions,
        first_connect_jitter_s=options.first_connect_jitter_s,
    )
    sink = EventSink(
        device.id,
        device.building,
        outbox,
        SeqStore(state_dir),
        connected=lambda: link.connected,
        wake=link.wake,
    )
    scheduler = ThreadScheduler(name=f"{device.id}-timers")
    version = config_version(options.device_path)
    readers: list[Reader] = []
    scanner: QrScanner | None = None
    agent: Agent

    if isinstance(role, GateSettings):
        beam = pins.get("people_counter")
        hardware = DoorHardware(
            relay=OutputDevice(pins["relay"]),
            green_led=LED(pins["green_led"]),
            red_led=LED(pins["red_led"]),
            buzzer=Buzzer(pins["buzzer"]),
            door_contact=DigitalInputDevice(
                pins["door_contact"], pull_up=True, bounce_time=INPUT_BOUNCE_S
            ),
            exit_button=Button(pins["exit_button"], bounce_time=INPUT_BOUNCE_S),
            beam=None
            if beam is None
            else DigitalInputDevice(beam, pull_up=True, bounce_time=INPUT_BOUNCE_S),
        )
        direction = Direction(role.direction)
        door = DoorController(
            hardware,
            scheduler,
            lambda _report: None,
            timings=door_timings(role),
            direction=direction,
        )
        store = AllowlistStore(device.building, state_dir)
        store.load()
        gate = GateAgent(
            direction=direction,
            sink=sink,
            door=door,
            store=store,
            card_key=load_card_key(options.card_key_path or state_dir / CARD_KEY_FILE),
            tz=ZoneInfo(device.timezone),
            curfew=device.curfew,
            config_version=version,
            heartbeat_s=device.heartbeat_s,
        )

        def reload_gate() -> str:
            fresh = load_settings(options.device_path, options.site_path).role
            if not isinstance(fresh, GateSettings):
                raise ValueError("the device file no longer describes a gate")
            gate.set_door_timings(door_timings(fresh))
            return config_version(options.device_path)

        gate.reload_config = reload_gate
        agent = gate
        readers.append(_card_reader(role.card_reader, options, gate.present_card))
        if options.camera:
            scanner = _scanner(role.camera, gate.present_qr)
    elif isinstance(role, KioskSettings):
        store = AllowlistStore(device.building, state_dir)
        store.load()
        feedback = Feedback(
            LED(pins["green_led"]), LED(pins["red_led"]), Buzzer(pins["buzzer"]), scheduler
        )
        kiosk = KioskAgent(
            sink=sink,
            store=store,
            feedback=feedback,
            state_dir=state_dir,
            config_version=version,
            heartbeat_s=device.heartbeat_s,
            reload_config=lambda: config_version(options.device_path),
        )
        agent = kiosk
        if options.camera:
            scanner = _scanner(role.camera, kiosk.present_qr)
    else:
        agent = _room_sensor(device, role, sink, scheduler, version, options)
    agent.downlink = downlink
    runner = AgentRunner(agent, link, scheduler)
    return EdgeRuntime(agent, link, outbox, scheduler, runner, readers, scanner)


def _downlink_verifier(path: Path | None, device_id: str) -> DownlinkVerifier | None:
    if path is None:
        log.warning(
            "%s: no downlink keys given: commands and allowlists are NOT signature-checked "
            "(pass the provisioned downlink-keys.json)",
            device_id,
        )
        return None
    try:
        verifier = DownlinkVerifier.from_file(path)
    except (ProtocolError, ValueError) as exc:
        raise StateError(f"cannot use the downlink keys {path}: {exc}") from exc
    log.info("%s: downlink signatures checked against keys %s", device_id, verifier.kids)
    return verifier


def _card_reader(config: CardReaderSettings, options: EdgeOptions, on_card: Any) -> Reader:
    if options.stdin_cards or config.kind == "stdin":
        return LineCardReader(sys.stdin.buffer, on_card, name="stdin")
    if config.path is None:
        raise StateError(f"the {config.kind} card reader has no device path")
    if config.kind == "serial":
        return open_serial_reader(config.path, config.baud or 9600, on_card)
    return EvdevCardReader(config.path, on_card)


def _scanner(camera: CameraSettings, on_text: Any) -> QrScanner:
    # Imported here: OpenCV and numpy are ~30 MB of a card-only gate's memory.
    from edge.camera import OpenCvCamera, QrScanner

    return QrScanner(
        OpenCvCamera(camera.device, camera.width_px, camera.height_px, camera.fps), on_text
    )


def _room_sensor(
    device: DeviceSettings,
    role: RoomSensorSettings,
    sink: EventSink,
    scheduler: ThreadScheduler,
    version: str,
    options: EdgeOptions,
) -> RoomSensorAgent:
    import serial

    if role.thermometer != "ds18b20":
        raise StateError(
            f"temperature sensor {role.thermometer} is not supported yet (use ds18b20)"
        )
    port = serial.Serial(port=role.meter_port, baudrate=role.meter_baud, timeout=0.5)
    return RoomSensorAgent(
        room=role.room,
        sink=sink,
        scheduler=scheduler,
        occupancy=PirOccupancy(MotionSensor(device.pins["occupancy"]), scheduler),
        smoke=DigitalInputDevice(device.pins["smoke"], bounce_time=INPUT_BOUNCE_S),
        meter=Pzem004tMeter(port, role.meter_address),
        thermometer=Ds18b20Thermometer(role.thermometer_address),
        config_version=version,
        heartbeat_s=device.heartbeat_s,
        reload_config=lambda: config_version(options.device_path),
    )


def credentials_from_env() -> tuple[str | None, str | None]:
    """MQTT user and password: ``DORM_MQTT_USERNAME`` and ``DORM_MQTT_PASSWORD_FILE``."""
    username = os.environ.get("DORM_MQTT_USERNAME")
    password_file = os.environ.get("DORM_MQTT_PASSWORD_FILE")
    if password_file is None:
        return username, None
    try:
        return username, Path(password_file).read_text().strip()
    except OSError as exc:
        raise StateError(f"cannot read {password_file}: {exc}") from exc
