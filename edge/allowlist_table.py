"""The allowlist's people packed into a few flat arrays: 100,000 people in ~5 MB.

A Python object per person (and a dict entry per card and per person) costs
~200 bytes each, ~21 MB for a 100k building. :class:`PersonTable` keeps the
same data as

- ``ids``: every person id (UTF-8), concatenated in sorted order, with
  ``id_offsets`` (person *i* is ``ids[id_offsets[i]:id_offsets[i + 1]]``);
- ``traits`` / ``trait_of``: the few distinct (kind, schedule) pairs, and per
  person the index of its pair;
- ``valid_from`` / ``valid_until``: microseconds since the epoch per person
  (``NO_TIME`` where absent), or None when nobody has one;
- ``cards``: every card hash as 32 raw bytes, person by person, with
  ``card_offsets`` (None when everyone has exactly one card, the usual
  case: person *i*'s card is then card *i*);
- ``card_order``: the card positions sorted by hash, for a binary search (a
  card listed twice points at its newest holder only), and ``card_buckets``:
  where each run of hashes with the same leading bits starts in it (~1 entry
  per 2–4 cards, 128 KB for 100k), so the search covers a few cards, not all.

Lookups are binary searches (~2 steps for a card, ~17 for a person id) and build a :class:`Person`
for the one person found. The table is immutable; the allowlist index puts
deltas in a small overlay on top of it and rebuilds the table now and then.
"""

from __future__ import annotations

import logging
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Final

import msgspec

from protocol.messages import AllowlistEntry, PersonKind

log = logging.getLogger(__name__)

CARD_BYTES: Final = 32
#: valid_from / valid_until absent
NO_TIME: Final = -(2**63)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


class Person(msgspec.Struct, gc=False):
    """One allowlist entry as the gate hands it to a decision.

    Card hashes are raw 32-byte keys instead of 64-character strings;
    ``cards`` is one such key for the usual single card, or a tuple of them.
    A table builds one on each lookup; only the overlay of recent deltas
    keeps them. :meth:`to_entry` gives back the wire form.
    """

    person: str
    kind: PersonKind
    cards: bytes | tuple[bytes, ...]
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    schedule: str | None = None

    @classmethod
    def of(cls, entry: AllowlistEntry) -> Person:
        keys = tuple(bytes.fromhex(h) for h in entry.card_hashes)
        return cls(
            entry.person,
            entry.kind,
            keys[0] if len(keys) == 1 else keys,
            entry.valid_from,
            entry.valid_until,
            entry.schedule,
        )

    @property
    def card_keys(self) -> tuple[bytes, ...]:
        return (self.cards,) if isinstance(self.cards, bytes) else self.cards

    def to_entry(self) -> AllowlistEntry:
        return AllowlistEntry(
            person=self.person,
            kind=self.kind,
            card_hashes=[card.hex() for card in self.card_keys],
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            schedule=self.schedule,
        )


def _micros(moment: datetime | None) -> int:
    return NO_TIME if moment is None else (moment - _EPOCH) // _MICROSECOND


def _moment(micros: int) -> datetime | None:
    return None if micros == NO_TIME else _EPOCH + timedelta(microseconds=micros)


def _offsets(counts: Iterable[int]) -> array[int]:
    offsets = array("I", [0])
    total = 0
    for count in counts:
        total += count
        offsets.append(total)
    return offsets


