"""What the running server owns: database, MQTT link, ingest pipeline, time series, keys.

Built and closed by the FastAPI lifespan (server.app); everything is closed
in reverse order of creation, and nothing is left to ``__del__``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from protocol.messages import Message
from protocol.signing import DownlinkSigner, load_signer
from rules.signals import RuleEngine
from server.alerts.hook import EngineHook
from server.alerts.system import AlertSystem, EngineFactory
from server.db.engine import make_engine, make_sessionmaker, upgrade_to_head
from server.ingest import IngestPipeline, IngestStats, IngestStatsView
from server.ingest.writer import Observer
from server.mqttlink import MqttLink
from server.rollups import DirtyMinutes, RollupWorker
from server.settings import DEV_CARD_HASH_KEY, DEV_SECRET_KEY, Settings
from server.timeseries import TimeSeriesWriter
from server.tokenkeys import ensure_signing_key

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    stats: IngestStats
    pipeline: IngestPipeline | None = None
    link: MqttLink | None = None
    timeseries: TimeSeriesWriter | None = None
    rollups: RollupWorker | None = None
    #: signs commands and allowlists (protocol.signing); None sends them unsigned
    downlink_signer: DownlinkSigner | None = None
    alerts: AlertSystem | None = None

    @property
    def key_dir(self) -> Path:
        return self.settings.token_key_dir

    def ingest_view(self) -> IngestStatsView:
        return self.stats.view(
            queue_depth=0 if self.pipeline is None else self.pipeline.queue_depth,
            timeseries_dropped=0 if self.timeseries is None else self.timeseries.lost,
        )

    def close(self) -> None:
        """Stop intake, write and acknowledge what is queued, then disconnect and close."""
        if self.link is not None:
            self.link.stop_intake()
        if self.pipeline is not None:
            self.pipeline.stop()
        if self.rollups is not None:
            self.rollups.stop()
        if self.alerts is not None:
            self.alerts.close()
        if self.link is not None:
            self.link.stop()
        if self.timeseries is not None:
            self.timeseries.close()
        self.engine.dispose()


def _live_rules(settings: Settings, *, sessions: sessionmaker[Session]) -> RuleEngine:
    """The rules engine the server runs by default (rules.live)."""
    from rules.live import LiveRules

    return LiveRules(
        sessions,
        rules_file=settings.rules_file,
        reload_s=settings.rules_reload_s,
        event_clock=settings.rules_clock == "events",
    )


def start_runtime(settings: Settings, engine_factory: EngineFactory | None = None) -> Runtime:
    """Migrate the database, then start alerts, the time-series writer, ingest and MQTT.

    The rules engine ``engine_factory`` builds runs inside ingest; without one,
    the live rules (rules.live: ``DORM_RULES_FILE`` over the defaults, the site
    from SQL) unless ``DORM_RULES_ENABLED=false``.
    """
    if settings.secret_key == DEV_SECRET_KEY or settings.card_hash_key == DEV_CARD_HASH_KEY:
        logger.warning(
            "running with the public development keys: set DORM_ENVIRONMENT=production, "
            "DORM_SECRET_KEY and DORM_CARD_HASH_KEY for any real deployment"
        )
    engine = make_engine(settings.database_url)
    upgrade_to_head(engine)
    ensure_signing_key(settings.token_key_dir)
    runtime = Runtime(
        settings=settings, engine=engine, sessions=make_sessionmaker(engine), stats=IngestStats()
    )
    if settings.downlink_key_file is not None:
        runtime.downlink_signer = load_signer(settings.downlink_key_file, settings.downlink_key_id)
    else:
        logger.warning(
            "DORM_DOWNLINK_KEY_FILE is not set: commands and allowlists go out unsigned, "
            "and devices provisioned with downlink keys will refuse them"
        )
    if engine_factory is None and settings.rules_enabled:
        engine_factory = partial(_live_rules, sessions=runtime.sessions)
    try:
        runtime.alerts = AlertSystem(settings, runtime.sessions, engine_factory)
        runtime.alerts.start()
        influx = settings.influx_connection()
        if influx is not None:
            runtime.timeseries = TimeSeriesWriter(
                *influx,
                batch_size=settings.influx_batch_size,
                flush_interval_ms=settings.influx_flush_interval_ms,
                max_pending=settings.influx_queue_size,
            )
        if settings.mqtt_enabled:
            dirty = DirtyMinutes()
            runtime.rollups = RollupWorker(runtime.sessions, dirty, settings.rollup_interval_s)
            runtime.rollups.start()
            runtime.pipeline = IngestPipeline(
                engine,
                runtime.stats,
                sink=runtime.timeseries,
                observer=_observers(dirty.observe, runtime.alerts.hook),
                queue_size=settings.ingest_queue_size,
                batch_size=settings.ingest_batch_size,
                batch_interval_s=settings.ingest_batch_interval_s,
            )
            runtime.pipeline.start()
            runtime.link = MqttLink(
                settings.mqtt_host,
                settings.mqtt_port,
                topic_filter=settings.mqtt_topic_filter,
                on_message=runtime.pipeline.enqueue,
                client_id=settings.mqtt_client_id,
                username=settings.mqtt_username,
                password=settings.mqtt_password_value(),
                session_expiry_s=(
                    settings.mqtt_session_expiry_s if settings.mqtt_persistent_session else None
                ),
                ack_after_store=settings.mqtt_ack_after_store,
                receive_maximum=settings.mqtt_receive_maximum,
                protocol=settings.mqtt_protocol,
            )
            runtime.pipeline.acknowledge = runtime.link.ack
            runtime.alerts.service.fire_release.link = runtime.link
            runtime.alerts.service.fire_release.signer = runtime.downlink_signer
            runtime.link.start()
    except BaseException:
        runtime.close()
        raise
    logger.info(
        "server runtime started (database %s, mqtt %s, time series %s)",
        engine.dialect.name,
        "on" if settings.mqtt_enabled else "off",
        "on" if settings.influx_enabled else "off",
    )
    return runtime


def _observers(first: Observer, hook: EngineHook | None) -> Observer:
    """The ingest observer: the rollups', then the rules engine's when one is plugged in."""
    if hook is None:
        return first
    second = hook.observe

    def both(messages: Sequence[tuple[str, Message]]) -> None:
        first(messages)
        second(messages)

    return both
