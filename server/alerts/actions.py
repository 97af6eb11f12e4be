"""What an alert makes the server do besides telling people: fire release of a building's gates."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from protocol.messages import CommandAction
from protocol.signing import DownlinkSigner
from server.alerts.stats import AlertStats
from server.db import Device
from server.mqttlink import MqttLink
from server.services.commands import CommandNotSentError, send_command

logger = logging.getLogger(__name__)

#: How long a gate keeps its doors released after the command (the gate may be told again).
FIRE_RELEASE_DURATION_S = 3600.0


class FireRelease:
    """Commands every gate of a building to fire-release, through the command service.

    ``link`` is set by the runtime once the MQTT link exists; without one
    nothing can be sent, and each gate is counted (``fire_release_failed``) and
    logged. It is not retried later: the alert stays open and visible.
    """

    def __init__(self, sessions: sessionmaker[Session], stats: AlertStats) -> None:
        self._sessions = sessions
        self._stats = stats
        self.link: MqttLink | None = None
        #: Signs the commands for the gates to verify (set by the runtime with the link).
        self.signer: DownlinkSigner | None = None

    def release(self, building: str | None, alert_id: str) -> int:
        """Send the command to each gate of ``building``; how many were published."""
        if building is None:
            self._stats.add("fire_release_failed")
            logger.error("alert %s asks for fire release but names no building", alert_id)
            return 0
        sent = 0
        with self._sessions() as session:
            gates = list(
                session.scalars(
                    select(Device)
                    .where(Device.building_id == building, Device.kind == "gate")
                    .order_by(Device.id)
                )
            )
            for gate in gates:
                try:
                    send_command(
                        session,
                        self.link,
                        gate,
                        CommandAction.FIRE_RELEASE,
                        issuer_user_id=None,
                        duration_s=FIRE_RELEASE_DURATION_S,
                        signer=self.signer,
                    )
                except CommandNotSentError as exc:
                    self._stats.add("fire_release_failed")
                    logger.error(
                        "fire release of %s for alert %s not sent: %s", gate.id, alert_id, exc
                    )
                else:
                    sent += 1
        self._stats.add("fire_release_sent", sent)
        logger.warning(
            "alert %s: fire release sent to %d of %d gates of %s",
            alert_id,
            sent,
            len(gates),
            building,
        )
        return sent
