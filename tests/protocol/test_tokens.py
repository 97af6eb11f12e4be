"""Dynamic QR tokens: valid ones verify, every kind of bad one is refused for the right reason."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.keys import (
    KeyStoreError,
    load_public_keys,
    load_signing_key,
    token_key,
    write_signing_key,
)
from protocol.messages import PersonKind
from protocol.token_issuer import SigningKey, issue_token
from protocol.tokens import (
    PREFIX,
    STEP_S,
    TokenError,
    TokenReason,
    keyring_from_allowlist,
    peek_key_id,
    verify_token,
)

NOW = datetime(2026, 9, 1, 7, 45, 10, tzinfo=UTC)  # 10 s into a 30 s step


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate("k1")


def refused(token: str, keys: dict[str, object], at: datetime) -> TokenReason:
    with pytest.raises(TokenError) as caught:
        verify_token(token, keys, at)  # type: ignore[arg-type]
    return caught.value.reason


def test_valid_token_verifies_with_public_key_only(key: SigningKey) -> None:
    token = issue_token(key, "p-7f3a9c", PersonKind.STUDENT, NOW)
    claims = verify_token(token, {"k1": key.public_key}, NOW)
    assert claims.subject == "p-7f3a9c"
    assert claims.kind is PersonKind.STUDENT
    assert claims.kid == "k1"
    assert len(claims.nonce) == 16
    assert claims.issued_at <= NOW < claims.expires_at


def test_token_is_compact_enough_for_a_small_qr(key: SigningKey) -> None:
    typical = issue_token(key, "p-7f3a9c", PersonKind.STUDENT, NOW)
    assert len(typical) <= 160
    assert segno.make_qr(typical, error="m").version == 8  # what docs/protocol.md says
    # The server's pseudonymous ids are at most 24 characters (docs/protocol.md).
    long_id = issue_token(SigningKey.generate("k-rot-9"), "s" * 24, PersonKind.STAFF, NOW)
    assert len(long_id) <= 160
    # Even the longest ids the contract allows stay within a version-9 QR code.
    longest = issue_token(SigningKey.generate("k-rot-99"), "s" * 32, PersonKind.STAFF, NOW)
    assert len(longest) <= 170
    assert segno.make_qr(longest, error="m").version in range(1, 10)


def test_each_token_has_a_fresh_nonce(key: SigningKey) -> None:
    keys = {"k1": key.public_key}
    nonces = {
        verify_token(issue_token(key, "p-1", PersonKind.STUDENT, NOW), keys, NOW).nonce
        for _ in range(50)
    }
    assert len(nonces) == 50


@pytest.mark.parametrize(
    ("offset_s", "expected"),
    [
        (-STEP_S - 5, None),  # previous step: one step of skew accepted
        (STEP_S + 5, None),  # next step: accepted
        (2 * STEP_S - 11, None),  # still within the next step
        (2 * STEP_S, TokenReason.EXPIRED),
        (3600, TokenReason.EXPIRED),
        (-2 * STEP_S, TokenReason.NOT_YET_VALID),
        (-3600, TokenReason.NOT_YET_VALID),
    ],
)
def test_validity_window_and_clock_skew(
    key: SigningKey, offset_s: int, expected: TokenReason | None
) -> None:
    token = issue_token(key, "p-7f3a9c", PersonKind.STUDENT, NOW)
    at = NOW + timedelta(seconds=offset_s)
    if expected is None:
        assert verify_token(token, {"k1": key.public_key}, at).subject == "p-7f3a9c"
    else:
        assert refused(token, {"k1": key.public_key}, at) is expected


def test_tampered_token_has_bad_signature(key: SigningKey) -> None:
    token = issue_token(key, "p-7f3a9c", PersonKind.STUDENT, NOW)
    raw = bytearray(base64.urlsafe_b64decode(token[len(PREFIX) :] + "=="))
    raw[raw.index(b"p-7f3a9c") + 2] ^= 0x01  # p-7f... -> p-6f...: another person
    forged = PREFIX + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert refused(forged, {"k1": key.public_key}, NOW) is TokenReason.BAD_SIGNATURE


def test_flipping_any_signature_byte_is_refused(key: SigningKey) -> None:
    token = issue_token(key, "p-7f3a9c", PersonKind.STUDENT, NOW)
    raw = base64.urlsafe_b64decode(token[len(PREFIX) :] + "==")
    for index in range(len(raw) - 64, len(raw), 7):
        changed = bytearray(raw)
        changed[index] ^= 0x80
        forged = PREFIX + base64.urlsafe_b64encode(bytes(changed)).rstrip(b"=").decode()
        assert refused(forged, {"k1": key.public_key}, NOW) is TokenReason.BAD_SIGNATURE


def test_wrong_key_with_same_id_has_bad_signature(key: SigningKey) -> None:
    impostor = SigningKey.generate("k1")
    token = issue_token(impostor, "p-7f3a9c", PersonKind.STUDENT, NOW)
    assert refused(token, {"k1": key.public_key}, NOW) is TokenReason.BAD_SIGNATURE


def test_unknown_key_id(key: SigningKey) -> None:
    token = issue_token(SigningKey.generate("k2"), "p-7f3a9c", PersonKind.STUDENT, NOW)
    assert peek_key_id(token) == "k2"
    assert refused(token, {"k1": key.public_key}, NOW) is TokenReason.UNKNOWN_KEY


@pytest.mark.parametrize("cut", [1, 5, 30, 64, 80, 100])
def test_truncated_token_is_malformed_or_bad_signature(key: SigningKey, cut: int) -> None:
    token = issue_token(key, "p-7f3a9c", PersonKind.STUDENT, NOW)
    reason = refused(token[:-cut], {"k1": key.public_key}, NOW)
    assert reason in {TokenReason.MALFORMED, TokenReason.BAD_SIGNATURE}


@pytest.mark.parametrize(
    "text",
    ["", "DQ1.", "DQ1.!!!!", "DQ2." + "A" * 120, "hello", "DQ1." + "A" * 120, "DQ1.AQ"],
)
def test_garbage_is_malformed(key: SigningKey, text: str) -> None:
    assert refused(text, {"k1": key.public_key}, NOW) is TokenReason.MALFORMED


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200) | st.text(max_size=200).map(lambda t: PREFIX + t))
def test_arbitrary_text_never_raises_anything_else(text: str) -> None:
    key = SigningKey.generate("k1")
    with pytest.raises(TokenError):
        verify_token(text, {"k1": key.public_key}, NOW)


def test_rotation_keeps_old_tokens_valid(tmp_path: Path) -> None:
    write_signing_key(tmp_path, SigningKey.generate("k1"))
    old = issue_token(load_signing_key(tmp_path), "p-1", PersonKind.STUDENT, NOW)
    write_signing_key(tmp_path, SigningKey.generate("k2"))
    new_key = load_signing_key(tmp_path)
    assert new_key.kid == "k2"
    new = issue_token(new_key, "p-1", PersonKind.STUDENT, NOW)
    # Gates get the keys through the allowlist: round-trip through that form.
    ring = keyring_from_allowlist([token_key(k, v) for k, v in load_public_keys(tmp_path).items()])
    assert verify_token(old, ring, NOW).kid == "k1"
    assert verify_token(new, ring, NOW).kid == "k2"


def test_key_store_refuses_overwrite_and_protects_private_key(tmp_path: Path) -> None:
    write_signing_key(tmp_path, SigningKey.generate("k1"))
    assert (tmp_path / "k1.key").stat().st_mode & 0o777 == 0o600
    with pytest.raises(KeyStoreError):
        write_signing_key(tmp_path, SigningKey.generate("k1"))
    with pytest.raises(KeyStoreError):
        load_signing_key(tmp_path, "k7")


@pytest.mark.parametrize("kid", ["", "K1", "toolongkid", "k/1"])
def test_bad_key_ids_are_refused(kid: str) -> None:
    with pytest.raises(ValueError, match="key id"):
        SigningKey.generate(kid)