class PersonTable:
    """An immutable, compact table of people and their cards (see the module doc)."""

    __slots__ = (
        "card_bucket_shift",
        "card_buckets",
        "card_offsets",
        "card_order",
        "cards",
        "id_offsets",
        "ids",
        "trait_of",
        "traits",
        "valid_from",
        "valid_until",
    )

    def __init__(
        self,
        ids: bytes,
        id_offsets: array[int],
        traits: tuple[tuple[PersonKind, str | None], ...],
        trait_of: array[int],
        valid_from: array[int] | None,
        valid_until: array[int] | None,
        cards: bytes,
        card_offsets: array[int] | None,
        card_order: array[int],
    ) -> None:
        self.ids = ids
        self.id_offsets = id_offsets
        self.traits = traits
        self.trait_of = trait_of
        self.valid_from = valid_from
        self.valid_until = valid_until
        self.cards = cards
        self.card_offsets = card_offsets
        self.card_order = card_order
        self.card_buckets, self.card_bucket_shift = self._buckets()

    @classmethod
    def empty(cls) -> PersonTable:
        return cls(
            b"", array("I", [0]), (), array("B"), None, None, b"", array("I", [0]), array("I")
        )

    @classmethod
    def build(cls, people: Iterable[Person]) -> PersonTable:
        """Pack ``people`` (in arrival order: a later entry for the same person or card wins)."""
        keys: list[bytes] = []
        trait_codes: dict[tuple[PersonKind, str | None], int] = {}
        trait_of = array("I")
        valid_from = array("q")
        valid_until = array("q")
        card_counts = array("B")
        cards = bytearray()
        for person in people:
            keys.append(person.person.encode())
            trait = (person.kind, person.schedule)
            trait_of.append(trait_codes.setdefault(trait, len(trait_codes)))
            valid_from.append(_micros(person.valid_from))
            valid_until.append(_micros(person.valid_until))
            card_keys = person.card_keys
            card_counts.append(len(card_keys))
            for card in card_keys:
                cards += card
        arrival_cards = _offsets(card_counts)

        # Sorted by id (stable: of a person listed twice, the last entry is kept).
        order = sorted(range(len(keys)), key=keys.__getitem__)
        kept: list[int] = []
        for position, arrival in enumerate(order):
            if position + 1 < len(order) and keys[order[position + 1]] == keys[arrival]:
                log.warning(
                    "person %s is listed twice; the later entry wins", keys[arrival].decode()
                )
                continue
            kept.append(arrival)

        packed_cards = bytearray()
        for arrival in kept:
            packed_cards += cards[
                arrival_cards[arrival] * CARD_BYTES : arrival_cards[arrival + 1] * CARD_BYTES
            ]
        del cards
        one_each = all(card_counts[arrival] == 1 for arrival in kept)
        card_offsets = None if one_each else _offsets(card_counts[arrival] for arrival in kept)
        table = cls(
            ids=b"".join(keys[arrival] for arrival in kept),
            id_offsets=_offsets(len(keys[arrival]) for arrival in kept),
            traits=tuple(trait_codes),
            trait_of=_narrow(array("I", (trait_of[arrival] for arrival in kept))),
            valid_from=_times(array("q", (valid_from[arrival] for arrival in kept))),
            valid_until=_times(array("q", (valid_until[arrival] for arrival in kept))),
            cards=bytes(packed_cards),
            card_offsets=card_offsets,
            card_order=array("I"),
        )
        del packed_cards, keys
        table.card_order = table._sorted_cards(kept)
        table.card_buckets, table.card_bucket_shift = table._buckets()
        return table

    def _buckets(self) -> tuple[array[int], int]:
        """Start of each run of ``card_order`` whose hashes share their leading bits."""
        cards, order = self.cards, self.card_order
        bits = min(16, max(0, len(order).bit_length() - 2))
        shift = 16 - bits
        counts = [0] * (1 << bits)
        for position in order:
            start = position * CARD_BYTES
            counts[(cards[start] << 8 | cards[start + 1]) >> shift] += 1
        return _offsets(counts), shift

    def _sorted_cards(self, arrival_of: list[int]) -> array[int]:
        """Card positions sorted by hash; of a card held twice, only the newest holder's."""
        cards = self.cards
        count = len(cards) // CARD_BYTES
        order = sorted(range(count), key=lambda p: cards[p * CARD_BYTES : (p + 1) * CARD_BYTES])
        result = array("I")
        position = 0
        while position < count:
            card = order[position]
            key = cards[card * CARD_BYTES : (card + 1) * CARD_BYTES]
            best = card
            position += 1
            while (
                position < count
                and cards[order[position] * CARD_BYTES : (order[position] + 1) * CARD_BYTES] == key
            ):
                other = order[position]
                if arrival_of[self.owner(other)] > arrival_of[self.owner(best)]:
                    best, other = other, best
                if self.owner(other) != self.owner(best):
                    log.warning(
                        "card %s moved from %s to %s",
                        key.hex()[:16],
                        self.person_id(self.owner(other)),
                        self.person_id(self.owner(best)),
                    )
                position += 1
            result.append(best)
        return result

    def __len__(self) -> int:
        return len(self.id_offsets) - 1

    def owner(self, card_position: int) -> int:
        """The slot of the person whose cards include ``card_position``."""
        if self.card_offsets is None:
            return card_position
        return bisect_right(self.card_offsets, card_position) - 1

    def person_id(self, slot: int) -> str:
        return self.ids[self.id_offsets[slot] : self.id_offsets[slot + 1]].decode()

    def find_person(self, person: str) -> int | None:
        """The slot of ``person``, if listed."""
        key = person.encode()
        ids, offsets = self.ids, self.id_offsets
        low, high = 0, len(offsets) - 1
        while low < high:
            middle = (low + high) // 2
            if ids[offsets[middle] : offsets[middle + 1]] < key:
                low = middle + 1
            else:
                high = middle
        if low < len(offsets) - 1 and ids[offsets[low] : offsets[low + 1]] == key:
            return low
        return None

    def find_card(self, card: bytes) -> int | None:
        """The slot of the person holding the card with this 32-byte key, if any."""
        if len(card) != CARD_BYTES:
            return None
        cards, order = self.cards, self.card_order
        bucket = (card[0] << 8 | card[1]) >> self.card_bucket_shift
        low, high = self.card_buckets[bucket], self.card_buckets[bucket + 1]
        end = high
        while low < high:
            middle = (low + high) // 2
            start = order[middle] * CARD_BYTES
            if cards[start : start + CARD_BYTES] < card:
                low = middle + 1
            else:
                high = middle
        if low < end:
            start = order[low] * CARD_BYTES
            if cards[start : start + CARD_BYTES] == card:
                return self.owner(order[low])
        return None

    def person(self, slot: int) -> Person:
        kind, schedule = self.traits[self.trait_of[slot]]
        cards, offsets = self.cards, self.card_offsets
        held: bytes | tuple[bytes, ...]
        if offsets is None:  # one card each: the usual case, and the card → relay path
            held = cards[slot * CARD_BYTES : (slot + 1) * CARD_BYTES]
        else:
            keys = tuple(
                cards[p * CARD_BYTES : (p + 1) * CARD_BYTES]
                for p in range(offsets[slot], offsets[slot + 1])
            )
            held = keys[0] if len(keys) == 1 else keys
        return Person(
            self.person_id(slot),
            kind,
            held,
            None if self.valid_from is None else _moment(self.valid_from[slot]),
            None if self.valid_until is None else _moment(self.valid_until[slot]),
            schedule,
        )

    def card_keys(self) -> Iterator[bytes]:
        """Every card that finds its holder, in hash order."""
        cards = self.cards
        for position in self.card_order:
            yield cards[position * CARD_BYTES : (position + 1) * CARD_BYTES]


def _narrow(codes: array[int]) -> array[int]:
    """The codes in the smallest array type that holds them (usually one byte each)."""
    largest = max(codes, default=0)
    typecode = "B" if largest < 2**8 else "H" if largest < 2**16 else "I"
    return codes if typecode == "I" else array(typecode, codes)


def _times(values: array[int]) -> array[int] | None:
    """``values``, or None when no person has one (the common case costs nothing)."""
    return values if any(value != NO_TIME for value in values) else None
