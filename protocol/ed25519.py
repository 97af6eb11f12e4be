"""Ed25519 public keys and signature verification, and nothing else.

This is all a device needs of Ed25519: gates and kiosks verify QR tokens
(:mod:`protocol.tokens`) and downlink messages (:mod:`protocol.signing`) with
public keys, and never sign. It uses libsodium through PyNaCl (``nacl``), which
costs an agent ~2 MB of resident memory where ``cryptography``'s Ed25519
(with its own OpenSSL) costs ~7 MB. Signing and private-key files stay on
``cryptography`` in the modules that only the server, the gateway and the
command line import (:mod:`protocol.token_signing`, :mod:`protocol.downlink_signer`,
:mod:`protocol.keys`); both libraries implement RFC 8032, so a signature made
by one verifies with the other (tests/protocol/test_ed25519.py).

libsodium is stricter than the RFC requires in ways that only refuse forgeries:
it refuses public keys and signature points of small order and non-canonical
encodings, so a key made of such a point verifies nothing.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from protocol.errors import ProtocolError

__all__ = [
    "PUBLIC_KEY_BYTES",
    "SIGNATURE_BYTES",
    "InvalidPublicKeyError",
    "PublicKey",
]

PUBLIC_KEY_BYTES: Final = 32
SIGNATURE_BYTES: Final = 64


class InvalidPublicKeyError(ProtocolError, ValueError):
    """Text or bytes that are not an Ed25519 public key."""


class PublicKey:
    """An Ed25519 public key: what it is on the wire (32 raw bytes) and what it verifies."""

    __slots__ = ("_key", "raw")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != PUBLIC_KEY_BYTES:
            raise InvalidPublicKeyError(
                f"an Ed25519 public key is {PUBLIC_KEY_BYTES} bytes, not {len(raw)}"
            )
        self.raw: Final = bytes(raw)
        self._key: Final = VerifyKey(self.raw)

    @classmethod
    def from_b64(cls, text: str) -> PublicKey:
        """From base64url without padding (43 characters), as allowlists and key files hold it."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError) as exc:
            raise InvalidPublicKeyError(f"not base64url: {exc}") from None
        return cls(raw)

    @property
    def b64(self) -> str:
        """base64url without padding."""
        return base64.urlsafe_b64encode(self.raw).rstrip(b"=").decode("ascii")

    def verifies(self, signature: bytes, *message: bytes | memoryview) -> bool:
        """True if ``signature`` is this key's signature of the message.

        The message may be given in parts (their concatenation is what was
        signed): libsodium takes the signature and the message as one buffer,
        so the parts are joined with the signature once, without first
        building the message on its own (a 12 MB allowlist snapshot would be
        copied twice).
        """
        if len(signature) != SIGNATURE_BYTES:
            return False
        try:
            self._key.verify(b"".join((signature, *message)))
        except BadSignatureError:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"PublicKey({self.b64!r})"
