"""The cached allowlist: snapshot and delta with version checks, atomic cache, nonces."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.allowlist import CACHE_FILE, AllowlistIndex, AllowlistStore, Person
from edge.errors import AllowlistError, SnapshotNeededError
from edge.nonces import NonceCache
from protocol.cardhash import card_hash
from protocol.messages import AllowlistDelta, AllowlistSnapshot, PersonKind
from tests.edge.helpers import CARD_KEY, card_number, entry, person_id, snapshot

T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def delta(frm: int, to: int, **fields: object) -> AllowlistDelta:
    return AllowlistDelta(building="b1", from_version=frm, version=to, issued_at=T0, **fields)  # type: ignore[arg-type]


def h(i: int) -> str:
    return card_hash(CARD_KEY, card_number(i))


def holder(index: AllowlistIndex, hashed: str) -> Person:
    person = index.card(hashed)
    assert person is not None
    return person


def test_delta_upserts_removals_and_card_changes(small_snapshot: AllowlistSnapshot) -> None:
    index = AllowlistIndex.from_snapshot(small_snapshot)
    moved = entry(2, card_hashes=[h(200)])  # person 2 got a new card
    updated = index.apply_delta(delta(1, 2, upserts=[moved, entry(50)], removals=[person_id(3)]))
    assert updated.version == 2
    assert updated.card(h(2)) is None
    assert holder(updated, h(200)).person == person_id(2)
    assert updated.card(h(50)) is not None
    assert person_id(3) not in updated.by_person
    assert updated.card(h(3)) is None
    # The old index is untouched: a decision in flight keeps a consistent view.
    assert index.version == 1
    assert index.card(h(3)) is not None
    assert index.card(h(2)) is not None


def test_delta_must_start_at_the_version_held(small_snapshot: AllowlistSnapshot) -> None:
    index = AllowlistIndex.from_snapshot(small_snapshot)
    with pytest.raises(SnapshotNeededError, match="snapshot is needed"):
        index.apply_delta(delta(2, 3))
    with pytest.raises(AllowlistError, match="building"):
        index.apply_delta(AllowlistDelta(building="b2", from_version=1, version=2, issued_at=T0))


def test_store_survives_restart_and_refuses_stale_messages(
    state_dir: Path, small_snapshot: AllowlistSnapshot
) -> None:
    store = AllowlistStore("b1", state_dir)
    assert store.load().version == 0
    assert store.apply_snapshot(small_snapshot)
    assert store.apply_delta(delta(1, 2, upserts=[entry(77, PersonKind.STAFF)]))
    assert not store.apply_delta(delta(1, 2))  # already applied
    with pytest.raises(SnapshotNeededError):
        store.apply_delta(delta(5, 6))
    assert store.snapshots_needed == 1
    assert not store.apply_snapshot(small_snapshot)  # older than what we hold
    assert [p.name for p in state_dir.iterdir()] == [CACHE_FILE]  # no temp files left

    again = AllowlistStore("b1", state_dir)
    loaded = again.load()
    assert loaded.version == 2
    assert len(loaded) == 11
    assert holder(loaded, h(77)).kind is PersonKind.STAFF
    assert set(loaded.keyring) == {"k1"}


def test_damaged_or_foreign_cache_is_ignored(state_dir: Path) -> None:
    (state_dir / CACHE_FILE).write_bytes(b'{"building": "b1", "version": ')
    assert AllowlistStore("b1", state_dir).load().version == 0
    store = AllowlistStore("b2", state_dir)
    AllowlistStore("b1", state_dir).apply_snapshot(snapshot(2))
    assert store.load().version == 0
    with pytest.raises(AllowlistError):
        store.apply_snapshot(snapshot(2))


def test_100k_allowlist_loads_updates_by_delta_and_survives_restart(state_dir: Path) -> None:
    people = 100_000
    big = snapshot(people, issued_at=T0)
    store = AllowlistStore("b1", state_dir)
    started = time.perf_counter()
    assert store.apply_snapshot(big)
    snapshot_s = time.perf_counter() - started
    assert len(store.current) == people
    assert len(store.current.by_card) == people

    started = time.perf_counter()
    store.apply_delta(
        delta(1, 2, upserts=[entry(people + i) for i in range(100)], removals=[person_id(5)])
    )
    delta_s = time.perf_counter() - started
    assert store.current.card(h(5)) is None
    assert store.current.card(h(people + 99)) is not None

    started = time.perf_counter()
    reloaded = AllowlistStore("b1", state_dir).load()
    load_s = time.perf_counter() - started
    assert reloaded.version == 2
    assert len(reloaded) == people + 99
    assert holder(reloaded, h(people - 1)).person == person_id(people - 1)
    # Generous bounds for a shared 2-core machine; typical figures are in docs/edge.md.
    assert max(snapshot_s, delta_s, load_s) < 10, (snapshot_s, delta_s, load_s)


def test_nonce_cache_forgets_expired_and_is_bounded() -> None:
    cache = NonceCache(max_entries=3)
    cache.remember("a" * 16, T0 + timedelta(seconds=60), T0)
    assert "a" * 16 in cache
    cache.remember("b" * 16, T0 + timedelta(seconds=120), T0 + timedelta(seconds=61))
    assert "a" * 16 not in cache
    assert "b" * 16 in cache
    for c in "cdef":
        cache.remember(c * 16, T0 + timedelta(seconds=200), T0 + timedelta(seconds=62))
    assert len(cache) == 3
    assert cache.evicted == 2
    assert "b" * 16 not in cache
    assert "f" * 16 in cache
