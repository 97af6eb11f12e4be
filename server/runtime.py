"""What the running server owns: database, MQTT link, ingest pipeline, time series, keys.

Built and closed by the FastAPI lifespan (server.app); everything is closed
in reverse order of creation, and nothing is left to ``__del__``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from server.db.engine import make_engine, make_sessionmaker, upgrade_to_head
from server.ingest import IngestPipeline, IngestStats, IngestStatsView
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
        if self.link is not None:
            self.link.stop()
        if self.timeseries is not None:
            self.timeseries.close()
        self.engine.dispose()


def start_runtime(settings: Settings) -> Runtime:
    """Migrate the database, then start the time-series writer, ingest and MQTT."""
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
    try:
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
                observer=dirty.observe,
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
