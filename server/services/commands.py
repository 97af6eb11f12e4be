"""Door and device commands: recorded, published to the device, acknowledged via ingest."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from fastapi import HTTPException, status
from sqlalchemy.orm import Session

from protocol.ids import new_event_id
from protocol.messages import Command, CommandAction, encode
from protocol.signing import DownlinkSigner
from protocol.topics import Family, device_topic
from server.db import CommandRow, Device, UserAccount
from server.mqttlink import MqttLink, MqttLinkError
from server.security import utcnow

if TYPE_CHECKING:
    # Only a type here: importing server.api at run time would be an import cycle
    # (server.api → routes → server.alerts → this module).
    from server.api.schemas import CommandIn

logger = logging.getLogger(__name__)


class CommandNotSentError(RuntimeError):
    """The command was recorded but could not be published (no link, or the link failed)."""


def send_command(
    session: Session,
    link: MqttLink | None,
    device: Device,
    action: CommandAction,
    *,
    issuer_user_id: int | None,
    duration_s: float | None = None,
    expires_in_s: float = 60.0,
    signer: DownlinkSigner | None = None,
) -> CommandRow:
    """Record the command, commit, then publish it on the device's ``cmd`` topic.

    ``issuer_user_id`` is None for commands the server issues itself (an
    alert's fire release). Raises :class:`CommandNotSentError` when it cannot
    be published; the row then says ``failed``. ``signer`` signs it for the
    device to verify (protocol.signing); None sends it unsigned.
    """
    if link is None:
        raise CommandNotSentError("no MQTT connection configured")
    now = utcnow()
    command = Command(
        id=new_event_id(),
        device=device.id,
        action=action,
        issued_at=now,
        expires_at=now + timedelta(seconds=expires_in_s),
        duration_s=duration_s,
    )
    row = CommandRow(
        id=command.id,
        device_id=device.id,
        building_id=device.building_id,
        action=command.action.value,
        issued_at=command.issued_at,
        expires_at=command.expires_at,
        issuer_user_id=issuer_user_id,
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
        raise CommandNotSentError("command not published") from None
    logger.info("command %s %s sent to %s", command.id, command.action.value, device.id)
    return row


def issue_command(
    session: Session,
    link: MqttLink | None,
    device: Device,
    data: CommandIn,
    user: UserAccount,
    signer: DownlinkSigner | None = None,
) -> CommandRow:
    """A user's command (the REST API): 503 when it cannot be published."""
    try:
        return send_command(
            session,
            link,
            device,
            data.action,
            issuer_user_id=user.id,
            duration_s=data.duration_s,
            expires_in_s=data.expires_in_s,
            signer=signer,
        )
    except CommandNotSentError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
