"""Token keys on disk, and their form in allowlists.

A key directory holds, per key id ``K``: ``K.key`` (the private key, PKCS#8
PEM, mode 0600 — only on the server that issues tokens) and ``K.pub`` (the raw
Ed25519 public key, base64url — what gates receive). ``CURRENT`` names the key
that new tokens are signed with; older keys stay so tokens already shown
keep verifying during a rotation.

This is the server's side (private keys, ``cryptography``); devices get the
public keys in their allowlist and never import it (:mod:`protocol.ed25519`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.ed25519 import InvalidPublicKeyError, PublicKey
from protocol.errors import ProtocolError
from protocol.messages import TokenKey
from protocol.token_issuer import SigningKey

CURRENT_FILE: Final = "CURRENT"


class KeyStoreError(ProtocolError, OSError):
    """A key directory that cannot be used."""


def public_key_b64(key: PublicKey) -> str:
    """The form of a public key in ``K.pub`` files and allowlists (base64url, no padding)."""
    return key.b64


def token_key(kid: str, key: PublicKey) -> TokenKey:
    """The allowlist form of a public key."""
    return TokenKey(kid=kid, public_key=key.b64)


def write_signing_key(directory: Path, key: SigningKey, *, make_current: bool = True) -> None:
    """Store a key pair; refuse to overwrite an existing key id."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / f"{key.kid}.key"
    if private_path.exists():
        raise KeyStoreError(f"key {key.kid!r} already exists in {directory}")
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    (directory / f"{key.kid}.pub").write_text(key.public_key.b64 + "\n")
    if make_current:
        (directory / CURRENT_FILE).write_text(key.kid + "\n")


def load_signing_key(directory: Path, kid: str | None = None) -> SigningKey:
    """Load key ``kid``, or the current one."""
    if kid is None:
        try:
            kid = (directory / CURRENT_FILE).read_text().strip()
        except FileNotFoundError:
            raise KeyStoreError(f"no {CURRENT_FILE} file in {directory}") from None
    try:
        private = serialization.load_pem_private_key(
            (directory / f"{kid}.key").read_bytes(), password=None
        )
    except FileNotFoundError:
        raise KeyStoreError(f"no private key {kid!r} in {directory}") from None
    except ValueError as exc:
        raise KeyStoreError(f"private key {kid!r} in {directory} is unreadable: {exc}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyStoreError(f"key {kid!r} in {directory} is not an Ed25519 key")
    return SigningKey(kid=kid, private_key=private)


def load_public_keys(directory: Path) -> dict[str, PublicKey]:
    """Every public key in the directory, by key id."""
    keys: dict[str, PublicKey] = {}
    for path in sorted(directory.glob("*.pub")):
        try:
            keys[path.stem] = PublicKey.from_b64(path.read_text().strip())
        except InvalidPublicKeyError as exc:
            raise KeyStoreError(f"{path}: not a base64url Ed25519 public key: {exc}") from None
    return keys
