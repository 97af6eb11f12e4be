"""Keyed hashes of card numbers: what edge devices and telemetry hold instead.

The key is a site secret held by the server and provisioned to gates; without
it a leaked allowlist cannot be turned back into card numbers by trying them.
"""

from __future__ import annotations

import hashlib
import hmac


def card_hash(key: bytes, card_number: str) -> str:
    """HMAC-SHA256 of the normalised card number, as 64 lower-case hex digits."""
    if len(key) < 16:
        raise ValueError("the card-hash key must be at least 16 bytes")
    normalised = card_number.strip().upper().encode("ascii")
    return hmac.new(key, normalised, hashlib.sha256).hexdigest()


def card_ref(hashed: str) -> str:
    """The short reference to a card hash used in access events (first 16 hex digits)."""
    return hashed[:16]
