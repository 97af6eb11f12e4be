"""The engine: de-duplication, lateness, streams, dispatch to the rules.

See docs/rules.md for the design; in short:

* Each ``(building, message)`` pair is de-duplicated by event id, checked
  against its stream's watermark (older → *late*: counted, logged, dropped),
  judged at once by the rules that need no state, and buffered.
* The stream's watermark is its latest event time minus the source kind's
  lateness. Heartbeats move the stream of their device's kind too, and
  ``advance(now)`` moves the streams of a *live* building by processing time
  (never past its last live, not replayed, message plus ``idle_advance_s``).
* When a watermark moves, buffered events and due timers are handed to the
  stateful rules in event-time order.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from protocol.messages import (
    AccessDecision,
    CommandAck,
    DeviceState,
    DoorEvent,
    DutyCheck,
    GatewayHealth,
    Heartbeat,
    Message,
    PassageCount,
    RoomTelemetry,
)
from rules.base import Handler, Rule
from rules.catalog import RULE_CLASSES
from rules.config import RulesConfig, default_config
from rules.context import SiteContext
from rules.env import Env
from rules.signals import AlertSignal
from rules.stream import GATE, HEALTH, KIOSK, ROOM, STREAM_KINDS, Stream

logger = logging.getLogger(__name__)

#: The stream each message type is ordered on.
ROUTES: Final[dict[type[Message], str]] = {
    AccessDecision: GATE,
    DoorEvent: GATE,
    PassageCount: GATE,
    DutyCheck: KIOSK,
    RoomTelemetry: ROOM,
    Heartbeat: HEALTH,
    GatewayHealth: HEALTH,
    DeviceState: HEALTH,
    CommandAck: HEALTH,
}
#: Late events are logged at most once per stream in this many seconds (counted always).
LATE_LOG_S: Final = 10.0
#: How many ids of device-backlog events are remembered against redelivery.
DEVICE_BACKLOG_IDS: Final = 100_000
#: A heartbeat also moves the stream of its device's kind (idle sources advance).
DEVICE_KIND_STREAM: Final = {"gate": GATE, "kiosk": KIOSK, "room_sensor": ROOM}


@dataclass(slots=True)
class _Liveness:
    """What the engine knows of a building's uplink (for processing-time advance)."""

    #: Processing time of the last message that was not replayed.
    last_live_s: float | None = None
    #: Event time of the newest GatewayHealth, and whether it said "backlog".
    health_ts: float = float("-inf")
    backlog: bool = False


