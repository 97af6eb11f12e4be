"""Door and device commands: recorded, published to the device, acknowledged via ingest."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import HTTPException, status
from sqlalchemy.orm import Session

from protocol.ids import new_event_id
from protocol.messages import Command, encode
from protocol.signing import DownlinkSigner
from protocol.topics import Family, device_topic
from server.api.schemas import CommandIn
from server.db import CommandRow, Device, UserAccount
from server.mqttlink import MqttLink, MqttLinkError
from server.security import utcnow

logger = logging.getLogger(__name__)


def issue_command(
    session: Session,
    link: MqttLink | None,
    device: Device,
    data: CommandIn,
    user: UserAccount,
    signer: DownlinkSigner | None = None,
) -> CommandRow:
    """Record the command, commit, then publish it on the device's ``cmd`` topic."""
    if link is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no MQTT connection configured")
    now = utcnow()
    command = Command(
        id=new_event_id(),
        device=device.id,
        action=data.action,
        issued_at=now,
        expires_at=now + timedelta(seconds=data.expires_in_s),
        duration_s=data.duration_s,
    )
    row = CommandRow(
        id=command.id,
        device_id=device.id,
        building_id=device.building_id,
        action=command.action.value,
        issued_at=command.issued_at,
        expires_at=command.expires_at,
        issuer_user_id=user.id,
        duration_s=command.duration_s,
        status="pending",
    )
    session.add(row)
    session.commit()
    topic = device_topic(device.building_id, device.id, Family.COMMAND)
    payload = encode(command) if signer is None else signer.sign(topic, encode(command))
    try:
        link.publish(topic, payload)
    except MqttLinkError as exc:
        row.status = "failed"
        row.ack_detail = "not published"
        session.commit()
        logger.error("command %s to %s not published: %s", command.id, device.id, exc)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "command not published") from None
    logger.info("command %s %s sent to %s", command.id, command.action.value, device.id)
    return row
