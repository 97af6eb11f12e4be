"""Passwords (pwdlib, argon2) and bearer tokens (PyJWT, HS256)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta
from typing import Final

import jwt
from pwdlib import PasswordHash

ALGORITHM: Final = "HS256"

_hasher = PasswordHash.recommended()


class Role(enum.StrEnum):
    STUDENT = "student"
    COUNSELOR = "counselor"
    SECURITY = "security"
    ADMIN = "admin"


class InvalidTokenError(ValueError):
    """A bearer token that is malformed, forged or expired."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher.verify(password, password_hash)


def create_access_token(user_id: int, secret_key: str, expires_s: int, now: datetime) -> str:
    claims = {"sub": str(user_id), "iat": now, "exp": now + timedelta(seconds=expires_s)}
    return jwt.encode(claims, secret_key, algorithm=ALGORITHM)


def read_access_token(token: str, secret_key: str) -> int:
    """The user id a valid token names; raise :class:`InvalidTokenError` otherwise."""
    try:
        claims = jwt.decode(
            token, secret_key, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]}
        )
        return int(claims["sub"])
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise InvalidTokenError(str(exc)) from None


def utcnow() -> datetime:
    return datetime.now(UTC)
