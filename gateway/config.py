"""What one gateway needs to know: its building, both brokers, its state and its limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from siteconfig import CampusConfig, GateDevice

DEFAULT_CENTRAL_PORT: Final = 1883


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Settings of one building gateway; built from the site file plus CLI overrides."""

    building: str
    gateway_id: str
    building_broker: BrokerAddress
    central_broker: BrokerAddress
    state_dir: Path
    #: gates that receive fire-release when smoke is reported anywhere in the building
    gate_ids: tuple[str, ...] = ()
    #: devices allowed to send; None accepts any device id under the building
    known_devices: frozenset[str] | None = None
    #: heartbeat interval of each device from its device file (a Heartbeat's own
    #: ``interval_s`` overrides it once one arrives)
    heartbeat_s: dict[str, float] = field(default_factory=dict)
    default_heartbeat_s: float = 30.0
    #: a device silent for this many heartbeat intervals is reported offline
    offline_after_intervals: float = 3.0
    #: disk quota of the uplink outbox, in messages
    outbox_max_rows: int = 1_000_000
    outbox_warn_ratio: float = 0.9
    #: how far below a device's highest sequence number a repeat is still recognised
    dedupe_window: int = 4096
    batch_max: int = 500
    batch_wait_s: float = 0.02
    #: bounded queue between the MQTT callbacks and the workers
    receive_queue_max: int = 100_000
    uplink_max_inflight: int = 100
    command_ack_timeout_s: float = 10.0
    fire_resend_s: float = 2.0
    fire_command_ttl_s: float = 600.0
    health_interval_s: float = 10.0
    tick_s: float = 0.2
    reconnect_min_s: int = 1
    reconnect_max_s: int = 10
    #: broker credential (``dorm provision``'s gateways/<id>/mqtt-*); None: anonymous
    mqtt_username: str | None = None
    mqtt_password: str | None = field(default=None, repr=False)
    #: the gateway's own downlink key (gateways/<id>/downlink.key): signs the
    #: fire_release commands it issues; devices trust it for nothing else
    downlink_key_path: Path | None = None

    @property
    def outbox_path(self) -> Path:
        return self.state_dir / f"{self.gateway_id}-outbox.db"


def from_campus(
    campus: CampusConfig,
    building: str,
    *,
    central: BrokerAddress,
    state_dir: Path,
    building_broker: BrokerAddress | None = None,
    **overrides: object,
) -> GatewayConfig:
    """The configuration of ``building``'s gateway from a loaded config directory.

    Raises ``KeyError`` when the site has no such building.
    """
    site_building = next((b for b in campus.site.buildings if b.id == building), None)
    if site_building is None:
        raise KeyError(f"no building {building!r} in the site file")
    devices = campus.devices_in(building)
    broker = building_broker or BrokerAddress(site_building.broker.host, site_building.broker.port)
    return GatewayConfig(
        building=building,
        gateway_id=site_building.gateway_id,
        building_broker=broker,
        central_broker=central,
        state_dir=state_dir,
        gate_ids=tuple(d.id for d in devices if isinstance(d, GateDevice)),
        known_devices=frozenset(d.id for d in devices),
        heartbeat_s={d.id: float(d.heartbeat_s) for d in devices},
        **overrides,  # type: ignore[arg-type]
    )
