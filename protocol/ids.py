"""Identifiers shared by every part.

Building, device, room and person ids appear inside MQTT topics, so they are
restricted to characters that can never be read as a topic level separator or
wildcard: lower-case letters, digits and ``-``, at most 32 characters.

Event ids are ULIDs: 26 characters of Crockford base32 whose first ten encode
the millisecond they were made, so sorting ids sorts events by creation time.
"""

from __future__ import annotations

import re
from typing import Final

from ulid import ULID

ID_PATTERN: Final = r"^[a-z0-9][a-z0-9-]{0,31}$"
ULID_PATTERN: Final = r"^[0-9A-HJKMNP-TV-Z]{26}$"

_ID_RE: Final = re.compile(ID_PATTERN)


def is_valid_id(value: str) -> bool:
    """True if ``value`` may be used as a building/device/room/person id."""
    return _ID_RE.fullmatch(value) is not None


def new_event_id() -> str:
    """A new sortable unique event id (ULID)."""
    return str(ULID())
