"""Signed downlink: commands and allowlists carry an Ed25519 signature devices verify.

A compromised building broker (or anyone who can publish on it) must not be
able to open doors or add people to a gate's allowlist. So every downlink
message (:class:`~protocol.messages.Command`, ``AllowlistSnapshot``,
``AllowlistDelta``) carries ``sig``: an Ed25519 signature by a key the device
trusts, over::

    b"dorm-downlink-v1\\n" + topic + b"\\n" + body

where ``body`` is the JSON of the message *without* ``sig`` exactly as it
was sent. ``sig`` is the last field of those messages, so the signed wire
form is ``body`` with ``,"sig":{...}`` inserted before the closing brace, and
a verifier recovers ``body`` from the bytes it received without decoding and
re-encoding (no canonical-JSON problem, and a 16 MiB snapshot is verified
without being parsed twice). The topic is signed too, so a message signed
for one device or building cannot be replayed on another's topic.

Keys have a *scope*: ``all`` (the server's downlink key) or ``fire_release``
(a building gateway's own key, which the building's devices trust only for
``fire_release`` commands, so the gateway can release doors in a fire while
the central side is unreachable, and nothing else).

This module is the format, the trust file and the verification, which is all a
device imports (public keys: :mod:`protocol.ed25519`, libsodium). Signing is in
:mod:`protocol.signing` (``cryptography``), used by the server, the gateways
and provisioning only.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from pathlib import Path
from typing import Annotated, Final

import msgspec
from msgspec import Meta, Struct

from protocol.codec import decode_as
from protocol.ed25519 import PublicKey
from protocol.errors import InvalidMessageError, ProtocolError
from protocol.ids import ID_PATTERN
from protocol.messages import Command, CommandAction, DownlinkSignature
from protocol.topics import Family, TopicError, parse_topic

CONTEXT: Final = b"dorm-downlink-v1\n"
SIGNED_FAMILIES: Final = frozenset(
    {Family.COMMAND, Family.ALLOWLIST_SNAPSHOT, Family.ALLOWLIST_DELTA}
)
#: ``,"sig":{"kid":"...","value":"..."}}`` at the very end of the payload.
_SIG_TAIL_RE: Final = re.compile(rb',"sig":(\{[^{}]{1,200}\})\}\s*$')
#: How far from the end of a payload its ``sig`` may start.
TAIL_SEARCH_BYTES: Final = 256


class KeyScope(enum.StrEnum):
    ALL = "all"
    FIRE_RELEASE = "fire_release"


class SignatureReason(enum.StrEnum):
    """Why a downlink message was refused; counted as ``downlink_<reason>``."""

    UNSIGNED = "unsigned"
    MALFORMED = "bad_signature_field"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    OUT_OF_SCOPE = "key_out_of_scope"


class DownlinkSignatureError(ProtocolError, ValueError):
    def __init__(self, reason: SignatureReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


class TrustedKey(Struct, forbid_unknown_fields=True, kw_only=True):
    """A public key a device accepts downlink messages from, and for what."""

    kid: Annotated[str, Meta(pattern=ID_PATTERN)]
    public_key: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{43}$")]
    scope: KeyScope


class TrustFile(Struct, forbid_unknown_fields=True, kw_only=True):
    """``downlink-keys.json``: what ``dorm provision`` writes for each device."""

    keys: list[TrustedKey]


def _split(payload: bytes) -> tuple[int, DownlinkSignature]:
    """Where the signed body of a payload stops, and its signature.

    The signed body is ``payload[:end] + b"}"`` (the message without ``sig``).
    """
    start = max(0, len(payload) - TAIL_SEARCH_BYTES)
    match = _SIG_TAIL_RE.search(payload, start)
    if match is None:
        raise DownlinkSignatureError(SignatureReason.UNSIGNED, "no `sig` at the end")
    try:
        sig = msgspec.json.decode(match.group(1), type=DownlinkSignature)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise DownlinkSignatureError(SignatureReason.MALFORMED, str(exc)) from None
    return match.start(), sig


class DownlinkVerifier:
    """Checks downlink payloads against the keys a device trusts."""

    def __init__(self, keys: list[TrustedKey]) -> None:
        if not keys:
            raise ValueError("a downlink verifier needs at least one trusted key")
        self._keys: dict[str, tuple[PublicKey, KeyScope]] = {
            k.kid: (PublicKey.from_b64(k.public_key), k.scope) for k in keys
        }

    @classmethod
    def from_file(cls, path: Path) -> DownlinkVerifier:
        try:
            trust = msgspec.json.decode(path.read_bytes(), type=TrustFile)
        except OSError as exc:
            raise ProtocolError(f"cannot read downlink keys {path}: {exc}") from None
        except msgspec.DecodeError as exc:
            raise ProtocolError(f"{path}: not a downlink key file: {exc}") from None
        return cls(trust.keys)

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def verify(self, topic: str, payload: bytes) -> str:
        """The id of the key that signed ``payload`` for ``topic``; raise otherwise.

        A key of scope ``fire_release`` is accepted only on a ``cmd`` topic for
        a :class:`Command` whose action is ``fire_release``.
        """
        body_end, sig = _split(payload)
        entry = self._keys.get(sig.kid)
        if entry is None:
            raise DownlinkSignatureError(SignatureReason.UNKNOWN_KEY, f"key {sig.kid!r}")
        public_key, scope = entry
        bad = DownlinkSignatureError(
            SignatureReason.BAD_SIGNATURE, f"signature by {sig.kid!r} does not verify"
        )
        try:
            raw = base64.urlsafe_b64decode(sig.value + "==")
        except (binascii.Error, ValueError):
            raise bad from None
        # The signed body is the payload up to `sig` and its closing brace, handed
        # over in parts so that a 12 MB snapshot is not copied once more to build it.
        with memoryview(payload) as view:
            if not public_key.verifies(raw, CONTEXT, topic.encode(), b"\n", view[:body_end], b"}"):
                raise bad
        if scope is KeyScope.FIRE_RELEASE and not _is_fire_release(
            topic, payload[:body_end] + b"}"
        ):
            raise DownlinkSignatureError(
                SignatureReason.OUT_OF_SCOPE, f"key {sig.kid!r} may sign fire_release only"
            )
        return sig.kid


def _is_fire_release(topic: str, body: bytes) -> bool:
    try:
        if parse_topic(topic).family is not Family.COMMAND:
            return False
        return decode_as(Command, body).action is CommandAction.FIRE_RELEASE
    except (TopicError, InvalidMessageError):
        return False
