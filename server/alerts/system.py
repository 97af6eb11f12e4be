"""Everything the running server owns for alerts, built from the settings and closed in order."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from rules.signals import RuleEngine
from server.alerts.broadcast import Broadcaster
from server.alerts.escalation import Escalator
from server.alerts.events import AlertEvent, Change
from server.alerts.hook import EngineHook
from server.alerts.relay import PgRelay
from server.alerts.service import AlertService, EscalationPolicy
from server.alerts.stats import AlertStats
from server.alerts.webhook import RetryPolicy, WebhookSink
from server.settings import Settings

logger = logging.getLogger(__name__)

#: Builds the rules engine the server runs inside ingest (plugged in by the integrator).
EngineFactory = Callable[[Settings], RuleEngine]


class AlertSystem:
    """The alert service with its SSE broadcaster, webhooks, escalator and engine hook."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        engine_factory: EngineFactory | None = None,
    ) -> None:
        self.settings = settings
        self.stats = AlertStats()
        self.broadcaster = Broadcaster(self.stats, settings.alert_sse_queue_size)
        retry = RetryPolicy(
            max_attempts=settings.alert_webhook_max_attempts,
            backoff_s=settings.alert_webhook_backoff_s,
            backoff_max_s=settings.alert_webhook_backoff_max_s,
            timeout_s=settings.alert_webhook_timeout_s,
        )
        self.webhooks = [
            WebhookSink(
                str(url), self.stats, retry=retry, max_queue=settings.alert_webhook_queue_size
            )
            for url in settings.alert_webhook_urls
        ]
        bind = sessions.kw["bind"]
        # Several server processes share PostgreSQL: their viewers see each other's changes.
        self.relay = PgRelay(bind, self.stats) if bind.dialect.name == "postgresql" else None
        self.service = AlertService(
            sessions,
            relay=self.relay,
            sinks=[self.broadcaster, *self.webhooks],
            policy=EscalationPolicy(
                room=timedelta(seconds=settings.alert_escalate_room_s),
                floor=timedelta(seconds=settings.alert_escalate_floor_s),
                building=timedelta(seconds=settings.alert_escalate_building_s),
            ),
            stats=self.stats,
        )
        self.escalator = Escalator(self.service, settings.alert_escalation_interval_s)
        self.hook: EngineHook | None = None
        if engine_factory is not None:
            self.hook = EngineHook(
                engine_factory(settings),
                self.service,
                self.stats,
                tick_s=settings.alert_engine_tick_s,
            )

    def start(self) -> None:
        if self.relay is not None:
            self.relay.start(self._from_another_process)
        for webhook in self.webhooks:
            webhook.start()
        self.escalator.start()
        if self.hook is not None:
            self.hook.start()
        logger.info(
            "alerts started (engine %s, %d webhooks)",
            "on" if self.hook is not None else "off",
            len(self.webhooks),
        )

    def close(self) -> None:
        if self.hook is not None:
            self.hook.stop()
        self.escalator.stop()
        if self.relay is not None:
            self.relay.stop()
        for webhook in self.webhooks:
            webhook.close()

    def _from_another_process(self, change: Change, alert_id: str) -> None:
        """Another worker changed an alert: show it to this process's SSE viewers."""
        alert = self.service.read(alert_id)
        if alert is not None:
            self.broadcaster.deliver(AlertEvent(change, alert))
