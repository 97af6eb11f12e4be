"""The server's dynamic-QR signing keys: created on first start, rotated on request."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from protocol.keys import load_public_keys, load_signing_key, token_key, write_signing_key
from protocol.messages import TokenKey
from protocol.token_issuer import SigningKey

logger = logging.getLogger(__name__)

_KID_RE = re.compile(r"^k(\d{1,6})$")


def ensure_signing_key(directory: Path) -> SigningKey:
    """The current signing key; a first key ``k1`` is made if there is none."""
    if not (directory / "CURRENT").exists():
        write_signing_key(directory, SigningKey.generate("k1"))
        logger.info("created token signing key k1 in %s", directory)
    return load_signing_key(directory)


def rotate_signing_key(directory: Path) -> SigningKey:
    """Make a new current key ``k<n+1>``; older public keys stay for tokens already shown."""
    numbers = [int(m.group(1)) for p in directory.glob("*.pub") if (m := _KID_RE.match(p.stem))]
    key = SigningKey.generate(f"k{max(numbers, default=0) + 1}")
    write_signing_key(directory, key)
    logger.info("rotated token signing key to %s", key.kid)
    return key


def public_token_keys(directory: Path) -> list[TokenKey]:
    """Every public key in the directory, in the allowlist form, sorted by key id."""
    return [token_key(kid, key) for kid, key in sorted(load_public_keys(directory).items())]