class Engine:
    """The rules engine (``rules.signals.RuleEngine``)."""

    def __init__(
        self,
        ctx: SiteContext | None = None,
        config: RulesConfig | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config or default_config()
        self.env = Env(ctx or SiteContext(), clock, self.config.engine.delayed_after_s)
        self.rules: dict[str, Rule[Any]] = {}
        self._streams: dict[tuple[str, str], Stream] = {}
        self._seen: dict[str, float] = {}
        #: Ids of events judged from devices' own backlogs (insertion-ordered, bounded).
        self._device_backlog: dict[str, None] = {}
        self._liveness: dict[str, _Liveness] = {}
        #: (building, kind) → (when a late event was last logged, how many since).
        self._late_log: dict[tuple[str, str], tuple[float, int]] = {}
        self._arrival: dict[tuple[str, type[Message]], tuple[Handler, ...]] = {}
        self._ordered: dict[tuple[str, type[Message]], tuple[Handler, ...]] = {}
        #: observe, advance and the reloads may come from different threads.
        self._lock = threading.Lock()
        self._build_rules(self.config)

    # -- public API ----------------------------------------------------------------

    @property
    def counters(self) -> dict[str, int]:
        return dict(self.env.counters)

    @property
    def ctx(self) -> SiteContext:
        return self.env.ctx

    def observe(self, messages: Sequence[tuple[str, Message]]) -> list[AlertSignal]:
        """Judge a committed batch of ``(building, message)``; the signals it produced."""
        with self._lock:
            return self._observe(messages)

    def advance(self, now: datetime) -> list[AlertSignal]:
        """Move idle streams of live buildings on by processing time ``now``."""
        with self._lock:
            return self._advance(now)

    def advance_event_time(
        self, until: datetime, buildings: Iterable[str] | None = None
    ) -> list[AlertSignal]:
        """Move the streams of ``buildings`` (default: every building of the context
        and every one seen) to ``until``, firing due timers. A backtest calls it
        at its start (so calendar timers are set from there) and at its end."""
        with self._lock:
            return self._advance_event_time(until, buildings)

    def reload_context(self, ctx: SiteContext) -> None:
        """A new site context (rooms, shifts, leaves, bookings…), without a restart."""
        with self._lock:
            self._reload_context(ctx)

    def reload_rules(self, config: RulesConfig) -> None:
        """New rule settings; a rule that stays enabled keeps its state."""
        with self._lock:
            self._reload_rules(config)

    def _observe(self, messages: Sequence[tuple[str, Message]]) -> list[AlertSignal]:
        env = self.env
        env.set_now(None)
        now = env.now_s()
        future_limit = None if now is None else now + self.config.engine.max_future_s
        touched: dict[tuple[str, str], Stream] = {}
        live: set[str] = set()
        seen = self._seen
        streams = self._streams
        arrival = self._arrival
        counters = env.counters
        routes = ROUTES
        accepted = 0
        for building, message in messages:
            mtype = type(message)
            kind = routes.get(mtype)
            if kind is None:
                counters["ignored"] += 1
                continue
            if mtype is DeviceState:
                state: DeviceState = message  # type: ignore[assignment]
                event_id = f"{state.device}:{state.status.value}:{state.ts.isoformat()}"
                replayed = False
            else:
                event_id = message.id  # type: ignore[attr-defined]
                replayed = message.replayed  # type: ignore[attr-defined]
            if event_id in seen:
                counters["duplicates"] += 1
                continue
            ts: float = message.ts.timestamp()  # type: ignore[attr-defined]
            key = (building, kind)
            stream = streams.get(key) or self._stream(building, kind)
            if ts < stream.watermark:
                self._behind(building, kind, message, event_id, ts, stream)
                continue
            seen[event_id] = ts
            accepted += 1
            if not replayed:
                live.add(building)
            handlers = arrival.get((building, mtype))
            if handlers is None:
                handlers = self._handlers(arrival, building, mtype, arrival=True)
            for handler in handlers:
                handler(building, message, ts, None)
            heapq.heappush(stream.buffer, (ts, event_id, message))
            touched[key] = stream
            if future_limit is not None and ts > future_limit:
                # A clock far ahead (clock_skew reports it) must not make
                # everyone else late: the event waits, the watermark stays.
                counters["future"] += 1
                continue
            stream.see(ts, replayed)
            if mtype is Heartbeat:
                info = env.ctx.devices.get(message.device)  # type: ignore[attr-defined]
                other = DEVICE_KIND_STREAM.get(info.kind) if info is not None else None
                if other is not None:
                    extra = self._stream(building, other)
                    extra.see(ts, replayed)
                    touched[(building, other)] = extra
            elif mtype is GatewayHealth:
                self._gateway_health(building, message, ts)  # type: ignore[arg-type]
        counters["events"] += accepted
        if now is not None:
            for building in live:
                self._live(building).last_live_s = now
        for key in sorted(touched):
            self._drain(touched[key])
        return self._take()

    def _behind(
        self, building: str, kind: str, message: Message, event_id: str, ts: float, stream: Stream
    ) -> None:
        """An event older than its stream's watermark.

        If it comes from the device's own outbox — marked ``replayed`` by the
        device, or received by the gateway long after it happened
        (``received_at``): the device was cut off from its gateway while the
        building stayed live — the rules that judge one event alone still
        judge it, once (and mark it delayed); the stateful rules cannot place
        it any more. Anything else is late: counted, logged, dropped. The
        ``replayed`` mark matters where the gateway's clock is no guide: in
        an accelerated simulation event time runs ahead of its wall clock.
        """
        counters = self.env.counters
        received = getattr(message, "received_at", None)
        from_backlog = bool(getattr(message, "replayed", False)) or (
            received is not None and received.timestamp() - ts > stream.lateness_s
        )
        if not from_backlog:
            counters["late"] += 1
            counters[f"late.{kind}"] += 1
            # Logged at most once per stream per LATE_LOG_S (a stream can drop
            # thousands at once); the counters keep the exact numbers.
            now = time.monotonic()
            last, dropped = self._late_log.get((building, kind), (float("-inf"), 0))
            if now - last < LATE_LOG_S:
                self._late_log[(building, kind)] = (last, dropped + 1)
                return
            self._late_log[(building, kind)] = (now, 0)
            logger.warning(
                "late event dropped: %s %s is %.1f s behind the %s/%s watermark "
                "(%d more dropped on this stream since the last such message)",
                type(message).__name__,
                event_id,
                stream.watermark - ts,
                building,
                kind,
                dropped,
            )
            return
        backlog = self._device_backlog
        if event_id in backlog:
            counters["duplicates"] += 1
            return
        backlog[event_id] = None
        if len(backlog) > DEVICE_BACKLOG_IDS:
            del backlog[next(iter(backlog))]
        counters["device_backlog"] += 1
        logger.info(
            "%s %s from a device's own backlog (%.0f s behind the %s/%s watermark): "
            "judged by the single-event rules only",
            type(message).__name__,
            event_id,
            stream.watermark - ts,
            building,
            kind,
        )
        for handler in self._handlers(self._arrival, building, type(message), arrival=True):
            handler(building, message, ts, None)

    def _advance(self, now: datetime) -> list[AlertSignal]:
        """Move idle streams of live buildings on by processing time ``now``."""
        env = self.env
        now_s = now.timestamp()
        env.set_now(now_s)
        idle = self.config.engine.idle_advance_s
        for building, live in sorted(self._liveness.items()):
            if live.last_live_s is None or live.backlog:
                continue
            floor = min(now_s, live.last_live_s + idle)
            for kind in STREAM_KINDS:
                stream = self._stream(building, kind)
                stream.advance_to(floor - stream.lateness_s)
                self._drain(stream)
        return self._take()

    def _advance_event_time(
        self, until: datetime, buildings: Iterable[str] | None = None
    ) -> list[AlertSignal]:
        until_s = until.timestamp()
        if buildings is None:
            wanted = set(self.env.ctx.buildings) | {b for b, _kind in self._streams}
        else:
            wanted = set(buildings)
        for building in sorted(wanted):
            for kind in STREAM_KINDS:
                stream = self._stream(building, kind)
                stream.advance_to(until_s)
                self._drain(stream)
        return self._take()

    def _reload_context(self, ctx: SiteContext) -> None:
        self.env.ctx = ctx
        self._arrival.clear()
        self._ordered.clear()
        for rule in self.rules.values():
            rule.context_changed()

    def _reload_rules(self, config: RulesConfig) -> None:
        """New rule settings; a rule that stays enabled keeps its state."""
        self.config = config
        self.env.delayed_after_s = config.engine.delayed_after_s
        for stream in self._streams.values():
            stream.lateness_s = self._lateness(stream.kind)
        self._build_rules(config)

    # -- internals -----------------------------------------------------------------

    def _build_rules(self, config: RulesConfig) -> None:
        rules: dict[str, Rule[Any]] = {}
        for rule_class in RULE_CLASSES:
            settings = config.settings(rule_class.id)
            existing = self.rules.get(rule_class.id)
            if not settings.enabled:
                if existing is not None:
                    existing.alive = False
                continue
            if existing is not None:
                existing.configure(settings)
                rules[rule_class.id] = existing
            else:
                rule = rule_class(settings, self.env)
                rules[rule_class.id] = rule
                for stream in self._streams.values():
                    if stream.started and stream.kind == rule.stream_kind:
                        rule.start(stream)
        self.rules = rules
        self._arrival.clear()
        self._ordered.clear()

    def _lateness(self, kind: str) -> float:
        lateness: float = getattr(self.config.engine.lateness_s, kind)
        return lateness

    def _stream(self, building: str, kind: str) -> Stream:
        stream = self._streams.get((building, kind))
        if stream is None:
            stream = Stream(building, kind, self._lateness(kind))
            self._streams[(building, kind)] = stream
        return stream

    def _live(self, building: str) -> _Liveness:
        live = self._liveness.get(building)
        if live is None:
            live = self._liveness[building] = _Liveness()
        return live

    def _gateway_health(self, building: str, message: GatewayHealth, ts: float) -> None:
        live = self._live(building)
        if ts >= live.health_ts:
            live.health_ts = ts
            live.backlog = (
                message.replayed
                or not message.uplink_connected
                or message.outbox_depth > self.config.engine.backlog_depth
            )

    def _handlers(
        self,
        table: dict[tuple[str, type[Message]], tuple[Handler, ...]],
        building: str,
        message_type: type[Message],
        *,
        arrival: bool,
    ) -> tuple[Handler, ...]:
        key = (building, message_type)
        found = table.get(key)
        if found is None:
            handlers = []
            for rule in self.rules.values():
                if rule.applies_to(building):
                    handler = rule.handlers(message_type, arrival=arrival)
                    if handler is not None:
                        handlers.append(handler)
            found = table[key] = tuple(handlers)
        return found

    def _drain(self, stream: Stream) -> None:
        """Release, in event-time order, what the watermark has passed."""
        watermark = stream.watermark
        if not stream.started and watermark > float("-inf"):
            stream.started = True
            for rule in self.rules.values():
                if rule.stream_kind == stream.kind:
                    rule.start(stream)
        buffer = stream.buffer
        timers = stream.timers
        released = stream.released
        building = stream.building
        ordered = self._ordered
        while True:
            if buffer and buffer[0][0] <= watermark:
                if timers and timers[0][0] < buffer[0][0]:
                    self._fire(stream)
                    continue
                ts, event_id, message = heapq.heappop(buffer)
                released.append((ts, event_id))
                handlers = ordered.get((building, type(message)))
                if handlers is None:
                    handlers = self._handlers(ordered, building, type(message), arrival=False)
                for handler in handlers:
                    handler(building, message, ts, stream)
            elif timers and timers[0][0] <= watermark:
                self._fire(stream)
            else:
                break
        seen = self._seen
        while released and released[0][0] < watermark:
            seen.pop(released.popleft()[1], None)

    def _fire(self, stream: Stream) -> None:
        at_s, _seq, callback, key, token = heapq.heappop(stream.timers)
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, Rule) and not owner.alive:
            return
        callback(stream, key, token, at_s)

    def _take(self) -> list[AlertSignal]:
        out = self.env.out
        self.env.out = []
        return out
