"""Identifiers shared by every part.

Building, device, room and person ids appear inside MQTT topics, so they are
restricted to characters that can never be read as a topic level separator or
wildcard: lower-case letters, digits and ``-``, at most 32 characters.

Event ids are ULIDs: 26 characters of Crockford base32 whose first ten encode
the millisecond they were made, so sorting ids sorts events by creation time.
"""

from __future__ import annotations

import os
import re
import time
from typing import Final

ID_PATTERN: Final = r"^[a-z0-9][a-z0-9-]{0,31}$"
ULID_PATTERN: Final = r"^[0-9A-HJKMNP-TV-Z]{26}$"

_ID_RE: Final = re.compile(ID_PATTERN)


def is_valid_id(value: str) -> bool:
    """True if ``value`` may be used as a building/device/room/person id."""
    return _ID_RE.fullmatch(value) is not None


_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_event_id(now_ms: int | None = None, entropy: bytes | None = None) -> str:
    """A new sortable unique event id: a ULID (48-bit milliseconds + 80 random bits).

    Made here rather than with a ULID package: the format is two integers in
    base 32, and the package's import alone cost a gate agent about 6 MB.
    ``now_ms`` and ``entropy`` (10 bytes) make ids reproducible in tests.
    """
    millis = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    randomness = os.urandom(10) if entropy is None else entropy
    if len(randomness) != 10:
        raise ValueError("entropy must be 10 bytes")
    value = (millis & (2**48 - 1)) << 80 | int.from_bytes(randomness, "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))
