"""protocol.ed25519 (libsodium; devices verify) against cryptography (the server signs).

Both implement RFC 8032: a signature made by one must verify with the other,
and a tampered message, a tampered signature or another key must fail in both.
"""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime

import nacl.signing
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.downlink import DownlinkSignatureError, DownlinkVerifier, KeyScope, SignatureReason
from protocol.ed25519 import InvalidPublicKeyError, PublicKey
from protocol.messages import PersonKind, TokenKey
from protocol.signing import DownlinkSigner
from protocol.token_issuer import SigningKey, issue_token
from protocol.tokens import (
    PREFIX,
    TokenError,
    TokenReason,
    keyring_from_allowlist,
    token_body,
    token_text,
    verify_token,
)
from protocol.topics import Family, building_topic

NOW = datetime(2026, 9, 1, 7, 45, 10, tzinfo=UTC)

# RFC 8032, section 7.1: (secret key, public key, message, signature), hex.
RFC8032_VECTORS = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


def cryptography_public(private: Ed25519PrivateKey) -> PublicKey:
    return PublicKey(private.public_key().public_bytes_raw())


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032_VECTORS)
def test_rfc8032_vectors_verify_and_both_libraries_sign_them_alike(
    secret: str, public: str, message: str, signature: str
) -> None:
    key = PublicKey(bytes.fromhex(public))
    assert key.verifies(bytes.fromhex(signature), bytes.fromhex(message))
    # Ed25519 is deterministic: both libraries make the RFC's signature from its seed.
    ours = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret))
    assert ours.sign(bytes.fromhex(message)).hex() == signature
    theirs = nacl.signing.SigningKey(bytes.fromhex(secret))
    assert theirs.sign(bytes.fromhex(message)).signature.hex() == signature
    assert bytes(theirs.verify_key).hex() == public == cryptography_public(ours).raw.hex()


@settings(max_examples=60, deadline=None)
@given(message=st.binary(max_size=300), flip=st.integers(min_value=0))
def test_cryptography_signatures_verify_with_libsodium_and_tampering_fails(
    message: bytes, flip: int
) -> None:
    private = Ed25519PrivateKey.generate()
    key = cryptography_public(private)
    signature = private.sign(message)
    assert key.verifies(signature, message)
    changed = bytearray(signature)
    changed[flip % len(changed)] ^= 1 << (flip % 8)
    assert not key.verifies(bytes(changed), message)
    if message:
        altered = bytearray(message)
        altered[flip % len(altered)] ^= 1 << (flip % 8)
        assert not key.verifies(signature, bytes(altered))
    assert not key.verifies(signature, message + b"\x00")
    other = cryptography_public(Ed25519PrivateKey.generate())
    assert not other.verifies(signature, message)


@settings(max_examples=60, deadline=None)
@given(message=st.binary(max_size=300), flip=st.integers(min_value=0))
def test_libsodium_signatures_verify_with_cryptography_and_tampering_fails(
    message: bytes, flip: int
) -> None:
    signer = nacl.signing.SigningKey.generate()
    signature = signer.sign(message).signature
    public = Ed25519PublicKey.from_public_bytes(bytes(signer.verify_key))
    public.verify(signature, message)
    changed = bytearray(signature)
    changed[flip % len(changed)] ^= 1 << (flip % 8)
    with pytest.raises(InvalidSignature):
        public.verify(bytes(changed), message)
    with pytest.raises(InvalidSignature):
        public.verify(signature, message + b"\x00")
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(InvalidSignature):
        other.verify(signature, message)
    # and our own wrapper agrees with both
    assert PublicKey(bytes(signer.verify_key)).verifies(signature, message)


def test_a_message_given_in_parts_is_their_concatenation() -> None:
    private = Ed25519PrivateKey.generate()
    key = cryptography_public(private)
    signature = private.sign(b"dorm-downlink-v1\ntopic\n{}")
    assert key.verifies(signature, b"dorm-downlink-v1\n", b"topic", b"\n", memoryview(b"{}"))
    assert not key.verifies(signature, b"dorm-downlink-v1\n", b"topic", b"\n", b"{ }")


@pytest.mark.parametrize("length", [0, 32, 63, 65, 128])
def test_a_signature_of_the_wrong_length_does_not_verify(length: int) -> None:
    private = Ed25519PrivateKey.generate()
    signature = private.sign(b"m")
    padded = (signature * 2)[:length]
    assert not cryptography_public(private).verifies(padded, b"m")


