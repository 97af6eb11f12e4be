"""What every agent shares: inbound messages, commands and acknowledgements, heartbeats.

An agent never touches MQTT directly. Received messages arrive from
:class:`edge.mqtt_link.MqttLink`'s queue and go through :meth:`Agent.handle_inbound`
(strict decode; a bad message is counted by reason and logged, the loop goes
on); what the agent has to say goes through :class:`edge.events.EventSink`
into the durable outbox. :class:`AgentRunner` is the loop that connects the two.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from importlib import metadata
from typing import Final

from edge.allowlist import AllowlistStore
from edge.door import CommandOutcome
from edge.errors import AllowlistError
from edge.events import EventSink
from edge.mqtt_link import Inbound, MqttLink
from edge.timers import ThreadScheduler
from protocol.codec import decode
from protocol.downlink import SIGNED_FAMILIES, DownlinkSignatureError, DownlinkVerifier
from protocol.errors import InvalidMessageError
from protocol.messages import (
    AckResult,
    Command,
    CommandAck,
    CommandAction,
    Heartbeat,
    Message,
)
from protocol.topics import Family, TopicError, building_topic, parse_topic
from transport.outbox import Priority

log = logging.getLogger(__name__)

REMEMBERED_COMMANDS: Final = 1000
#: After a refused (forged or unsigned) downlink message, a heartbeat reports it
#: at once, but not more often than this, so a flood cannot flood the outbox.
REFUSAL_REPORT_INTERVAL_S: Final = 10.0
MAX_CLOCK_OFFSET_MS: Final = 10**9


@functools.cache
def software_version() -> str:
    # Cached: reading the installed metadata costs ~0.7 ms, and every heartbeat asks.
    try:
        return metadata.version("dorm-iot")
    except metadata.PackageNotFoundError:
        return "0.0.0"


class Agent:
    """Base of the gate, kiosk and room-sensor agents."""

    def __init__(
        self,
        *,
        sink: EventSink,
        config_version: str,
        heartbeat_s: float,
        reload_config: Callable[[], str] | None = None,
        store: AllowlistStore | None = None,
    ) -> None:
        # The sink already knows the device, its building and the clock that
        # stamps its events; the agent decides on that same clock.
        self.sink = sink
        self.device = sink.device
        self.building = sink.building
        self.clock = sink.clock
        self.store = store
        self._snapshot_topic = building_topic(sink.building, Family.ALLOWLIST_SNAPSHOT)
        self.config_version = config_version
        self.heartbeat_s = heartbeat_s
        self.reload_config = reload_config
        self.rejected: Counter[str] = Counter()
        self.clock_offset_ms = 0
        self._started = time.monotonic()
        self._commands: OrderedDict[str, AckResult] = OrderedDict()
        self._lock = threading.Lock()
        #: Set by edge.runtime from the provisioned ``downlink-keys.json``; None
        #: accepts unsigned commands and allowlists (and says so at start).
        self.downlink: DownlinkVerifier | None = None
        self.downlink_refused = 0
        self._last_refusal_report: float | None = None

    # -- inbound ---------------------------------------------------------------------

    def handle_inbound(self, item: Inbound) -> None:
        if self.downlink is not None and item.payload and not self._signed(self.downlink, item):
            return
        if self.store is not None and item.topic == self._snapshot_topic:
            self._take_snapshot(self.store, item.payload)
            return
        try:
            message = decode(item.topic, item.payload)
        except InvalidMessageError as exc:
            self.rejected[exc.reason.value] += 1
            log.warning("rejected message on %s: %s", item.topic, exc)
            return
        self.dispatch(message)

    def _signed(self, verifier: DownlinkVerifier, item: Inbound) -> bool:
        """False (counted, logged, reported) for a downlink message without a valid signature."""
        try:
            family = parse_topic(item.topic).family
        except TopicError:
            return True  # decode refuses it with its own reason
        if family not in SIGNED_FAMILIES:
            return True
        try:
            verifier.verify(item.topic, item.payload)
        except DownlinkSignatureError as exc:
            self.downlink_refused += 1
            self.rejected[f"downlink_{exc.reason.value}"] += 1
            now = time.monotonic()
            last = self._last_refusal_report
            if last is None or now - last >= REFUSAL_REPORT_INTERVAL_S:
                # Logged and reported at once, then at most every interval (a
                # flood of forgeries must not flood the log or the outbox).
                self._last_refusal_report = now
                log.warning(
                    "refused %s on %s: %s (%d refused since start)",
                    family.value,
                    item.topic,
                    exc,
                    self.downlink_refused,
                )
                self.heartbeat()
            else:
                log.debug("refused %s on %s: %s", family.value, item.topic, exc)
            return False
        return True

    def _take_snapshot(self, store: AllowlistStore, payload: bytes) -> None:
        # A snapshot (up to 16 MiB) is validated entry by entry straight into
        # the index instead of being decoded whole first: see edge.allowlist.
        if not payload:
            return  # a cleared retained message
        try:
            store.apply_snapshot_json(payload)
        except AllowlistError as exc:
            self.rejected["allowlist_snapshot"] += 1
            log.warning("allowlist snapshot refused: %s", exc)

    def dispatch(self, message: Message) -> None:
        if isinstance(message, Command):
            self.handle_command(message)
        else:
            log.debug("ignoring %s", type(message).__name__)

    # -- commands --------------------------------------------------------------------

    def handle_command(self, command: Command) -> None:
        now = self.clock()
        offset_ms = int((now - command.issued_at).total_seconds() * 1000)
        self.clock_offset_ms = max(-MAX_CLOCK_OFFSET_MS, min(MAX_CLOCK_OFFSET_MS, offset_ms))
        with self._lock:
            if command.device != self.device:
                return
            previous = self._commands.get(command.id)
            if previous is not None:
                # Delivered twice (QoS 1): acknowledge again, do not act again.
                self._ack(command, previous, "duplicate; already handled")
                return
            if now >= command.expires_at:
                outcome = CommandOutcome(AckResult.EXPIRED, "expired before it arrived")
            else:
                outcome = self.execute(command)
            self._commands[command.id] = outcome.result
            while len(self._commands) > REMEMBERED_COMMANDS:
                self._commands.popitem(last=False)
            self._ack(command, outcome.result, outcome.detail)
        log.info("command %s %s: %s", command.action.value, command.id, outcome.result.value)

    def _ack(self, command: Command, result: AckResult, detail: str) -> None:
        self.sink.emit(
            CommandAck,
            command_id=command.id,
            action=command.action,
            result=result,
            detail=detail[:200],
        )

    def execute(self, command: Command) -> CommandOutcome:
        """Carry out a command; subclasses handle the door actions."""
        if command.action is CommandAction.RELOAD_CONFIG:
            return self.reload()
        return CommandOutcome(AckResult.REJECTED, f"{command.action.value}: not a door device")

    def reload(self) -> CommandOutcome:
        if self.reload_config is None:
            return CommandOutcome(AckResult.REJECTED, "no configuration file to reload")
        try:
            self.config_version = self.reload_config()
        except (OSError, ValueError) as exc:
            return CommandOutcome(AckResult.FAILED, f"reload failed: {exc}")
        return CommandOutcome(AckResult.OK, f"configuration {self.config_version}")

    # -- heartbeat -------------------------------------------------------------------

    @property
    def allowlist_version(self) -> int:
        return 0

    def heartbeat(self) -> Heartbeat | None:
        outbox = self.sink.outbox.stats()
        return self.sink.emit(
            Heartbeat,
            priority=Priority.TELEMETRY,
            software_version=software_version(),
            config_version=self.config_version,
            allowlist_version=self.allowlist_version,
            outbox_depth=outbox.depth,
            outbox_shed=outbox.shed_telemetry,
            outbox_refused=outbox.refused_telemetry + outbox.refused_events,
            downlink_refused=self.downlink_refused,
            clock_offset_ms=self.clock_offset_ms,
            uptime_s=round(time.monotonic() - self._started, 3),
            interval_s=self.heartbeat_s,
        )

    def close(self) -> None:
        """Release what the agent holds (subclasses: timers, hardware)."""


class AgentRunner:
    """Feeds the link's inbox to the agent and sends heartbeats, on its own threads."""

    def __init__(self, agent: Agent, link: MqttLink, scheduler: ThreadScheduler) -> None:
        self.agent = agent
        self.link = link
        self.scheduler = scheduler
        self.errors = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{agent.device}-inbox", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self.scheduler.call_later(0.0, self._heartbeat)

    def _heartbeat(self) -> None:
        if self._stopping.is_set():
            return
        self.agent.heartbeat()
        self.scheduler.call_later(self.agent.heartbeat_s, self._heartbeat)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                item = self.link.inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self.agent.handle_inbound(item)
            except (OSError, ValueError) as exc:
                # e.g. the allowlist cache cannot be written; keep serving the door.
                self.errors += 1
                log.error("handling a message on %s failed: %s", item.topic, exc)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(5.0)
