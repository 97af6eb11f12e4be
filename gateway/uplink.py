"""Uplink: received → validated → de-duplicated → stamped → stored → acknowledged.

One worker thread takes what the building link received, in batches (up to
``batch_max`` messages or ``batch_wait_s``), and for each message:

1. decodes it with the contract (``protocol.codec.decode``) and checks the
   gateway's own rules (its building, a family devices may send, a known
   device); a refusal is counted by reason and logged, and the loop goes on;
2. drops a repeat of ``(device, seq)`` (:mod:`gateway.dedupe`);
3. tells the observers (fire release, liveness, command acknowledgements) at
   once, before anything is written;
4. stamps ``received_at`` (and ``replayed`` while the central broker is
   unreachable) and re-encodes.

The batch is then written to the outbox together with its dedupe marks in
one transaction, and only after that are the messages acknowledged to the
building broker. A SIGKILL at any point therefore loses nothing: what was not
stored is redelivered by the broker, what was stored is recognised as a repeat.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Final, Protocol

import msgspec

from gateway.config import GatewayConfig
from gateway.counters import GatewayCounters, ThrottledLog
from gateway.dedupe import SeqWindow, Verdict
from gateway.links import Received
from gateway.store import GatewayOutbox
from protocol.codec import decode
from protocol.errors import InvalidMessageError, RejectReason
from protocol.messages import DeviceEvent, DeviceState, Message, encode
from protocol.topics import PREFIX, Family, TopicError, parse_topic
from transport.outbox import Message as OutboxMessage
from transport.outbox import Priority

log = logging.getLogger(__name__)

#: What a device may send up; anything else under a device topic is refused.
UPLINK_FAMILIES: Final = frozenset(
    {
        Family.ACCESS,
        Family.DOOR,
        Family.PASSAGE,
        Family.DUTY,
        Family.TELEMETRY,
        Family.HEARTBEAT,
        Family.STATE,
        Family.COMMAND_ACK,
    }
)
#: Shed first when the outbox is full.
_TELEMETRY_FAMILIES: Final = frozenset({Family.TELEMETRY, Family.HEARTBEAT})
_SEQ_MAX: Final = 2**63 - 1


def uplink_filters(building: str) -> list[str]:
    """What the gateway subscribes to on the building broker.

    Every device topic except exactly ``dev/+/cmd``, which the gateway itself
    publishes (commands, fire release) and must not read back as uplink. The
    ``/#`` tails also bring in malformed variants (``event/party``,
    ``telemetry/x``), which are counted as ``unknown_topic``; a topic outside
    these filters is never forwarded (the broker's ACL keeps devices off it).
    """
    base = f"{PREFIX}/{building}/dev/+"
    return [
        f"{base}/event/#",
        f"{base}/telemetry/#",
        f"{base}/heartbeat/#",
        f"{base}/state/#",
        f"{base}/cmd/+",
        f"{base}/gateway/#",
    ]


class GatewayRejectReason:
    """Refusals of the gateway's own rules, counted beside the contract's reasons."""

    WRONG_BUILDING = "wrong_building"
    UNAUTHORISED_FAMILY = "unauthorised_family"
    UNKNOWN_DEVICE = "unknown_device"


class UplinkObserver(Protocol):
    def observe(self, message: Message, family: Family) -> None: ...


class UplinkPipeline:
    """The worker thread between the building link's queue and the outbox."""

    def __init__(
        self,
        config: GatewayConfig,
        inbox: queue.Queue[Received],
        outbox: GatewayOutbox,
        counters: GatewayCounters,
        *,
        ack: Callable[[int, int], None],
        stored: Callable[[], None],
        uplink_connected: Callable[[], bool],
        observers: Sequence[UplinkObserver] = (),
    ) -> None:
        self.config = config
        self.inbox = inbox
        self.outbox = outbox
        self.counters = counters
        self._ack = ack
        self._stored = stored
        self._uplink_connected = uplink_connected
        self._observers = list(observers)
        self.window = SeqWindow(config.dedupe_window)
        self.window.load(outbox.load_seen())
        self._reject_log = ThrottledLog(log)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gateway-uplink", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    # -- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            batch = self._collect()
            if batch:
                self.process(batch)

    def _collect(self) -> list[Received]:
        try:
            first = self.inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.config.batch_wait_s
        while len(batch) < self.config.batch_max:
            try:
                batch.append(self.inbox.get_nowait())
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    batch.append(self.inbox.get(timeout=remaining))
                except queue.Empty:
                    break
        return batch

    def process(self, batch: Sequence[Received]) -> None:
        """Validate, de-duplicate, stamp and store one batch, then acknowledge it."""
        now = datetime.now(UTC)
        replayed = not self._uplink_connected()
        messages: list[OutboxMessage] = []
        seen: list[tuple[str, int]] = []
        prune: dict[str, int] = {}
        duplicates = 0
        for item in batch:
            accepted = self._validate(item)
            if accepted is None:
                continue
            message, family = accepted
            payload = item.payload
            if isinstance(message, DeviceEvent):
                verdict = self.window.admit(message.device, message.seq)
                if verdict is Verdict.DUPLICATE:
                    duplicates += 1
                    continue
                if verdict is Verdict.RESET:
                    self.counters.add("seq_resets")
                    seen = [s for s in seen if s[0] != message.device]
                    prune[message.device] = _SEQ_MAX
                seen.append((message.device, message.seq))
                # A device that replays its own outbox has marked the event already;
                # the gateway only adds its own backlog, never clears the mark.
                stamped = msgspec.structs.replace(
                    message, received_at=now, replayed=replayed or message.replayed
                )
                payload = encode(stamped)
            for observer in self._observers:
                observer.observe(message, family)
            priority = Priority.TELEMETRY if family in _TELEMETRY_FAMILIES else Priority.EVENT
            messages.append(OutboxMessage(item.topic, payload, priority, family.retained))
        for device in {device for device, _seq in seen}:
            if device not in prune:
                high = self.window.high(device)
                if high is not None and high - self.config.dedupe_window > 0:
                    prune[device] = high - self.config.dedupe_window
        self.counters.add("received", len(batch))
        self.counters.add("duplicates", duplicates)
        try:
            stored = self.outbox.put_batch(messages, seen, list(prune.items()))
        except sqlite3.Error:
            # Nothing is acknowledged: the building broker redelivers after a reconnect.
            log.exception(
                "cannot store a batch of %d messages; they stay unacknowledged", len(batch)
            )
            self.window.load(self.outbox.load_seen())
            time.sleep(0.5)
            return
        refused = len(messages) - stored
        if refused:
            log.error("outbox full: %d messages refused (counted in refused_*)", refused)
        for item in batch:
            self._ack(item.mid, item.qos)
        if stored:
            self._stored()

    def _validate(self, item: Received) -> tuple[Message, Family] | None:
        # The topic first: it decides who may send what, before the payload is read.
        try:
            topic = parse_topic(item.topic)
        except TopicError as exc:
            self._reject(RejectReason.UNKNOWN_TOPIC.value, item.topic, str(exc))
            return None
        if topic.building != self.config.building:
            self._reject(GatewayRejectReason.WRONG_BUILDING, item.topic, "not this building")
            return None
        if topic.family not in UPLINK_FAMILIES:
            self._reject(
                GatewayRejectReason.UNAUTHORISED_FAMILY, item.topic, "devices may not send this"
            )
            return None
        known = self.config.known_devices
        if known is not None and topic.device not in known:
            self._reject(GatewayRejectReason.UNKNOWN_DEVICE, item.topic, "not in the site config")
            return None
        try:
            message = decode(topic, item.payload)
        except InvalidMessageError as exc:
            self._reject(exc.reason.value, item.topic, exc.detail)
            return None
        assert isinstance(message, DeviceEvent | DeviceState)
        return message, topic.family

    def _reject(self, reason: str, topic: str, detail: str) -> None:
        self.counters.reject(reason)
        self._reject_log.warning(
            reason, "rejected message on %.120r: %s: %.200s", topic, reason, detail
        )
