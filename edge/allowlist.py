"""The gate's cached allowlist: an in-memory index and its atomic on-disk copy.

An :class:`AllowlistIndex` is immutable once built: card hash → entry and
person → entry (packed in a :class:`~edge.allowlist_table.PersonTable`, with
the people changed by deltas in a small overlay), the building's schedules and
the token keyring. Applying a snapshot or a delta builds a new index and swaps
one reference, so a decision running on another thread sees either the old
list or the new one, never half of each.

The on-disk cache is the msgspec-encoded :class:`AllowlistSnapshot` of the
current index, written to a temporary file, fsynced and moved over the old one
with ``os.replace`` (and the directory fsynced), so a power cut leaves either
the old or the new file. The gate loads it at start and never needs the network
to decide.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Final

import msgspec
from msgspec import Meta

from edge.allowlist_table import CARD_BYTES, Person, PersonTable
from edge.errors import AllowlistError, SnapshotNeededError, StateError
from edge.heap import release_freed_memory
from protocol.codec import SIZE_LIMITS
from protocol.ed25519 import PublicKey
from protocol.messages import (
    EARLIEST_TS,
    LATEST_TS,
    AllowlistDelta,
    AllowlistEntry,
    AllowlistSnapshot,
    DownlinkSignature,
    Id,
    Timestamp,
    TimeWindow,
    TokenKey,
    encode,
)
from protocol.tokens import keyring_from_allowlist
from protocol.topics import Family

__all__ = [
    "CACHE_FILE",
    "COMPACT_AFTER",
    "AllowlistIndex",
    "AllowlistStore",
    "Person",
    "card_key",
    "index_from_json",
    "release_freed_memory",
    "write_atomically",
    "write_index",
]

log = logging.getLogger(__name__)

CACHE_FILE: Final = "allowlist.json"
_SNAPSHOT_MAX_BYTES: Final = SIZE_LIMITS[Family.ALLOWLIST_SNAPSHOT]


def card_key(card_hash: str) -> bytes | None:
    """The index key of a card hash (64 hex digits); None if it is not one."""
    try:
        key = bytes.fromhex(card_hash)
    except ValueError:
        return None
    return key if len(key) == CARD_BYTES else None


#: Rebuild the packed table once the deltas' overlay holds this many people.
COMPACT_AFTER: Final = 2_000


@dataclass(frozen=True, slots=True)
class AllowlistIndex:
    """One version of a building's allowlist, indexed for lookups. Never mutated.

    The people live in a packed :class:`PersonTable` (built from a snapshot);
    the people changed by deltas since then live in a small overlay
    (``changed``: person -> their new entry, or None if removed; ``changed_cards``:
    card -> holder, or None if the card is no longer anyone's). A lookup tries
    the overlay first. Once the overlay holds :data:`COMPACT_AFTER` people, a
    delta packs everything into a new table.
    """

    building: str
    version: int  # 0: nothing received yet (every credential is refused)
    issued_at: datetime | None
    table: PersonTable
    changed: Mapping[str, Person | None]
    changed_cards: Mapping[bytes, Person | None]
    people: int
    schedules: Mapping[str, list[TimeWindow]]
    keys: tuple[TokenKey, ...]
    keyring: dict[str, PublicKey] = field(repr=False)

    @classmethod
    def empty(cls, building: str) -> AllowlistIndex:
        return cls(building, 0, None, PersonTable.empty(), {}, {}, 0, {}, (), {})

    @classmethod
    def from_snapshot(cls, snapshot: AllowlistSnapshot) -> AllowlistIndex:
        table = PersonTable.build(Person.of(entry) for entry in snapshot.entries)
        return cls(
            building=snapshot.building,
            version=snapshot.version,
            issued_at=snapshot.issued_at,
            table=table,
            changed={},
            changed_cards={},
            people=len(table),
            schedules=dict(snapshot.schedules),
            keys=tuple(snapshot.keys),
            keyring=keyring_from_allowlist(list(snapshot.keys)),
        )

    @property
    def by_person(self) -> Mapping[str, Person]:
        """Person id -> entry (a read-only view)."""
        return _People(self)

    @property
    def by_card(self) -> Mapping[bytes, Person]:
        """Raw 32-byte card hash -> holder (a read-only view); look up with :meth:`card`."""
        return _Cards(self)

    def card(self, card_hash: str) -> Person | None:
        """Who holds the card with this hash (64 hex digits), if anyone."""
        key = card_key(card_hash)
        return None if key is None else self.card_holder(key)

    def card_holder(self, key: bytes) -> Person | None:
        """Who holds the card with this raw 32-byte hash, if anyone."""
        if key in self.changed_cards:
            return self.changed_cards[key]
        slot = self.table.find_card(key)
        return None if slot is None else self.table.person(slot)

    def person(self, person: str) -> Person | None:
        """The entry of ``person``, if listed."""
        if person in self.changed:
            return self.changed[person]
        slot = self.table.find_person(person)
        return None if slot is None else self.table.person(slot)

    def people_in_order(self) -> Iterator[Person]:
        """Everyone listed: the table's people not changed since, then the changed ones."""
        table, changed = self.table, self.changed
        for slot in range(len(table)):
            if table.person_id(slot) not in changed:
                yield table.person(slot)
        for person in changed.values():
            if person is not None:
                yield person

    def apply_delta(self, delta: AllowlistDelta) -> AllowlistIndex:
        """The next version; raise :class:`SnapshotNeededError` if the delta does not fit."""
        if delta.building != self.building:
            raise AllowlistError(f"delta for building {delta.building!r}, not {self.building!r}")
        if delta.from_version != self.version:
            raise SnapshotNeededError(
                f"delta {delta.from_version}->{delta.version} does not start at the "
                f"version held ({self.version}); a snapshot is needed"
            )
        work = _Overlay(self)
        for person in delta.removals:
            work.remove(person)
        for entry in delta.upserts:
            work.remove(entry.person)
            work.put(Person.of(entry))
        keys = self.keys if delta.keys is None else tuple(delta.keys)
        keyring = self.keyring if delta.keys is None else keyring_from_allowlist(list(keys))
        index = AllowlistIndex(
            building=self.building,
            version=delta.version,
            issued_at=delta.issued_at,
            table=self.table,
            changed=work.changed,
            changed_cards=work.changed_cards,
            people=work.people,
            schedules=self.schedules,
            keys=keys,
            keyring=keyring,
        )
        return index.compacted() if len(work.changed) >= COMPACT_AFTER else index

    def compacted(self) -> AllowlistIndex:
        """The same list with the overlay packed into a new table."""
        table = PersonTable.build(self.people_in_order())
        return AllowlistIndex(
            building=self.building,
            version=self.version,
            issued_at=self.issued_at,
            table=table,
            changed={},
            changed_cards={},
            people=len(table),
            schedules=self.schedules,
            keys=self.keys,
            keyring=self.keyring,
        )

    def to_snapshot(self) -> AllowlistSnapshot:
        if self.version < 1 or self.issued_at is None:
            raise AllowlistError("an empty allowlist has no snapshot form")
        return AllowlistSnapshot(
            building=self.building,
            version=self.version,
            issued_at=self.issued_at,
            entries=[person.to_entry() for person in self.people_in_order()],
            schedules=dict(self.schedules),
            keys=list(self.keys),
        )

    def __len__(self) -> int:
        return self.people


class _Overlay:
    """A delta being applied: copies of the overlay, changed person by person."""

    def __init__(self, index: AllowlistIndex) -> None:
        self.index = index
        self.changed = dict(index.changed)
        self.changed_cards = dict(index.changed_cards)
        self.people = index.people

    def person(self, person: str) -> Person | None:
        if person in self.changed:
            return self.changed[person]
        slot = self.index.table.find_person(person)
        return None if slot is None else self.index.table.person(slot)

    def card_holder(self, key: bytes) -> Person | None:
        if key in self.changed_cards:
            return self.changed_cards[key]
        slot = self.index.table.find_card(key)
        return None if slot is None else self.index.table.person(slot)

    def remove(self, person: str) -> None:
        old = self.person(person)
        if old is None:
            return
        for card in old.card_keys:
            holder = self.card_holder(card)
            if holder is not None and holder.person == person:
                self.changed_cards[card] = None
        self.changed.pop(person, None)  # re-inserted last: the newest change
        self.changed[person] = None
        self.people -= 1

    def put(self, person: Person) -> None:
        for card in person.card_keys:
            previous = self.card_holder(card)
            if previous is not None and previous.person != person.person:
                # The server should never give one card to two people; the newest wins.
                log.warning(
                    "card %s moved from %s to %s", card.hex()[:16], previous.person, person.person
                )
            self.changed_cards[card] = person
        self.changed.pop(person.person, None)
        self.changed[person.person] = person
        self.people += 1


class _People(Mapping[str, Person]):
    """``AllowlistIndex.by_person``: person id -> entry."""

    __slots__ = ("_index",)

    def __init__(self, index: AllowlistIndex) -> None:
        self._index = index

    def __getitem__(self, person: str) -> Person:
        found = self._index.person(person)
        if found is None:
            raise KeyError(person)
        return found

    def get(self, person: str, default: Person | None = None) -> Person | None:  # type: ignore[override]
        found = self._index.person(person)
        return default if found is None else found

    def __contains__(self, person: object) -> bool:
        return isinstance(person, str) and self._index.person(person) is not None

    def __iter__(self) -> Iterator[str]:
        return (person.person for person in self._index.people_in_order())

    def __len__(self) -> int:
        return len(self._index)

    def values(self) -> Iterator[Person]:  # type: ignore[override]
        return self._index.people_in_order()


class _Cards(Mapping[bytes, Person]):
    """``AllowlistIndex.by_card``: raw card hash -> holder. ``len`` counts (O(n))."""

    __slots__ = ("_index",)

    def __init__(self, index: AllowlistIndex) -> None:
        self._index = index

    def __getitem__(self, card: bytes) -> Person:
        found = self._index.card_holder(card)
        if found is None:
            raise KeyError(card)
        return found

    def __iter__(self) -> Iterator[bytes]:
        changed = self._index.changed_cards
        for card in self._index.table.card_keys():
            if card not in changed:
                yield card
        for card, holder in changed.items():
            if holder is not None:
                yield card

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _SnapshotFrame(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An AllowlistSnapshot whose entries are left undecoded (``msgspec.Raw``).

    Decoding 100,000 entries at once and then indexing them doubles the memory
    for a moment, and the freed half stays in the process as fragmentation.
    Decoding entry by entry into the index keeps the peak close to the index.
    """

    building: Id
    version: Annotated[int, Meta(ge=1)]
    issued_at: Timestamp
    entries: list[msgspec.Raw]
    schedules: dict[Id, list[TimeWindow]] = {}
    keys: list[TokenKey] = []
    # Checked before the frame is decoded (edge.agent, protocol.downlink).
    sig: DownlinkSignature | None = None


_FRAME_DECODER: Final = msgspec.json.Decoder(_SnapshotFrame)
_ENTRY_DECODER: Final = msgspec.json.Decoder(AllowlistEntry)


def _frame(payload: bytes) -> _SnapshotFrame:
    if len(payload) > _SNAPSHOT_MAX_BYTES:
        raise AllowlistError(f"snapshot of {len(payload)} bytes exceeds the limit")
    try:
        frame = _FRAME_DECODER.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise AllowlistError(f"snapshot does not decode: {exc}") from None
    if not EARLIEST_TS <= frame.issued_at < LATEST_TS:
        raise AllowlistError("snapshot issued_at is outside 2020..2100")
    return frame


def _entries(frame: _SnapshotFrame) -> Iterator[Person]:
    for position, raw in enumerate(frame.entries):
        try:
            entry = _ENTRY_DECODER.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise AllowlistError(f"snapshot entry {position} is invalid: {exc}") from None
        yield Person.of(entry)


def _index_from_frame(frame: _SnapshotFrame) -> AllowlistIndex:
    table = PersonTable.build(_entries(frame))
    return AllowlistIndex(
        building=frame.building,
        version=frame.version,
        issued_at=frame.issued_at,
        table=table,
        changed={},
        changed_cards={},
        people=len(table),
        schedules=dict(frame.schedules),
        keys=tuple(frame.keys),
        keyring=keyring_from_allowlist(list(frame.keys)),
    )


def index_from_json(payload: bytes) -> AllowlistIndex:
    """Build an index straight from a snapshot's JSON, validating every entry."""
    return _index_from_frame(_frame(payload))


class AllowlistStore:
    """The current index plus its on-disk cache; thread-safe.

    ``current`` is read without a lock (one reference). Applying a message
    writes the new version to disk first and only then swaps the reference,
    so what the gate decides with is always what a restart would load.
    """

    def __init__(self, building: str, directory: Path) -> None:
        self.building = building
        self.path = directory / CACHE_FILE
        self._lock = threading.Lock()
        self.current = AllowlistIndex.empty(building)
        self.snapshots_needed = 0

    @property
    def version(self) -> int:
        return self.current.version

    def load(self) -> AllowlistIndex:
        """Load the cache if there is one; a damaged cache is logged and ignored."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            log.info("no cached allowlist at %s; refusing everyone until one arrives", self.path)
            return self.current
        except OSError as exc:
            raise StateError(f"cannot read {self.path}: {exc}") from exc
        try:
            frame = _frame(data)
            del data
            if frame.building != self.building:
                raise AllowlistError(f"it is of building {frame.building}, not {self.building}")
            index = _index_from_frame(frame)
        except AllowlistError as exc:
            log.error("cached allowlist %s is unusable (%s); ignoring it", self.path, exc)
            return self.current
        with self._lock:
            self.current = index
        release_freed_memory()
        log.info(
            "loaded allowlist v%d with %d people from %s", index.version, len(index), self.path
        )
        return index

    def apply_snapshot_json(self, payload: bytes) -> bool:
        """Replace the list from a snapshot's JSON (as received); False if not newer."""
        frame = _frame(payload)
        if frame.building != self.building:
            raise AllowlistError(f"snapshot for building {frame.building!r}")
        with self._lock:
            if frame.version <= self.current.version:
                log.debug("snapshot v%d is not newer than v%d", frame.version, self.version)
                return False
            index = _index_from_frame(frame)
            del frame
            # What arrived is the msgspec-encoded snapshot: the cache is those bytes.
            write_atomically(self.path, payload)
            self.current = index
        release_freed_memory()
        log.info("allowlist v%d: snapshot with %d people", index.version, len(index))
        return True

    def apply_snapshot(self, snapshot: AllowlistSnapshot) -> bool:
        """Replace the list; False (and nothing changes) if it is not newer than ours."""
        return self.apply_snapshot_json(encode(snapshot))

    def apply_delta(self, delta: AllowlistDelta) -> bool:
        """Apply a delta; False if already applied; :class:`SnapshotNeededError` on a gap."""
        with self._lock:
            if delta.version <= self.current.version and delta.building == self.building:
                return False
            try:
                index = self.current.apply_delta(delta)
            except SnapshotNeededError:
                self.snapshots_needed += 1
                raise
            write_index(self.path, index)
            self.current = index
        log.info(
            "allowlist v%d: delta +%d -%d", index.version, len(delta.upserts), len(delta.removals)
        )
        return True


def write_index(path: Path, index: AllowlistIndex) -> None:
    """Write ``index`` as its snapshot's JSON, one entry at a time (no big transient)."""
    if index.version < 1 or index.issued_at is None:
        raise AllowlistError("an empty allowlist has no snapshot form")
    header = msgspec.json.encode(
        {
            "building": index.building,
            "version": index.version,
            "issued_at": index.issued_at,
            "schedules": dict(index.schedules),
            "keys": list(index.keys),
        }
    )

    def chunks() -> Iterator[bytes]:
        yield header[:-1] + b',"entries":['
        for position, person in enumerate(index.people_in_order()):
            yield (b"," if position else b"") + encode(person.to_entry())
        yield b"]}"

    write_atomically(path, chunks())


def write_atomically(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Write a file so that a crash leaves either the old or the new content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            if isinstance(data, bytes):
                handle.write(data)
            else:
                for chunk in data:
                    handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as exc:
        raise StateError(f"cannot write {path}: {exc}") from exc
