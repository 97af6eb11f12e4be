"""The site file: campus -> buildings -> floors -> rooms.

Cross-field rules that need the whole document (ids unique across the site,
floor levels unique in a building, ...) raise :class:`FindingsError` with the
location of every offending value, so the loader can point at each line.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator, model_validator

from siteconfig.errors import Finding, Loc, format_loc, raise_findings
from siteconfig.fields import (
    MODEL_CONFIG,
    Hostname,
    Id,
    Name,
    Port,
    RoomNumber,
    StrictBool,
    StrictInt,
    TimeOfDay,
)

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NOON = time(12, 0)


class Broker(BaseModel):
    """An MQTT broker address."""

    model_config = MODEL_CONFIG

    host: Hostname = Field(description="host name or IP address of the broker")
    port: Port = Field(description="TCP port (1883 plain, 8883 with TLS by convention)")
    tls: StrictBool = Field(default=False, description="connect with TLS")


class Campus(BaseModel):
    model_config = MODEL_CONFIG

    id: Id = Field(description="campus id")
    name: Name = Field(description="display name")
    timezone: str = Field(
        description="IANA time zone of every local time in this file, e.g. Asia/Shanghai"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai"
            ) from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Curfew(BaseModel):
    """When the building's doors close to normal entry for the night.

    Each day's time is the start of the curfew on the night that *begins*
    on that day. A time before noon belongs to the early morning after it:
    ``sat: "00:30"`` means Saturday night's curfew starts at 00:30 on
    Sunday. The curfew ends at ``ends`` the next morning.
    """

    model_config = MODEL_CONFIG

    default: TimeOfDay = Field(description='curfew start on days not listed, e.g. "23:30"')
    mon: TimeOfDay | None = Field(default=None, description="curfew start on Monday night")
    tue: TimeOfDay | None = Field(default=None, description="curfew start on Tuesday night")
    wed: TimeOfDay | None = Field(default=None, description="curfew start on Wednesday night")
    thu: TimeOfDay | None = Field(default=None, description="curfew start on Thursday night")
    fri: TimeOfDay | None = Field(default=None, description="curfew start on Friday night")
    sat: TimeOfDay | None = Field(default=None, description="curfew start on Saturday night")
    sun: TimeOfDay | None = Field(default=None, description="curfew start on Sunday night")
    ends: TimeOfDay = Field(
        default=time(6, 0), description='end of the curfew the next morning (before noon), "06:00"'
    )

    @model_validator(mode="after")
    def _times_make_sense(self) -> Self:
        findings: list[Finding] = []
        if self.ends >= NOON:
            findings.append(Finding(("ends",), "the curfew must end before noon"))
        for key in ("default", *WEEKDAYS):
            start = getattr(self, key)
            if start is not None and start < NOON and start >= self.ends:
                findings.append(
                    Finding(
                        (key,),
                        f"curfew start {start:%H:%M} is in the morning but not before "
                        f"'ends' ({self.ends:%H:%M}); start times are evening times or "
                        "early-morning times before the curfew ends",
                    )
                )
        raise_findings(findings)
        return self

    def start_for(self, weekday: int) -> time:
        """Curfew start on the night beginning on ``weekday`` (0 = Monday)."""
        day_time: time | None = getattr(self, WEEKDAYS[weekday])
        return day_time if day_time is not None else self.default

    def window(self, night_of: date, tz: tzinfo) -> tuple[datetime, datetime]:
        """The curfew of the night that begins on ``night_of`` as aware datetimes."""
        start = self.start_for(night_of.weekday())
        start_day = night_of if start >= NOON else night_of + timedelta(days=1)
        end_day = night_of + timedelta(days=1)
        return (
            datetime.combine(start_day, start, tzinfo=tz),
            datetime.combine(end_day, self.ends, tzinfo=tz),
        )


class OpeningHours(BaseModel):
    """Daily opening hours, local time; ``opens`` before ``closes`` on the same day."""

    model_config = MODEL_CONFIG

    opens: TimeOfDay = Field(description='opening time, "08:30"')
    closes: TimeOfDay = Field(description='closing time, "20:30"')

    @model_validator(mode="after")
    def _opens_before_closes(self) -> Self:
        if self.closes <= self.opens:
            raise_findings([Finding(("closes",), "closing time must be after opening time")])
        return self


class _RoomBase(BaseModel):
    model_config = MODEL_CONFIG

    id: Id = Field(description="room id, unique across the campus, e.g. b1-r101")
    number: RoomNumber = Field(description="the number on the door, e.g. 101")
    capacity: StrictInt = Field(ge=1, le=1000, description="persons (beds in a dorm room)")
    max_power_w: float = Field(
        gt=0, le=1_000_000, strict=True, description="maximum total electrical power, watts"
    )


class DormRoom(_RoomBase):
    kind: Literal["dorm"] = Field(description="a room students live in")


class ActivityRoom(_RoomBase):
    kind: Literal["activity"] = Field(description="a bookable activity room")
    opening_hours: OpeningHours = Field(
        default=OpeningHours(opens=time(8, 30), closes=time(20, 30)),
        description="daily opening hours (default 08:30-20:30)",
    )
    booking_lead_days: StrictInt = Field(
        default=1, ge=0, le=365, description="bookings must be made at least this many days ahead"
    )


class GeneralRoom(_RoomBase):
    kind: Literal["study", "office", "duty", "other"] = Field(
        description="study room, office, counselors' duty room, or other"
    )


Room = Annotated[DormRoom | ActivityRoom | GeneralRoom, Field(discriminator="kind")]
RoomKind = Literal["dorm", "activity", "study", "office", "duty", "other"]


class Floor(BaseModel):
    model_config = MODEL_CONFIG

    level: StrictInt = Field(ge=-5, le=200, description="floor number: 1 ground floor, -1 basement")
    name: Name | None = Field(default=None, description='display name, e.g. "1F"')
    rooms: tuple[Room, ...] = Field(default=(), description="rooms on this floor")


class Building(BaseModel):
    model_config = MODEL_CONFIG

    id: Id = Field(description="building id, e.g. b1")
    name: Name = Field(description="display name")
    gateway_id: Id = Field(description="id of the building's gateway (its MQTT identity)")
    broker: Broker = Field(description="the building's MQTT broker, where its devices connect")
    curfew: Curfew = Field(description="curfew per day of week")
    floors: tuple[Floor, ...] = Field(min_length=1, description="floors with their rooms")

    def rooms(self) -> Iterator[tuple[Floor, Room]]:
        for floor in self.floors:
            for room in floor.rooms:
                yield floor, room

    def room(self, room_id: str) -> Room:
        for _, room in self.rooms():
            if room.id == room_id:
                return room
        raise KeyError(room_id)

    def has_floor(self, level: int) -> bool:
        return any(floor.level == level for floor in self.floors)


def _building_findings(building: Building, base: Loc) -> list[Finding]:
    """Floor levels and room numbers are unique inside a building."""
    findings: list[Finding] = []
    levels: dict[int, int] = {}
    numbers: dict[str, Loc] = {}
    for f_index, floor in enumerate(building.floors):
        if floor.level in levels:
            findings.append(
                Finding(
                    (*base, "floors", f_index, "level"),
                    f"floor level {floor.level} is already listed at floors[{levels[floor.level]}]",
                )
            )
        levels.setdefault(floor.level, f_index)
        for r_index, room in enumerate(floor.rooms):
            loc: Loc = ("floors", f_index, "rooms", r_index)
            if room.number in numbers:
                findings.append(
                    Finding(
                        (*base, *loc, "number"),
                        f"room number {room.number} is already used in this building "
                        f"at {format_loc(numbers[room.number])}",
                    )
                )
            numbers.setdefault(room.number, loc)
    return findings


class Site(BaseModel):
    """The whole site file."""

    model_config = MODEL_CONFIG

    version: Literal[1] = Field(default=1, description="format version of this file")
    campus: Campus = Field(description="the campus: id, name, time zone")
    buildings: tuple[Building, ...] = Field(min_length=1, description="the dormitory buildings")

    @model_validator(mode="after")
    def _unique(self) -> Self:
        """Floor levels and room numbers are unique in a building. Campus,
        building, gateway and room ids share one namespace, so an id names
        exactly one thing anywhere in topics, logs and the dashboard.

        Checked here rather than in each building, so that all of these
        findings are reported together."""
        findings: list[Finding] = []
        for b_index, building in enumerate(self.buildings):
            findings.extend(_building_findings(building, ("buildings", b_index)))
        owners: dict[str, str] = {self.campus.id: "the campus"}

        def claim(value: str, loc: Loc, what: str) -> None:
            if value in owners:
                findings.append(Finding(loc, f"id '{value}' is already used by {owners[value]}"))
            else:
                owners[value] = f"{what} at {format_loc(loc[:-1])}"

        for b_index, building in enumerate(self.buildings):
            claim(building.id, ("buildings", b_index, "id"), "the building")
            claim(building.gateway_id, ("buildings", b_index, "gateway_id"), "the gateway")
        for b_index, building in enumerate(self.buildings):
            for f_index, floor in enumerate(building.floors):
                for r_index, room in enumerate(floor.rooms):
                    loc: Loc = ("buildings", b_index, "floors", f_index, "rooms", r_index, "id")
                    claim(room.id, loc, "the room")
        raise_findings(findings)
        return self

    def building(self, building_id: str) -> Building:
        for building in self.buildings:
            if building.id == building_id:
                return building
        raise KeyError(building_id)

    def has_building(self, building_id: str) -> bool:
        return any(building.id == building_id for building in self.buildings)

    def rooms(self) -> Iterator[tuple[Building, Floor, Room]]:
        for building in self.buildings:
            for floor, room in building.rooms():
                yield building, floor, room

    def ids(self) -> frozenset[str]:
        """Every id the site file defines (campus, buildings, gateways, rooms)."""
        found = {self.campus.id}
        for building in self.buildings:
            found.update((building.id, building.gateway_id))
        found.update(room.id for _, _, room in self.rooms())
        return frozenset(found)
