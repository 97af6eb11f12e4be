"""The pure decision: every grant and deny reason, for cards and QR tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.allowlist import AllowlistIndex
from edge.decision import CardCredential, Policy, QrCredential, decide, in_window
from edge.settings_from_config import curfew_rule
from protocol.cardhash import card_hash, card_ref
from protocol.keys import token_key
from protocol.messages import (
    AccessReason,
    AllowlistDelta,
    AllowlistSnapshot,
    Decision,
    Direction,
    PersonKind,
    TimeWindow,
)
from protocol.token_issuer import SigningKey, issue_token
from protocol.tokens import STEP_S
from siteconfig import load_site
from tests.edge.helpers import CARD_KEY, card_number, entry, person_id, snapshot

TZ = ZoneInfo("Asia/Shanghai")
SITE = Path(__file__).resolve().parents[2] / "firmware-config" / "site.yaml"
CURFEW = curfew_rule(load_site(SITE).building("b1").curfew)  # 23:30, Fri/Sat 00:30, ends 06:00
MONDAY_NOON = datetime(2026, 3, 2, 12, 0, tzinfo=TZ)


def policy(**overrides: object) -> Policy:
    fields: dict[str, object] = {"building": "b1", "tz": TZ, "curfew": CURFEW}
    fields.update(overrides)
    return Policy(**fields)  # type: ignore[arg-type]


def card(i: int) -> CardCredential:
    return CardCredential(card_hash(CARD_KEY, card_number(i)))


@pytest.fixture
def index(small_snapshot: AllowlistSnapshot) -> AllowlistIndex:
    return AllowlistIndex.from_snapshot(small_snapshot)


def test_monday_noon_is_a_monday() -> None:
    assert MONDAY_NOON.weekday() == 0


def test_known_card_is_granted_with_its_reference(index: AllowlistIndex) -> None:
    verdict = decide(card(3), index, policy(), MONDAY_NOON)
    assert verdict.decision is Decision.GRANTED
    assert verdict.reason is AccessReason.OK
    assert verdict.person == person_id(3)
    assert verdict.card_ref == card_ref(card(3).card_hash)


def test_unknown_card(index: AllowlistIndex) -> None:
    verdict = decide(card(999), index, policy(), MONDAY_NOON)
    assert (verdict.decision, verdict.reason) == (Decision.DENIED, AccessReason.UNKNOWN_CARD)
    assert verdict.person is None
    assert verdict.card_ref == card(999).card_hash[:16]


def test_empty_allowlist_refuses_everyone() -> None:
    verdict = decide(card(1), AllowlistIndex.empty("b1"), policy(), MONDAY_NOON)
    assert verdict.reason is AccessReason.UNKNOWN_CARD


def test_validity_window_revoked_and_not_yet(index: AllowlistIndex) -> None:
    ended = entry(1, valid_until=MONDAY_NOON - timedelta(seconds=1))
    later = entry(2, valid_from=MONDAY_NOON + timedelta(days=1))
    delta = AllowlistDelta(
        building="b1", from_version=1, version=2, issued_at=MONDAY_NOON, upserts=[ended, later]
    )
    updated = index.apply_delta(delta)
    assert decide(card(1), updated, policy(), MONDAY_NOON).reason is AccessReason.REVOKED
    assert decide(card(2), updated, policy(), MONDAY_NOON).reason is AccessReason.OUTSIDE_HOURS
    assert decide(card(3), updated, policy(), MONDAY_NOON).reason is AccessReason.OK


def test_lockdown_admits_only_staff(index: AllowlistIndex) -> None:
    assert decide(card(1), index, policy(lockdown=True), MONDAY_NOON).reason is (
        AccessReason.LOCKDOWN
    )
    staff = decide(card(0), index, policy(lockdown=True), MONDAY_NOON)
    assert staff.granted
    assert staff.person_kind is PersonKind.STAFF
    # An unknown card stays unknown in a lockdown.
    assert decide(card(999), index, policy(lockdown=True), MONDAY_NOON).reason is (
        AccessReason.UNKNOWN_CARD
    )


@pytest.mark.parametrize(
    ("local", "student_reason"),
    [
        (datetime(2026, 3, 2, 23, 29, tzinfo=TZ), AccessReason.OK),  # Monday before curfew
        (datetime(2026, 3, 2, 23, 31, tzinfo=TZ), AccessReason.OUTSIDE_HOURS),
        (datetime(2026, 3, 3, 5, 59, tzinfo=TZ), AccessReason.OUTSIDE_HOURS),  # Tue morning
        (datetime(2026, 3, 3, 6, 0, tzinfo=TZ), AccessReason.OK),
        (datetime(2026, 3, 6, 23, 45, tzinfo=TZ), AccessReason.OK),  # Friday: curfew at 00:30
        (datetime(2026, 3, 7, 0, 45, tzinfo=TZ), AccessReason.OUTSIDE_HOURS),
    ],
)
def test_curfew_in_campus_time(
    index: AllowlistIndex, local: datetime, student_reason: AccessReason
) -> None:
    now_utc = local.astimezone(UTC)  # the gate's clock is UTC; policy hours are local
    assert decide(card(1), index, policy(), now_utc).reason is student_reason
    assert decide(card(0), index, policy(), now_utc).reason is AccessReason.OK  # staff
    exit_policy = policy(direction=Direction.EXIT)
    assert decide(card(1), index, exit_policy, now_utc).reason is AccessReason.OK


def test_named_schedules(index: AllowlistIndex) -> None:
    schedules = {
        "weekdays": [TimeWindow(days=[0, 1, 2, 3, 4], start="08:00", end="20:00")],
        "night": [TimeWindow(days=[0], start="22:00", end="02:00")],
    }
    snap = snapshot(5, schedules=schedules)
    snap.entries[1] = entry(1, schedule="weekdays")
    snap.entries[2] = entry(2, schedule="night")
    snap.entries[3] = entry(3, schedule="missing")
    idx = AllowlistIndex.from_snapshot(snap)
    saturday = datetime(2026, 3, 7, 12, 0, tzinfo=TZ)
    assert decide(card(1), idx, policy(), MONDAY_NOON).reason is AccessReason.OK
    assert decide(card(1), idx, policy(), saturday).reason is AccessReason.OUTSIDE_HOURS
    # An overnight window: Monday 22:00 to Tuesday 02:00 (the schedule overrides curfew).
    assert decide(card(2), idx, policy(), datetime(2026, 3, 3, 1, 0, tzinfo=TZ)).granted
    assert not decide(card(2), idx, policy(), datetime(2026, 3, 3, 3, 0, tzinfo=TZ)).granted
    assert not decide(card(2), idx, policy(), MONDAY_NOON).granted
    # A schedule the list does not define fails closed.
    assert decide(card(3), idx, policy(), MONDAY_NOON).reason is AccessReason.OUTSIDE_HOURS


def test_whole_day_window() -> None:
    window = TimeWindow(days=[0], start="00:00", end="00:00")
    assert in_window(window, MONDAY_NOON)
    assert not in_window(window, MONDAY_NOON + timedelta(days=1))


def token(key: SigningKey, i: int, at: datetime, kind: PersonKind = PersonKind.STUDENT) -> str:
    return issue_token(key, person_id(i), kind, at, nonce=bytes([i % 256]) * 8)


def test_valid_token_is_granted_and_carries_its_nonce(
    index: AllowlistIndex, signing_key: SigningKey
) -> None:
    verdict = decide(QrCredential(token(signing_key, 4, MONDAY_NOON)), index, policy(), MONDAY_NOON)
    assert verdict.granted
    assert verdict.person == person_id(4)
    assert verdict.nonce == "04" * 8
    assert verdict.nonce_expires_at is not None
    assert verdict.nonce_expires_at > MONDAY_NOON


def test_token_refusals(index: AllowlistIndex, signing_key: SigningKey) -> None:
    def reason(text: str, now: datetime = MONDAY_NOON, seen: frozenset[str] = frozenset()) -> str:
        return decide(QrCredential(text), index, policy(), now, seen_nonces=seen).reason

    good = token(signing_key, 4, MONDAY_NOON)
    assert reason(good, MONDAY_NOON + timedelta(seconds=3 * STEP_S)) is AccessReason.TOKEN_EXPIRED
    assert reason(good, MONDAY_NOON - timedelta(seconds=3 * STEP_S)) is (
        AccessReason.TOKEN_NOT_YET_VALID
    )
    forged = token(SigningKey.generate("k1"), 4, MONDAY_NOON)
    assert reason(forged) is AccessReason.TOKEN_BAD_SIGNATURE
    assert reason(token(SigningKey.generate("k9"), 4, MONDAY_NOON)) is (
        AccessReason.TOKEN_UNKNOWN_KEY
    )
    assert reason("https://example.com/not-a-token") is AccessReason.TOKEN_MALFORMED
    assert reason(good, seen=frozenset({"04" * 8})) is AccessReason.TOKEN_REPLAYED
    # A valid campus token for someone not on this building's list.
    assert reason(token(signing_key, 500, MONDAY_NOON)) is AccessReason.WRONG_BUILDING


def test_token_policy_applies_after_verification(
    index: AllowlistIndex, signing_key: SigningKey
) -> None:
    late = datetime(2026, 3, 2, 23, 45, tzinfo=TZ)
    student = decide(QrCredential(token(signing_key, 4, late)), index, policy(), late)
    assert student.reason is AccessReason.OUTSIDE_HOURS
    lockdown = decide(
        QrCredential(token(signing_key, 4, MONDAY_NOON)), index, policy(lockdown=True), MONDAY_NOON
    )
    assert lockdown.reason is AccessReason.LOCKDOWN
    # The allowlist says who is staff, not the token's own kind byte.
    claims_staff = token(signing_key, 4, MONDAY_NOON, PersonKind.STAFF)
    assert not decide(QrCredential(claims_staff), index, policy(lockdown=True), MONDAY_NOON).granted


def test_rotated_keys_arrive_with_a_delta(index: AllowlistIndex) -> None:
    new_key = SigningKey.generate("k2")
    text = token(new_key, 4, MONDAY_NOON)
    assert decide(QrCredential(text), index, policy(), MONDAY_NOON).reason is (
        AccessReason.TOKEN_UNKNOWN_KEY
    )
    rotated = index.apply_delta(
        AllowlistDelta(
            building="b1",
            from_version=1,
            version=2,
            issued_at=MONDAY_NOON,
            keys=[*index.keys, token_key("k2", new_key.public_key)],
        )
    )
    assert decide(QrCredential(text), rotated, policy(), MONDAY_NOON).granted
