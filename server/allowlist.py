"""Per-building allowlists for the gates: versioned snapshots, deltas between them.

Built from people, their grants (``building_access``), their active cards
(keyed hashes only) and the building's curfew. Each change makes a new
version: the delta from the previous one is published on
``dorm/v1/{b}/allowlist/delta`` (QoS 1) and the whole snapshot, retained, on
``.../allowlist/snapshot``, so a gate that was offline gets the full list on
reconnect and a connected gate applies the delta within seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from protocol.messages import (
    AllowlistDelta,
    AllowlistEntry,
    AllowlistSnapshot,
    PersonKind,
    TimeWindow,
    TokenKey,
    encode,
)
from protocol.signing import DownlinkSigner
from protocol.topics import Family, building_topic
from server.db import AllowlistVersion, BuildingAccess, Credential, Curfew, Person

logger = logging.getLogger(__name__)

#: Schedule of students: the building's hours outside the curfew.
STUDENT_SCHEDULE: Final = "students"
MAX_CARDS: Final = 8


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> object: ...


@dataclass(frozen=True)
class Published:
    """A new allowlist version (``delta`` is None for a building's first version)."""

    snapshot: AllowlistSnapshot
    delta: AllowlistDelta | None


def _active(valid_from: datetime | None, valid_until: datetime | None, now: datetime) -> bool:
    return (valid_from is None or valid_from <= now) and (valid_until is None or now < valid_until)


def student_schedule(session: Session, building: str) -> list[TimeWindow]:
    """One window per night: open from the curfew's end to its start (may pass midnight)."""
    curfews = session.scalars(
        select(Curfew).where(Curfew.building_id == building).order_by(Curfew.weekday)
    ).all()
    return [TimeWindow(days=[c.weekday], start=c.ends, end=c.starts) for c in curfews]


def build_entries(session: Session, building: str, now: datetime) -> list[AllowlistEntry]:
    """Everyone who may enter ``building`` now or later, with their active card hashes."""
    grants = session.execute(
        select(BuildingAccess, Person)
        .join(Person, Person.id == BuildingAccess.person_id)
        .where(
            BuildingAccess.building_id == building,
            Person.status == "active",
            or_(BuildingAccess.valid_until.is_(None), BuildingAccess.valid_until > now),
        )
        .order_by(Person.id)
    ).all()
    people = [person.id for _, person in grants]
    cards: dict[str, list[str]] = {}
    for credential in session.scalars(
        select(Credential)
        .where(
            Credential.person_id.in_(people),
            Credential.kind == "card",
            Credential.status == "active",
            Credential.card_hash.is_not(None),
        )
        .order_by(Credential.card_hash)
    ):
        if credential.card_hash and _active(None, credential.valid_until, now):
            cards.setdefault(credential.person_id, []).append(credential.card_hash)
    entries = []
    for grant, person in grants:
        kind = PersonKind(person.kind)
        entries.append(
            AllowlistEntry(
                person=person.id,
                kind=kind,
                card_hashes=cards.get(person.id, [])[:MAX_CARDS],
                valid_from=grant.valid_from,
                valid_until=grant.valid_until,
                schedule=STUDENT_SCHEDULE if kind is PersonKind.STUDENT else None,
            )
        )
    return entries


def latest_version(session: Session, building: str) -> AllowlistVersion | None:
    return session.scalars(
        select(AllowlistVersion)
        .where(AllowlistVersion.building_id == building)
        .order_by(AllowlistVersion.version.desc())
        .limit(1)
    ).first()


def diff(
    previous: AllowlistSnapshot, current: AllowlistSnapshot
) -> tuple[list[AllowlistEntry], list[str]]:
    """Entries added or changed, and person ids removed, from ``previous`` to ``current``."""
    before = {entry.person: entry for entry in previous.entries}
    after = {entry.person: entry for entry in current.entries}
    upserts = [entry for person, entry in after.items() if before.get(person) != entry]
    removals = sorted(set(before) - set(after))
    return upserts, removals


def refresh(
    session: Session,
    building: str,
    keys: Sequence[TokenKey],
    now: datetime,
    *,
    note: str | None = None,
) -> Published | None:
    """Record a new version if the allowlist changed; None if nothing changed.

    The caller commits, then :func:`publish` sends what was recorded.
    """
    snapshot_schedules = {STUDENT_SCHEDULE: student_schedule(session, building)}
    entries = build_entries(session, building, now)
    previous_row = latest_version(session, building)
    version = 1 if previous_row is None else previous_row.version + 1
    snapshot = AllowlistSnapshot(
        building=building,
        version=version,
        issued_at=now,
        entries=entries,
        schedules={k: v for k, v in snapshot_schedules.items() if v},
        keys=list(keys),
    )
    delta: AllowlistDelta | None = None
    if previous_row is not None:
        previous = msgspec.json.decode(previous_row.snapshot, type=AllowlistSnapshot)
        upserts, removals = diff(previous, snapshot)
        keys_changed = previous.keys != snapshot.keys
        if (
            not upserts
            and not removals
            and not keys_changed
            and (previous.schedules == snapshot.schedules)
        ):
            return None
        delta = AllowlistDelta(
            building=building,
            from_version=previous_row.version,
            version=version,
            issued_at=now,
            upserts=upserts,
            removals=removals,
            keys=list(keys) if keys_changed else None,
        )
    session.add(
        AllowlistVersion(
            building_id=building,
            version=version,
            issued_at=now,
            snapshot=encode(snapshot),
            delta=None if delta is None else encode(delta),
            note=note,
        )
    )
    session.flush()
    return Published(snapshot=snapshot, delta=delta)


def publish(
    publisher: Publisher, published: Published, signer: DownlinkSigner | None = None
) -> None:
    """Send the delta (QoS 1), then the snapshot (QoS 1, retained), signed when ``signer``."""
    building = published.snapshot.building
    if published.delta is not None:
        topic = building_topic(building, Family.ALLOWLIST_DELTA)
        publisher.publish(topic, _signed(signer, topic, encode(published.delta)))
    topic = building_topic(building, Family.ALLOWLIST_SNAPSHOT)
    publisher.publish(topic, _signed(signer, topic, encode(published.snapshot)), retain=True)
    logger.info(
        "published allowlist %s v%d (%d entries)",
        building,
        published.snapshot.version,
        len(published.snapshot.entries),
    )


def _signed(signer: DownlinkSigner | None, topic: str, body: bytes) -> bytes:
    return body if signer is None else signer.sign(topic, body)
