"""Scalar field types shared by the site and device models.

Scalars are *strict*: a quoted ``"17"`` is not a pin number and ``1`` is not
``true``. That keeps the loader in step with the JSON Schema editors check
against, so a file an editor accepts is a file the loader accepts.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Final

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    Strict,
    StringConstraints,
    WithJsonSchema,
)

from protocol.ids import ID_PATTERN

#: Every configuration model forbids unknown keys (a typo is an error, not a
#: silently ignored setting) and is immutable once loaded.
MODEL_CONFIG: Final = ConfigDict(extra="forbid", frozen=True)

HHMM_PATTERN: Final = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_HHMM_RE: Final = re.compile(HHMM_PATTERN)

ID_HELP: Final = (
    "lower-case letters, digits and '-', starting with a letter or digit, at most 32 characters"
)

Id = Annotated[str, Strict(), StringConstraints(pattern=ID_PATTERN)]
"""A topic-safe identifier (``protocol.ids.ID_PATTERN``)."""

Name = Annotated[
    str, Strict(), StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]
"""A human-readable name or place; never a person's name."""

StrictBool = Annotated[bool, Strict()]
StrictInt = Annotated[int, Strict()]

Port = Annotated[int, Strict(), Field(ge=1, le=65535)]
Hostname = Annotated[
    str,
    Strict(),
    StringConstraints(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9._:\[\]-]+$"),
]
BcmPin = Annotated[int, Strict(), Field(ge=0, le=27)]
"""A GPIO pin by its BCM number (0-27 on the 40-pin header)."""

DevicePath = Annotated[str, Strict(), StringConstraints(pattern=r"^/\S+$", max_length=255)]
"""An absolute path such as ``/dev/ttyUSB0``."""


def _parse_time_of_day(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and _HHMM_RE.fullmatch(value):
        hh, mm = value.split(":")
        return time(int(hh), int(mm))
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        # Only a YAML 1.1 reader (plain yaml.safe_load) turns 23:30 into 1410.
        hours, minutes = divmod(value, 60)
        raise ValueError(
            f'expected a time of day as "HH:MM"; got the number {value}: '
            f'write it in quotes, "{hours:02d}:{minutes:02d}"'
        )
    raise ValueError(f'expected a time of day as "HH:MM" (24-hour clock), got {value!r}')


TimeOfDay = Annotated[
    time,
    BeforeValidator(_parse_time_of_day),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": HHMM_PATTERN}),
]
"""A local time of day written ``"HH:MM"`` (24-hour clock, in the campus time zone)."""

_ROOM_NUMBER_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,15}$")


def _parse_room_number(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and _ROOM_NUMBER_RE.fullmatch(value):
        return value
    raise ValueError(
        f"expected a room number such as 101 or A-203 (letters, digits, '-'), got {value!r}"
    )


RoomNumber = Annotated[
    str,
    PlainValidator(_parse_room_number),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": _ROOM_NUMBER_RE.pattern},
            ]
        }
    ),
]
"""The number on the door, as written there (``101``, ``A-203``); kept as a string."""


def _parse_camera_device(value: object) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 63:
        return value
    if isinstance(value, str) and value.startswith("/") and len(value) > 1:
        return value
    raise ValueError(
        "expected a video device index (0-63) or an absolute path such as /dev/video0, "
        f"got {value!r}"
    )


CameraDevice = Annotated[
    int | str,
    PlainValidator(_parse_camera_device),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": 63},
                {"type": "string", "pattern": r"^/\S+$"},
            ]
        }
    ),
]
"""A V4L2 device index (``0`` for ``/dev/video0``) or a device path."""
