"""May this credential open this door now? A pure function of its inputs.

``decide(credential, allowlist, policy, now, seen_nonces=...)`` reads nothing
else: no clock, no network, no disk. The gate agent passes the cached
allowlist, the building policy (time zone, curfew, lockdown) and the time; it
records a QR token's nonce afterwards (see :mod:`edge.nonces`).

Checks, in order (the first that fails is the reason):

card   unknown_card → outside_hours (before ``valid_from``) / revoked (after
       ``valid_until``) → lockdown (only staff) → outside_hours (schedule/curfew)
QR     token_malformed / token_unknown_key / token_bad_signature /
       token_expired / token_not_yet_valid (in ``verify_token``'s order) →
       token_replayed → wrong_building (a valid campus token for someone not
       on this building's list) → then as for a card.

A card not on the list is ``unknown_card``: the gate holds only its own
building's list, so it cannot tell another building's card from a stranger's.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from edge.allowlist import AllowlistIndex, Person
from edge.settings import CurfewRule
from protocol.cardhash import card_ref
from protocol.messages import (
    AccessReason,
    CredentialKind,
    Decision,
    Direction,
    PersonKind,
    TimeWindow,
)
from protocol.tokens import TokenError, TokenReason, verify_token

_TOKEN_REASONS = {
    TokenReason.MALFORMED: AccessReason.TOKEN_MALFORMED,
    TokenReason.UNKNOWN_KEY: AccessReason.TOKEN_UNKNOWN_KEY,
    TokenReason.BAD_SIGNATURE: AccessReason.TOKEN_BAD_SIGNATURE,
    TokenReason.EXPIRED: AccessReason.TOKEN_EXPIRED,
    TokenReason.NOT_YET_VALID: AccessReason.TOKEN_NOT_YET_VALID,
}


@dataclass(frozen=True, slots=True)
class CardCredential:
    """A card, already hashed: the clear number never gets this far."""

    card_hash: str

    @property
    def kind(self) -> CredentialKind:
        return CredentialKind.CARD


@dataclass(frozen=True, slots=True)
class QrCredential:
    """The text of a QR code read by the camera (expected: a ``DQ1.`` token)."""

    text: str

    @property
    def kind(self) -> CredentialKind:
        return CredentialKind.QR


Credential = CardCredential | QrCredential


@dataclass(frozen=True, slots=True)
class Policy:
    """The building's rules at this moment.

    ``curfew``: the building's default hours for people whose entry names no
    schedule: students and visitors are refused during the curfew, staff are
    not (counselors are on 24-hour duty). ``hours_on_exit``: whether hours
    apply to an exit reader too (by default leaving is never refused for the
    time of day). ``lockdown``: only staff are admitted.
    """

    building: str
    tz: ZoneInfo
    direction: Direction = Direction.ENTRY
    curfew: CurfewRule | None = None
    lockdown: bool = False
    hours_on_exit: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    reason: AccessReason
    credential: CredentialKind
    person: str | None = None
    person_kind: PersonKind | None = None
    card_ref: str | None = None
    nonce: str | None = None
    # Until when the nonce must be remembered (the token's own expiry).
    nonce_expires_at: datetime | None = None

    @property
    def granted(self) -> bool:
        return self.decision is Decision.GRANTED


def decide(
    credential: Credential,
    allowlist: AllowlistIndex,
    policy: Policy,
    now: datetime,
    *,
    seen_nonces: Container[str] = frozenset(),
) -> Verdict:
    """Grant or deny, with the reason. ``now`` must be time-zone aware."""
    if isinstance(credential, CardCredential):
        ref = card_ref(credential.card_hash)
        entry = allowlist.card(credential.card_hash)
        if entry is None:
            return _deny(AccessReason.UNKNOWN_CARD, CredentialKind.CARD, card_ref=ref)
        return _judge(entry, allowlist, policy, now, CredentialKind.CARD, card_ref=ref)
    try:
        claims = verify_token(credential.text, allowlist.keyring, now)
    except TokenError as exc:
        return _deny(_TOKEN_REASONS[exc.reason], CredentialKind.QR)
    nonce, expires = claims.nonce, claims.expires_at
    if nonce in seen_nonces:
        return _deny(
            AccessReason.TOKEN_REPLAYED, CredentialKind.QR, person=claims.subject, nonce=nonce
        )
    entry = allowlist.by_person.get(claims.subject)
    if entry is None:
        return _deny(
            AccessReason.WRONG_BUILDING,
            CredentialKind.QR,
            person=claims.subject,
            nonce=nonce,
            nonce_expires_at=expires,
        )
    return _judge(entry, allowlist, policy, now, CredentialKind.QR, nonce=nonce, expires=expires)


def _deny(
    reason: AccessReason,
    credential: CredentialKind,
    *,
    person: str | None = None,
    kind: PersonKind | None = None,
    card_ref: str | None = None,
    nonce: str | None = None,
    nonce_expires_at: datetime | None = None,
) -> Verdict:
    return Verdict(
        Decision.DENIED, reason, credential, person, kind, card_ref, nonce, nonce_expires_at
    )


def _judge(
    entry: Person,
    allowlist: AllowlistIndex,
    policy: Policy,
    now: datetime,
    credential: CredentialKind,
    *,
    card_ref: str | None = None,
    nonce: str | None = None,
    expires: datetime | None = None,
) -> Verdict:
    reason = _entry_reason(entry, allowlist, policy, now)
    return Verdict(
        Decision.GRANTED if reason is AccessReason.OK else Decision.DENIED,
        reason,
        credential,
        entry.person,
        entry.kind,
        card_ref,
        nonce,
        expires,
    )


def _entry_reason(
    entry: Person, allowlist: AllowlistIndex, policy: Policy, now: datetime
) -> AccessReason:
    if entry.valid_from is not None and now < entry.valid_from:
        return AccessReason.OUTSIDE_HOURS
    if entry.valid_until is not None and now >= entry.valid_until:
        return AccessReason.REVOKED
    if policy.lockdown and entry.kind is not PersonKind.STAFF:
        return AccessReason.LOCKDOWN
    if policy.direction is Direction.EXIT and not policy.hours_on_exit:
        return AccessReason.OK
    local = now.astimezone(policy.tz)
    if entry.schedule is not None:
        windows = allowlist.schedules.get(entry.schedule)
        # A schedule the list does not define fails closed.
        if windows is None or not any(in_window(w, local) for w in windows):
            return AccessReason.OUTSIDE_HOURS
        return AccessReason.OK
    if (
        entry.kind is not PersonKind.STAFF
        and policy.curfew is not None
        and in_curfew(policy.curfew, local)
    ):
        return AccessReason.OUTSIDE_HOURS
    return AccessReason.OK


def _hm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def in_window(window: TimeWindow, local: datetime) -> bool:
    """Whether ``local`` lies in ``window`` (an end at or before its start passes midnight)."""
    start, end, now_t = _hm(window.start), _hm(window.end), local.time()
    weekday = local.weekday()
    if start < end:
        return weekday in window.days and start <= now_t < end
    if start == end:  # the whole day
        return weekday in window.days
    yesterday = (weekday - 1) % 7
    return (weekday in window.days and now_t >= start) or (yesterday in window.days and now_t < end)


def in_curfew(curfew: CurfewRule, local: datetime) -> bool:
    """Whether ``local`` lies in the curfew of last night or of tonight."""
    tz = local.tzinfo
    assert tz is not None
    today = local.date()
    for night in (today - timedelta(days=1), today):
        start, end = curfew.window(night, tz)
        if start <= local < end:
            return True
    return False
