"""Devices with their status, and commands to them (security staff and admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlalchemy import select

from protocol.ids import ID_PATTERN, ULID_PATTERN
from server.api.deps import (
    RuntimeDep,
    SecurityUser,
    SessionDep,
    StaffUser,
    check_building,
    visible_buildings,
)
from server.api.schemas import CommandIn, CommandOut, DeviceOut
from server.db import CommandRow, Device
from server.services.commands import issue_command

router = APIRouter(prefix="/devices", tags=["devices"])

DevicePath = Annotated[str, Path(pattern=ID_PATTERN)]


@router.get("")
def list_devices(
    session: SessionDep,
    user: StaffUser,
    building: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
) -> list[DeviceOut]:
    query = select(Device).order_by(Device.id)
    scope = visible_buildings(session, user)
    if scope is not None:
        query = query.where(Device.building_id.in_(scope))
    if building is not None:
        query = query.where(Device.building_id == building)
    return [DeviceOut.model_validate(d) for d in session.scalars(query)]


def _device(session: SessionDep, user: StaffUser, device_id: str) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such device")
    check_building(session, user, device.building_id)
    return device


@router.get("/{device_id}")
def read_device(session: SessionDep, user: StaffUser, device_id: DevicePath) -> DeviceOut:
    return DeviceOut.model_validate(_device(session, user, device_id))


@router.post("/{device_id}/commands", status_code=status.HTTP_202_ACCEPTED)
def send_command(
    session: SessionDep,
    user: SecurityUser,
    runtime: RuntimeDep,
    device_id: DevicePath,
    body: CommandIn,
) -> CommandOut:
    """Send unlock/lock/lockdown/fire_release/reset; poll the command for its acknowledgement."""
    device = _device(session, user, device_id)
    return CommandOut.model_validate(
        issue_command(session, runtime.link, device, body, user, runtime.downlink_signer)
    )


@router.get("/{device_id}/commands/{command_id}")
def read_command(
    session: SessionDep,
    user: SecurityUser,
    device_id: DevicePath,
    command_id: Annotated[str, Path(pattern=ULID_PATTERN)],
) -> CommandOut:
    command = session.get(CommandRow, command_id)
    if command is None or command.device_id != device_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such command")
    return CommandOut.model_validate(command)
