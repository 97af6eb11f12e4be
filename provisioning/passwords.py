"""Broker passwords and Mosquitto's password-file hash.

Mosquitto 2.0 stores ``user:$7$<iterations>$<salt>$<hash>``: PBKDF2-HMAC-SHA512
over the password with a 12-byte random salt, salt and 64-byte hash in
standard base64 (what ``mosquitto_passwd`` writes; the broker reads the
iteration count from the line). We write the same format with hashlib so
that no password ever appears on a command line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

#: mosquitto_passwd's default is 101; the broker accepts any count from the file.
ITERATIONS: Final = 10_000
SALT_BYTES: Final = 12
PASSWORD_BYTES: Final = 24  # 32 characters of base64url: 192 bits


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def mosquitto_hash(
    password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS
) -> str:
    """The ``$7$...`` hash of ``password`` as it goes after ``user:`` in a password file."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return "$7${}${}${}".format(
        iterations,
        base64.b64encode(salt).decode("ascii"),
        base64.b64encode(digest).decode("ascii"),
    )


def check_mosquitto_hash(password: str, hashed: str) -> bool:
    """True if ``hashed`` (a ``$7$`` hash) is the hash of ``password``."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[1] != "7":
        return False
    try:
        iterations = int(parts[2])
        salt = base64.b64decode(parts[3], validate=True)
        expected = base64.b64decode(parts[4], validate=True)
    except ValueError:
        return False
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(digest, expected)
