"""Signing downlink messages: the private half, for the server, gateways and provisioning.

The scheme, the trust file and the verification devices do are in
:mod:`protocol.downlink`. Signing keys are ``cryptography`` Ed25519 private
keys stored as PKCS#8 PEM; devices never import this module, so a gate's
process does not carry ``cryptography`` and its OpenSSL.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.downlink import (
    CONTEXT,
    TAIL_SEARCH_BYTES,
    DownlinkSignatureError,
    KeyScope,
    SignatureReason,
    TrustedKey,
)
from protocol.ed25519 import PublicKey
from protocol.messages import DownlinkSignature

__all__ = ["DownlinkSigner", "load_signer"]


@dataclass(frozen=True, slots=True)
class DownlinkSigner:
    """A private downlink key with the id devices know it by."""

    kid: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, kid: str) -> DownlinkSigner:
        return cls(kid=kid, private_key=Ed25519PrivateKey.generate())

    def trusted(self, scope: KeyScope) -> TrustedKey:
        return TrustedKey(kid=self.kid, public_key=self.public_key.b64, scope=scope)

    @property
    def public_key(self) -> PublicKey:
        return PublicKey(self.private_key.public_key().public_bytes_raw())

    def sign(self, topic: str, body: bytes) -> bytes:
        """``body`` (a message encoded without ``sig``) with its signature appended."""
        if not body.endswith(b"}") or b'"sig":' in body[-TAIL_SEARCH_BYTES:]:
            raise ValueError("body must be a JSON object encoded without `sig`")
        raw = self.private_key.sign(CONTEXT + topic.encode() + b"\n" + body)
        value = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
        sig = msgspec.json.encode(DownlinkSignature(kid=self.kid, value=value))
        return body[:-1] + b',"sig":' + sig + b"}"

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def load_signer(path: Path, kid: str) -> DownlinkSigner:
    """A PKCS#8 PEM Ed25519 private key from ``path``."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise DownlinkSignatureError(
            SignatureReason.MALFORMED, f"cannot load downlink key {path}: {exc}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise DownlinkSignatureError(SignatureReason.MALFORMED, f"{path} is not an Ed25519 key")
    return DownlinkSigner(kid=kid, private_key=key)
