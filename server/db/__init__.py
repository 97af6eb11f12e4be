"""The SQL domain (SQLAlchemy 2 typed ORM); importing this registers every table."""

from server.db.alerts import AlertHistoryRow, AlertRow, AlertSignalRow
from server.db.audit import AuditAppendOnlyError, AuditEntry
from server.db.base import Base, UTCDateTime
from server.db.events import (
    AccessEvent,
    CommandAckRow,
    CommandRow,
    DoorEventRow,
    DutyCheckRow,
    PassageCountRow,
    TelemetrySample,
)
from server.db.people import (
    BuildingAccess,
    Credential,
    Person,
    PersonPrivate,
    StaffBuilding,
    UserAccount,
)
from server.db.places import Building, Campus, Curfew, Device, Floor, Room
from server.db.schedules import Leave, RoomBooking
from server.db.state import AllowlistVersion, DutyShift, GateFlowMinute, Presence, RoomMinute

__all__ = [
    "AccessEvent",
    "AlertHistoryRow",
    "AlertRow",
    "AlertSignalRow",
    "AllowlistVersion",
    "AuditAppendOnlyError",
    "AuditEntry",
    "Base",
    "Building",
    "BuildingAccess",
    "Campus",
    "CommandAckRow",
    "CommandRow",
    "Credential",
    "Curfew",
    "Device",
    "DoorEventRow",
    "DutyCheckRow",
    "DutyShift",
    "Floor",
    "GateFlowMinute",
    "Leave",
    "PassageCountRow",
    "Person",
    "PersonPrivate",
    "Presence",
    "Room",
    "RoomBooking",
    "RoomMinute",
    "StaffBuilding",
    "TelemetrySample",
    "UTCDateTime",
    "UserAccount",
]