def test_a_small_order_key_verifies_nothing() -> None:
    """The identity point as a key with the trivial signature (R = identity, S = 0).

    A permissive verifier accepts it for every message ([0]B = R + [k]A holds);
    libsodium refuses keys of small order, so a key of that kind slipped into an
    allowlist opens no door.
    """
    identity = bytes([1]) + bytes(31)
    key = PublicKey(identity)
    trivial = identity + bytes(32)
    for message in (b"", b"DQ1 token body", os.urandom(64)):
        assert not key.verifies(trivial, message)


@pytest.mark.parametrize(
    "text", ["", "AAAA", "A" * 42, "A" * 44, "!" * 43, base64.b64encode(bytes(33)).decode()]
)
def test_what_is_not_a_public_key_is_refused(text: str) -> None:
    with pytest.raises(InvalidPublicKeyError):
        PublicKey.from_b64(text)


def test_public_key_round_trips_through_base64url() -> None:
    key = cryptography_public(Ed25519PrivateKey.generate())
    assert len(key.b64) == 43
    assert PublicKey.from_b64(key.b64) == key
    assert hash(PublicKey.from_b64(key.b64)) == hash(key)


def test_a_token_signed_by_libsodium_verifies_like_one_issued_by_the_server() -> None:
    """Tokens: cryptography issues (server), libsodium verifies (gate); both directions."""
    server = SigningKey.generate("k1")
    ring = {"k1": server.public_key}
    issued = issue_token(server, "p-7f3a9c", PersonKind.STUDENT, NOW)
    assert verify_token(issued, ring, NOW).subject == "p-7f3a9c"
    # The same key used through libsodium makes the same token (deterministic signatures).
    seed = server.private_key.private_bytes_raw()
    body = base64.urlsafe_b64decode(issued[len(PREFIX) :] + "==")[:-64]
    by_sodium = token_text(body, nacl.signing.SigningKey(seed).sign(body).signature)
    assert by_sodium == issued
    # A token made from scratch by libsodium verifies too, and with a key from the allowlist form.
    sodium_key = nacl.signing.SigningKey.generate()
    fresh = token_body("k2", "p-000042", PersonKind.STAFF, 59_000_000, bytes(8))
    token = token_text(fresh, sodium_key.sign(fresh).signature)
    b64 = base64.urlsafe_b64encode(bytes(sodium_key.verify_key)).rstrip(b"=").decode()
    keyring = keyring_from_allowlist([TokenKey(kid="k2", public_key=b64)])
    at = datetime.fromtimestamp(59_000_000 * 30 + 5, tz=UTC)
    assert verify_token(token, keyring, at).kind is PersonKind.STAFF
    # Another key under the same id: refused for its signature.
    impostor = nacl.signing.SigningKey.generate()
    forged = token_text(fresh, impostor.sign(fresh).signature)
    with pytest.raises(TokenError) as caught:
        verify_token(forged, keyring, at)
    assert caught.value.reason is TokenReason.BAD_SIGNATURE


def test_a_downlink_message_signed_by_libsodium_verifies_and_tampering_fails() -> None:
    topic = building_topic("b1", Family.ALLOWLIST_SNAPSHOT)
    server = DownlinkSigner.generate("server")
    verifier = DownlinkVerifier([server.trusted(KeyScope.ALL)])
    body = b'{"building":"b1","version":7,"issued_at":"2026-09-01T07:45:10Z","entries":[]}'
    # cryptography signs (the server's DownlinkSigner), libsodium verifies.
    signed = server.sign(topic, body)
    assert verifier.verify(topic, signed) == "server"
    # libsodium signs with the same private key: the very same bytes.
    seed = server.private_key.private_bytes_raw()
    raw = nacl.signing.SigningKey(seed).sign(b"dorm-downlink-v1\n" + topic.encode() + b"\n" + body)
    value = base64.urlsafe_b64encode(raw.signature).rstrip(b"=").decode()
    by_sodium = body[:-1] + b',"sig":{"kid":"server","value":"' + value.encode() + b'"}}'
    assert by_sodium == signed
    tampered = signed.replace(b'"version":7', b'"version":8')
    with pytest.raises(DownlinkSignatureError) as caught:
        verifier.verify(topic, tampered)
    assert caught.value.reason is SignatureReason.BAD_SIGNATURE
    stranger = DownlinkSigner("server", Ed25519PrivateKey.generate())
    with pytest.raises(DownlinkSignatureError) as caught:
        verifier.verify(topic, stranger.sign(topic, body))
    assert caught.value.reason is SignatureReason.BAD_SIGNATURE
