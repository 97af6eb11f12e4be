"""Devices and gateways: offline, outbox near full, clock skew."""

from __future__ import annotations

from typing import ClassVar

from protocol.messages import DeviceState, DeviceStatus, GatewayHealth, Heartbeat
from rules.base import Rule
from rules.config import ClockSkew, DeviceOffline, OutboxNearFull
from rules.env import Env
from rules.stream import HEALTH, Stream


class DeviceOfflineRule(Rule[DeviceOffline]):
    """No heartbeat for ``missed_heartbeats`` × the device's interval, or its last will.

    Processing time moves the health stream only while the building's uplink
    is live, so an outage never makes its devices look offline. A silence that
    falls due while the health stream is moved by a replayed backlog is not
    judged then (the gateway may have shed those heartbeats, and a stale
    "offline" would be noise): it is judged again once the stream moves live,
    and raised only if the device is still silent.
    """

    id = "device_offline"
    stream_kind = HEALTH
    in_order: ClassVar = {Heartbeat: "on_heartbeat", DeviceState: "on_state"}

    def __init__(self, settings: DeviceOffline, env: Env) -> None:
        super().__init__(settings, env)
        self._last: dict[str, tuple[float, str, float]] = {}
        self._raised: set[str] = set()
        #: Devices with a timer running (one per device).
        self._armed: set[str] = set()

    def on_heartbeat(self, building: str, msg: Heartbeat, ts: float, stream: Stream | None) -> None:
        assert stream is not None
        device = msg.device
        timeout_s = self.settings.missed_heartbeats * msg.interval_s
        self._last[device] = (ts, msg.id, timeout_s)
        if device not in self._armed:
            # One timer per device: when it falls due it moves itself on to the
            # latest heartbeat's deadline (cheaper than a timer per heartbeat).
            self._armed.add(device)
            self.env.schedule(stream, ts + timeout_s, self._due, device)
        if device in self._raised:
            self._back(building, device, ts, msg.replayed, msg.id)

    def on_state(self, building: str, msg: DeviceState, ts: float, stream: Stream | None) -> None:
        if msg.status is DeviceStatus.ONLINE:
            self._back(building, msg.device, ts, False, None)
        elif msg.device not in self._raised:
            self._raised.add(msg.device)
            self.raise_(
                f"device:{msg.device}",
                building,
                ts,
                replayed=False,
                message=f"device {msg.device} went offline (last will)",
                params={"device": msg.device, "reason": "last_will"},
            )

    def _back(self, building: str, device: str, ts: float, replayed: bool, eid: str | None) -> None:
        if device in self._raised:
            self._raised.discard(device)
            self.clear(
                f"device:{device}",
                building,
                ts,
                replayed=replayed,
                message=f"device {device} is back",
                evidence=(eid,) if eid else (),
            )

    def _due(self, stream: Stream, device: str, token: object, at_s: float) -> None:
        last = self._last.get(device)
        if last is None or device in self._raised:
            self._armed.discard(device)
            return
        last_s, last_id, timeout_s = last
        deadline = last_s + timeout_s
        if deadline > at_s:
            self.env.schedule(stream, deadline, self._due, device)
            return
        if stream.advanced_by_replay:
            # Found only while a backlog is replayed: the gateway may have shed
            # those heartbeats. Judge again once the stream is live.
            self.env.counters["deferred.device_offline"] += 1
            again = stream.watermark + max(stream.lateness_s, 1.0)
            self.env.schedule(stream, again, self._due, device)
            return
        self._armed.discard(device)
        self._raised.add(device)
        self.raise_(
            f"device:{device}",
            stream.building,
            deadline,
            replayed=False,
            message=f"no heartbeat from {device} for {timeout_s:.0f} s",
            params={"device": device, "silent_s": round(timeout_s, 1), "reason": "heartbeat"},
            evidence=(last_id,),
        )


class OutboxNearFullRule(Rule[OutboxNearFull]):
    """A device's outbox over ``device_depth``, or a gateway's over ``fraction`` of its max."""

    id = "outbox_near_full"
    stream_kind = HEALTH
    in_order: ClassVar = {Heartbeat: "on_heartbeat", GatewayHealth: "on_gateway"}

    def __init__(self, settings: OutboxNearFull, env: Env) -> None:
        super().__init__(settings, env)
        self._raised: set[str] = set()

    def on_heartbeat(self, building: str, msg: Heartbeat, ts: float, stream: Stream | None) -> None:
        self._judge(
            building,
            msg.device,
            msg.outbox_depth >= self.settings.device_depth,
            msg.outbox_depth,
            None,
            ts,
            msg.replayed,
            msg.id,
        )

    def on_gateway(
        self, building: str, msg: GatewayHealth, ts: float, stream: Stream | None
    ) -> None:
        full = msg.outbox_warning or msg.outbox_depth >= self.settings.fraction * msg.outbox_max
        self._judge(
            building, msg.device, full, msg.outbox_depth, msg.outbox_max, ts, msg.replayed, msg.id
        )

    def _judge(
        self,
        building: str,
        device: str,
        full: bool,
        depth: int,
        limit: int | None,
        ts: float,
        replayed: bool,
        eid: str,
    ) -> None:
        subject = f"device:{device}"
        if full and device not in self._raised:
            self._raised.add(device)
            self.raise_(
                subject,
                building,
                ts,
                replayed=replayed,
                message=f"outbox of {device} near full ({depth} queued)",
                params={"device": device, "depth": depth, "max": limit},
                evidence=(eid,),
            )
        elif not full and device in self._raised:
            self._raised.discard(device)
            self.clear(
                subject,
                building,
                ts,
                replayed=replayed,
                message=f"outbox of {device} drained",
                params={"depth": depth},
                evidence=(eid,),
            )


class ClockSkewRule(Rule[ClockSkew]):
    """A device's clock off by more than ``max_offset_s`` (from its heartbeat)."""

    id = "clock_skew"
    stream_kind = HEALTH
    in_order: ClassVar = {Heartbeat: "on_heartbeat"}

    def __init__(self, settings: ClockSkew, env: Env) -> None:
        super().__init__(settings, env)
        self._raised: set[str] = set()

    def on_heartbeat(self, building: str, msg: Heartbeat, ts: float, stream: Stream | None) -> None:
        offset_s = msg.clock_offset_ms / 1000
        skewed = abs(offset_s) > self.settings.max_offset_s
        subject = f"device:{msg.device}"
        if skewed and msg.device not in self._raised:
            self._raised.add(msg.device)
            self.raise_(
                subject,
                building,
                ts,
                replayed=msg.replayed,
                message=f"clock of {msg.device} off by {offset_s:+.1f} s",
                params={"device": msg.device, "offset_s": offset_s},
                evidence=(msg.id,),
            )
        elif not skewed and msg.device in self._raised:
            self._raised.discard(msg.device)
            self.clear(
                subject,
                building,
                ts,
                replayed=msg.replayed,
                message=f"clock of {msg.device} in step",
                params={"offset_s": offset_s},
                evidence=(msg.id,),
            )
