"""The server's settings: one pydantic-settings class, read from ``DORM_*`` variables.

Required values have no default. The development secret is refused unless
``DORM_ENVIRONMENT=development``, so a production server cannot start with a
key everyone can read in this file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal, Self

from pydantic import Field, HttpUrl, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY: Final = "dev-secret-do-not-use-in-production-0123456789"
DEV_CARD_HASH_KEY: Final = "dev-card-hash-key-0123456789abcdef"


class SettingsError(ValueError):
    """Settings that the server refuses to run with."""


class Settings(BaseSettings):
    """Everything the server reads from its environment (prefix ``DORM_``)."""

    model_config = SettingsConfigDict(env_prefix="DORM_", extra="forbid")

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///var/dorm.db"

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    #: A file holding the broker password (wins over ``mqtt_password``).
    mqtt_password_file: Path | None = None
    #: ``dorm/v1/+/#`` takes every building; ``$share/<group>/dorm/v1/<b>/#`` lets
    #: several workers split buildings (MQTT v5 shared subscriptions).
    mqtt_topic_filter: str = "dorm/v1/+/#"
    mqtt_client_id: str = "dorm-server"
    #: Keep the broker session across restarts (clean_start=False, MQTT v5 session
    #: expiry), so QoS 1 messages sent while the server is down wait in the broker.
    #: The client id is then used as given: make it unique per worker.
    mqtt_persistent_session: bool = False
    mqtt_session_expiry_s: int = Field(default=86_400, ge=0)
    #: Acknowledge (PUBACK) a message only after its batch is committed, so a crash
    #: loses nothing; the broker's in-flight window then bounds what is unwritten.
    mqtt_ack_after_store: bool = True
    #: MQTT v5 Receive Maximum: QoS 1 messages the broker may send before our PUBACKs.
    mqtt_receive_maximum: int = Field(default=1_000, ge=1, le=65_535)
    #: "5" (default) or "3.1.1": 3.1.1 costs paho about 40 % less per received
    #: message (no v5 properties), without Receive Maximum, no_local and session
    #: expiry (see server.mqttlink and docs/server.md).
    mqtt_protocol: Literal["5", "3.1.1"] = "5"
    #: False runs the API without an MQTT connection (tests of the API alone).
    mqtt_enabled: bool = True

    ingest_queue_size: int = Field(default=100_000, ge=1)
    #: Half the in-flight window (``mqtt_receive_maximum``): with acknowledgement
    #: after storing, one batch arrives while the other is written.
    ingest_batch_size: int = Field(default=500, ge=1)
    #: How long a batch waits to fill: a lone event waits all of it (alert latency).
    ingest_batch_interval_s: float = Field(default=0.02, gt=0)
    #: How often the per-minute chart rollups catch up with ingest.
    rollup_interval_s: float = Field(default=5.0, gt=0)

    #: Alert escalation (docs/alerts.md): time an unacknowledged alert stays at a level.
    alert_escalate_room_s: float = Field(default=300.0, gt=0)
    alert_escalate_floor_s: float = Field(default=600.0, gt=0)
    alert_escalate_building_s: float = Field(default=900.0, gt=0)
    #: How often the escalation thread looks for steps that are due.
    alert_escalation_interval_s: float = Field(default=5.0, gt=0)
    #: SSE: a keepalive comment this often; a subscriber this many events behind is dropped.
    alert_sse_keepalive_s: float = Field(default=15.0, gt=0)
    alert_sse_queue_size: int = Field(default=1_000, ge=1)
    #: A stream ends after this long and the client reconnects (fresh snapshot; lets
    #: proxies recycle connections and bounds what a lost event could leave stale).
    alert_sse_max_s: float = Field(default=3_600.0, gt=0)
    #: Webhook URLs (a JSON list in the environment) that receive alert changes.
    alert_webhook_urls: list[HttpUrl] = Field(default_factory=list)
    alert_webhook_queue_size: int = Field(default=10_000, ge=1)
    alert_webhook_timeout_s: float = Field(default=5.0, gt=0)
    alert_webhook_max_attempts: int = Field(default=6, ge=1)
    #: First retry delay, doubled after each failure up to ``alert_webhook_backoff_max_s``.
    alert_webhook_backoff_s: float = Field(default=0.5, gt=0)
    alert_webhook_backoff_max_s: float = Field(default=60.0, gt=0)
    #: How often a plugged-in rules engine is advanced on processing time.
    alert_engine_tick_s: float = Field(default=1.0, gt=0)

    #: Run the safety-alert rules (rules/, docs/rules.md) inside ingest.
    rules_enabled: bool = True
    #: A rules YAML over the shipped defaults (rules/defaults.yaml); reloaded when it changes.
    rules_file: Path | None = None
    #: How often the rules file and the site context (rooms, shifts, leaves…) are re-read.
    rules_reload_s: float = Field(default=30.0, gt=0)
    #: ``wall``: the rules' processing time is the wall clock (real devices).
    #: ``events``: it follows the newest live event time — only for accelerated
    #: simulations and the demo, whose event time runs faster than the wall (rules.live).
    rules_clock: Literal["wall", "events"] = "wall"

    influx_url: str | None = None
    influx_org: str | None = None
    influx_bucket: str | None = None
    influx_token: str | None = None
    influx_batch_size: int = Field(default=5_000, ge=1)
    influx_flush_interval_ms: int = Field(default=1_000, ge=1)
    influx_queue_size: int = Field(default=200_000, ge=1)

    secret_key: str = DEV_SECRET_KEY
    access_token_expire_s: int = Field(default=3600, gt=0)
    #: HMAC key for card hashes (protocol.cardhash); shared with the gates.
    card_hash_key: str = DEV_CARD_HASH_KEY
    #: Directory of the Ed25519 token keys (protocol.keys); created with a key if empty.
    token_key_dir: Path = Path("var/token-keys")
    #: The server's downlink key (``dorm provision``'s server/downlink.key, PKCS#8
    #: PEM): commands and allowlists are signed with it (protocol.signing). None
    #: sends them unsigned, which provisioned devices refuse.
    downlink_key_file: Path | None = None
    downlink_key_id: str = Field(default="server", pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")

    #: Failed login attempts per client address per ``login_window_s`` (then 429).
    login_attempts_per_window: int = Field(default=10, ge=1)
    #: Failed passwords for one user name within ``login_window_s`` before a lockout.
    login_max_failures: int = Field(default=5, ge=1)
    login_window_s: float = Field(default=60.0, gt=0)
    login_lockout_s: float = Field(default=900.0, ge=0)

    #: Raw access events older than this are deleted (per-minute rollups are kept).
    retention_access_events_days: int = Field(default=180, ge=1)
    #: Presence history (door events, passage counts, duty checks, room samples).
    retention_presence_days: int = Field(default=180, ge=1)
    #: How often the retention purge runs; 0 turns the schedule off.
    retention_interval_s: float = Field(default=3600.0, ge=0)

    @model_validator(mode="after")
    def _no_dev_secrets_outside_development(self) -> Self:
        if self.environment != "development":
            if self.secret_key == DEV_SECRET_KEY:
                raise SettingsError(
                    "DORM_SECRET_KEY must be set outside development (the default is public)"
                )
            if self.card_hash_key == DEV_CARD_HASH_KEY:
                raise SettingsError(
                    "DORM_CARD_HASH_KEY must be set outside development (the default is public)"
                )
        if self.mqtt_ack_after_store and self.ingest_queue_size < self.mqtt_receive_maximum:
            # Otherwise a full queue could drop messages that are then never acknowledged.
            raise SettingsError("DORM_INGEST_QUEUE_SIZE must be at least DORM_MQTT_RECEIVE_MAXIMUM")
        if len(self.secret_key) < 32:
            raise SettingsError("DORM_SECRET_KEY must be at least 32 characters")
        if len(self.card_hash_key.encode()) < 16:
            raise SettingsError("DORM_CARD_HASH_KEY must be at least 16 bytes")
        return self

    def mqtt_password_value(self) -> str | None:
        """The broker password, read from ``mqtt_password_file`` when that is set."""
        if self.mqtt_password_file is not None:
            return self.mqtt_password_file.read_text(encoding="utf-8").strip()
        return self.mqtt_password

    @property
    def influx_enabled(self) -> bool:
        """True when every InfluxDB setting is given."""
        return self.influx_connection() is not None

    def influx_connection(self) -> tuple[str, str, str, str] | None:
        """``(url, org, bucket, token)`` when all are set, else None."""
        url, org, bucket, token = (
            self.influx_url,
            self.influx_org,
            self.influx_bucket,
            self.influx_token,
        )
        if url is None or org is None or bucket is None or token is None:
            return None
        return url, org, bucket, token
