"""Dynamic QR tokens: short-lived, signed with Ed25519, verified offline.

A token is ``DQ1.`` followed by base64url (no padding) of::

    version  1 byte   (1)
    kind     1 byte   (0 student, 1 staff, 2 visitor)
    kid      1 byte length + ASCII key id (rotation)
    step     4 bytes  big-endian: issue time // 30 s
    nonce    8 bytes  random (replay detection at the gate)
    subject  1 byte length + ASCII pseudonymous person id
    sig      64 bytes Ed25519 over everything before it

A typical student token is about 124 characters, which fits a version-8 QR
code. A token is valid during its own 30-second step; one step of clock skew
either way is accepted, so a phone refreshing every step always shows a token
that a gate with a slightly wrong clock still takes. Verification needs only
the public key, so a stolen gate cannot mint tokens.

This module is the format and its verification, which is all a gate or kiosk
imports (public keys: :mod:`protocol.ed25519`, libsodium). Issuing tokens
needs the private key: :mod:`protocol.token_issuer`, used by the server and
the command line only.
"""

from __future__ import annotations

import base64
import binascii
import enum
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from protocol.ed25519 import SIGNATURE_BYTES, PublicKey
from protocol.errors import ProtocolError
from protocol.ids import is_valid_id
from protocol.messages import PersonKind, TokenKey

PREFIX: Final = "DQ1."
FORMAT_VERSION: Final = 1
STEP_S: Final = 30
SKEW_STEPS: Final = 1
NONCE_BYTES: Final = 8
KID_MAX_CHARS: Final = 8

_KIND_CODES: Final = {PersonKind.STUDENT: 0, PersonKind.STAFF: 1, PersonKind.VISITOR: 2}
_KINDS_BY_CODE: Final = {code: kind for kind, code in _KIND_CODES.items()}


class TokenReason(enum.StrEnum):
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"


class TokenError(ProtocolError, ValueError):
    """A token that must be refused, with the reason."""

    def __init__(self, reason: TokenReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says."""

    subject: str
    kind: PersonKind
    kid: str
    step: int
    nonce: str  # 16 lower-case hex digits

    @property
    def issued_at(self) -> datetime:
        return datetime.fromtimestamp(self.step * STEP_S, tz=UTC)

    @property
    def expires_at(self) -> datetime:
        """The end of the last step in which a gate still accepts the token."""
        return datetime.fromtimestamp((self.step + 1 + SKEW_STEPS) * STEP_S, tz=UTC)


def check_key_id(kid: str) -> None:
    """Raise ValueError unless ``kid`` can name a token key (1-8 of [a-z0-9-])."""
    if not (0 < len(kid) <= KID_MAX_CHARS and kid.isascii() and is_valid_id(kid)):
        raise ValueError(f"key id must be 1-{KID_MAX_CHARS} of [a-z0-9-]: {kid!r}")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def step_of(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return int(moment.timestamp()) // STEP_S


def token_body(kid: str, subject: str, kind: PersonKind, step: int, nonce: bytes) -> bytes:
    """The signed part of a token (everything before the signature)."""
    if not is_valid_id(subject):
        raise ValueError(f"subject must be a pseudonymous id of [a-z0-9-]: {subject!r}")
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"nonce must be {NONCE_BYTES} bytes")
    kid_bytes = kid.encode("ascii")
    sub = subject.encode("ascii")
    return (
        struct.pack(">BBB", FORMAT_VERSION, _KIND_CODES[kind], len(kid_bytes))
        + kid_bytes
        + struct.pack(">I", step)
        + nonce
        + struct.pack(">B", len(sub))
        + sub
    )


def token_text(body: bytes, signature: bytes) -> str:
    """The token shown in the QR code: the prefix, then base64url of body and signature."""
    if len(signature) != SIGNATURE_BYTES:
        raise ValueError(f"an Ed25519 signature is {SIGNATURE_BYTES} bytes")
    return PREFIX + _b64encode(body + signature)


def _parse(token: str) -> tuple[bytes, bytes, TokenClaims]:
    if not token.startswith(PREFIX):
        raise TokenError(TokenReason.MALFORMED, f"does not start with {PREFIX!r}")
    try:
        raw = _b64decode(token[len(PREFIX) :])
    except (binascii.Error, ValueError) as exc:
        raise TokenError(TokenReason.MALFORMED, f"not base64url: {exc}") from None
    body, signature = raw[:-SIGNATURE_BYTES], raw[-SIGNATURE_BYTES:]
    try:
        version, kind_code, kid_len = struct.unpack_from(">BBB", body, 0)
        offset = 3
        kid = body[offset : offset + kid_len].decode("ascii")
        offset += kid_len
        (step,) = struct.unpack_from(">I", body, offset)
        offset += 4
        nonce = body[offset : offset + NONCE_BYTES]
        offset += NONCE_BYTES
        (sub_len,) = struct.unpack_from(">B", body, offset)
        offset += 1
        subject = body[offset : offset + sub_len].decode("ascii")
        offset += sub_len
    except (struct.error, UnicodeDecodeError) as exc:
        raise TokenError(TokenReason.MALFORMED, f"truncated or garbled: {exc}") from None
    if (
        len(signature) != SIGNATURE_BYTES
        or offset != len(body)
        or len(kid) != kid_len
        or len(nonce) != NONCE_BYTES
        or len(subject) != sub_len
    ):
        raise TokenError(TokenReason.MALFORMED, "wrong length")
    if version != FORMAT_VERSION:
        raise TokenError(TokenReason.MALFORMED, f"unsupported version {version}")
    kind = _KINDS_BY_CODE.get(kind_code)
    if kind is None:
        raise TokenError(TokenReason.MALFORMED, f"unknown kind code {kind_code}")
    if not is_valid_id(subject):
        raise TokenError(TokenReason.MALFORMED, "subject is not an id")
    claims = TokenClaims(subject=subject, kind=kind, kid=kid, step=step, nonce=nonce.hex())
    return body, signature, claims


def peek_key_id(token: str) -> str:
    """The key id a token names, without verifying it (raises TokenError if malformed)."""
    return _parse(token)[2].kid


def keyring_from_allowlist(keys: Iterable[TokenKey]) -> dict[str, PublicKey]:
    """Key id -> public key, from the keys an allowlist carries."""
    return {k.kid: PublicKey.from_b64(k.public_key) for k in keys}


def verify_token(token: str, keys: Mapping[str, PublicKey], now: datetime) -> TokenClaims:
    """Verify a token with public keys only; raise :class:`TokenError` if refused."""
    body, signature, claims = _parse(token)
    public_key = keys.get(claims.kid)
    if public_key is None:
        raise TokenError(TokenReason.UNKNOWN_KEY, f"no public key with id {claims.kid!r}")
    if not public_key.verifies(signature, body):
        raise TokenError(TokenReason.BAD_SIGNATURE, "signature does not verify")
    delta = step_of(now) - claims.step
    if delta > SKEW_STEPS:
        raise TokenError(
            TokenReason.EXPIRED, f"expired at {claims.expires_at.isoformat()} ({delta} steps ago)"
        )
    if delta < -SKEW_STEPS:
        raise TokenError(
            TokenReason.NOT_YET_VALID,
            f"valid from {(claims.issued_at - timedelta(seconds=STEP_S)).isoformat()}",
        )
    return claims
