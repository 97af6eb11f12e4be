"""The gateway's own health, published upstream as ``GatewayHealth`` telemetry.

Counters, outbox depth and quota, shed counts, the uplink's state and the
rate at which the central broker acknowledged messages since the last report
(the drain rate while a backlog empties). Reported every
``health_interval_s``, at once when the outbox crosses its warning level,
and after a fire release.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from gateway.counters import GatewayCounters
from protocol.ids import new_event_id
from protocol.messages import GatewayHealth
from transport.outbox import Outbox

log = logging.getLogger(__name__)


class HealthReporter:
    def __init__(
        self,
        gateway_id: str,
        counters: GatewayCounters,
        outbox: Outbox,
        *,
        forwarded: Callable[[], int],
        uplink_connected: Callable[[], bool],
        devices_offline: Callable[[], int],
        next_seq: Callable[[], int],
        interval_s: float,
    ) -> None:
        self.gateway_id = gateway_id
        self.counters = counters
        self.outbox = outbox
        self._forwarded = forwarded
        self._uplink_connected = uplink_connected
        self._devices_offline = devices_offline
        self._next_seq = next_seq
        self.interval_s = interval_s
        self._started = time.monotonic()
        self._last_report: float | None = None  # the first report is due at once
        self._last_forwarded = 0
        self._last_forwarded_at = self._started
        self._was_over_warning = False
        self.drain_rate_mps = 0.0

    def due(self) -> bool:
        """True when it is time for a report (interval passed or the quota warning just began)."""
        over = self.outbox.over_warning
        crossed = over and not self._was_over_warning
        if over != self._was_over_warning:
            level = logging.WARNING if over else logging.INFO
            log.log(
                level,
                "outbox %s its warning level: %d of %d messages",
                "reached" if over else "is back under",
                self.outbox.depth,
                self.outbox.max_rows,
            )
            self._was_over_warning = over
        if crossed or self._last_report is None:
            return True
        return time.monotonic() - self._last_report >= self.interval_s

    def build(self) -> GatewayHealth:
        now = time.monotonic()
        forwarded = self._forwarded()
        elapsed_s = now - self._last_forwarded_at
        if elapsed_s > 0:
            self.drain_rate_mps = (forwarded - self._last_forwarded) / elapsed_s
        self._last_forwarded, self._last_forwarded_at = forwarded, now
        self._last_report = now
        snap = self.counters.snapshot()
        stats = self.outbox.stats()
        stamp = datetime.now(UTC)
        return GatewayHealth(
            id=new_event_id(),
            device=self.gateway_id,
            seq=self._next_seq(),
            ts=stamp,
            received_at=stamp,
            uptime_s=now - self._started,
            received=snap.received,
            forwarded=forwarded,
            duplicates=snap.duplicates,
            rejected=snap.rejected,
            outbox_depth=stats.depth,
            outbox_max=stats.max_rows,
            outbox_warning=self.outbox.over_warning,
            shed_telemetry=stats.shed_telemetry,
            refused_telemetry=stats.refused_telemetry,
            refused_events=stats.refused_events,
            uplink_connected=self._uplink_connected(),
            drain_rate_mps=round(max(0.0, self.drain_rate_mps), 1),
            fire_releases=snap.fire_releases,
            commands_relayed=snap.commands_relayed,
            commands_timed_out=snap.commands_timed_out,
            devices_offline=self._devices_offline(),
        )
