"""Issuing dynamic QR tokens: the private half, for the server and the command line.

Token signing keys are ``cryptography`` Ed25519 private keys (stored as
PKCS#8 PEM by :mod:`protocol.keys`). Devices never import this module: they
only verify (:func:`protocol.tokens.verify_token`, libsodium), so a gate's
process does not carry ``cryptography`` and its OpenSSL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.ed25519 import PublicKey
from protocol.messages import PersonKind
from protocol.tokens import NONCE_BYTES, check_key_id, step_of, token_body, token_text

__all__ = ["SigningKey", "issue_token"]


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key with the key id that names it in tokens."""

    kid: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, kid: str) -> SigningKey:
        check_key_id(kid)
        return cls(kid=kid, private_key=Ed25519PrivateKey.generate())

    @property
    def public_key(self) -> PublicKey:
        return PublicKey(self.private_key.public_key().public_bytes_raw())


def issue_token(
    key: SigningKey,
    subject: str,
    kind: PersonKind,
    now: datetime,
    nonce: bytes | None = None,
) -> str:
    """Issue a token for ``subject`` valid in the 30-second step containing ``now``."""
    nonce = os.urandom(NONCE_BYTES) if nonce is None else nonce
    body = token_body(key.kid, subject, kind, step_of(now), nonce)
    return token_text(body, key.private_key.sign(body))
