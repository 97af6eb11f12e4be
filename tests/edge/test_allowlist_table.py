"""The packed allowlist table and the delta overlay on top of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from edge import allowlist as allowlist_module
from edge.allowlist import AllowlistIndex
from edge.allowlist_table import Person, PersonTable
from protocol.cardhash import card_hash
from protocol.messages import AllowlistDelta, AllowlistEntry, PersonKind
from tests.edge.helpers import CARD_KEY, card_number, entry, person_id, snapshot

T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def h(i: int) -> str:
    return card_hash(CARD_KEY, card_number(i))


def key(i: int) -> bytes:
    return bytes.fromhex(h(i))


def delta(frm: int, to: int, **fields: object) -> AllowlistDelta:
    return AllowlistDelta(building="b1", from_version=frm, version=to, issued_at=T0, **fields)  # type: ignore[arg-type]


def test_table_keeps_every_field_of_every_entry() -> None:
    shanghai = timezone(timedelta(hours=8))
    entries = [
        entry(3, valid_until=datetime(2026, 7, 1, 12, 0, 0, 123456, tzinfo=shanghai)),
        entry(1, PersonKind.STAFF, schedule="night", card_hashes=[h(1), h(101), h(201)]),
        entry(2, PersonKind.VISITOR, valid_from=T0, card_hashes=[]),
        entry(0),
    ]
    table = PersonTable.build(Person.of(e) for e in entries)
    assert len(table) == 4
    assert [table.person_id(slot) for slot in range(4)] == [person_id(i) for i in range(4)]
    for original in entries:
        slot = table.find_person(original.person)
        assert slot is not None
        assert table.person(slot).to_entry() == original
    assert table.find_person("p-nobody") is None
    assert table.find_person("") is None
    for card, holder in ((h(1), 1), (h(101), 1), (h(201), 1), (h(0), 0), (h(3), 3)):
        slot = table.find_card(bytes.fromhex(card))
        assert slot is not None
        assert table.person_id(slot) == person_id(holder)
    assert table.find_card(key(2)) is None
    assert table.find_card(b"\xff" * 32) is None
    assert table.find_card(b"\x00" * 32) is None
    assert table.find_card(b"") is None
    assert table.valid_from is not None
    assert table.valid_until is not None
    assert table.card_offsets is not None


def test_table_without_times_or_people_stores_no_time_arrays() -> None:
    table = PersonTable.build(Person.of(entry(i)) for i in range(10))
    assert table.valid_from is None
    assert table.valid_until is None
    assert table.trait_of.typecode == "B"
    assert table.card_offsets is None  # one card each: person i holds card i
    slot = table.find_card(key(7))
    assert slot is not None
    assert table.person(slot).to_entry() == entry(7)
    empty = PersonTable.empty()
    assert len(empty) == 0
    assert empty.find_person(person_id(1)) is None
    assert empty.find_card(key(1)) is None


def test_every_card_of_a_big_table_is_found_through_its_bucket() -> None:
    people = 5_000
    table = PersonTable.build(Person.of(entry(i)) for i in range(people))
    assert table.card_bucket_shift == 16 - 11  # 2,048 buckets for 5,000 cards
    for i in range(people):
        slot = table.find_card(key(i))
        assert slot is not None
        assert table.person_id(slot) == person_id(i)
    assert table.find_card(key(people)) is None
    assert table.find_card(b"\xff" * 32) is None


def test_later_entry_wins_for_a_person_or_a_card_listed_twice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entries = [
        entry(5, card_hashes=[h(5)]),
        entry(7, card_hashes=[h(7)]),
        entry(6, card_hashes=[h(7)]),  # the server moved card 7 to person 6
        entry(5, PersonKind.STAFF, card_hashes=[h(55)]),  # person 5 again
    ]
    table = PersonTable.build(Person.of(e) for e in entries)
    assert len(table) == 3
    slot = table.find_person(person_id(5))
    assert slot is not None
    assert table.person(slot).kind is PersonKind.STAFF
    assert table.find_card(key(5)) is None
    holder = table.find_card(key(7))
    assert holder is not None
    assert table.person_id(holder) == person_id(6)
    assert "listed twice" in caplog.text
    assert "moved from p-000007 to p-000006" in caplog.text


def test_delta_overlay_follows_removals_upserts_and_moved_cards() -> None:
    index = AllowlistIndex.from_snapshot(snapshot(20))
    updated = index.apply_delta(
        delta(
            1,
            2,
            upserts=[entry(4, card_hashes=[h(400)]), entry(9, card_hashes=[h(3)]), entry(30)],
            removals=[person_id(3), person_id(99)],  # 99 was never listed
        )
    )
    assert len(updated) == 20  # -3 +30
    assert updated.card(h(4)) is None
    assert updated.by_card[key(400)].person == person_id(4)
    assert updated.card(h(3)) is not None
    assert updated.by_card[key(3)].person == person_id(9)
    assert updated.card(h(9)) is None
    assert person_id(3) not in updated.by_person
    assert updated.by_person[person_id(30)].kind is PersonKind.STUDENT
    assert updated.by_person.get(person_id(3)) is None
    assert len(updated.by_card) == 20
    assert set(updated.by_person) == {person_id(i) for i in [*range(20), 30] if i != 3}
    # A later delta removing the card's new holder leaves the card with nobody.
    later = updated.apply_delta(delta(2, 3, removals=[person_id(9)]))
    assert later.card(h(3)) is None
    assert len(later) == 19


def test_a_large_delta_packs_the_overlay_into_a_new_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(allowlist_module, "COMPACT_AFTER", 5)
    index = AllowlistIndex.from_snapshot(snapshot(50))
    small = index.apply_delta(delta(1, 2, upserts=[entry(60)], removals=[person_id(1)]))
    assert len(small.changed) == 2
    assert small.table is index.table
    big = small.apply_delta(
        delta(
            2,
            3,
            upserts=[entry(i, PersonKind.STAFF) for i in range(10, 14)],
            removals=[person_id(2)],
        )
    )
    assert big.changed == {}
    assert big.changed_cards == {}
    assert big.table is not index.table
    assert len(big) == len(big.table) == 49
    assert big.card(h(1)) is None
    assert big.card(h(2)) is None
    assert big.by_person[person_id(12)].kind is PersonKind.STAFF
    assert big.by_card[key(60)].person == person_id(60)
    assert [e.person for e in big.to_snapshot().entries] == sorted(big.by_person)


def test_snapshot_round_trip_keeps_entries() -> None:
    original = snapshot(30)
    index = AllowlistIndex.from_snapshot(original)
    again = index.to_snapshot()
    assert sorted(again.entries, key=lambda e: e.person) == sorted(
        original.entries, key=lambda e: e.person
    )
    assert isinstance(again.entries[0], AllowlistEntry)
