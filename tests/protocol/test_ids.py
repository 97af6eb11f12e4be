"""Event ids are ULIDs: valid, unique, sortable by the millisecond they were made."""

from __future__ import annotations

import re
import time

import pytest

from protocol.ids import ULID_PATTERN, is_valid_id, new_event_id


def test_ids_match_the_contract_pattern_and_are_unique() -> None:
    ids = {new_event_id() for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(re.fullmatch(ULID_PATTERN, i) for i in ids)


def test_ids_sort_by_time() -> None:
    ids = [new_event_id(now_ms=1_700_000_000_000 + step * 7) for step in range(500)]
    assert ids == sorted(ids)


def test_known_value() -> None:
    # The ULID specification's layout: 10 characters of time, 16 of randomness.
    assert new_event_id(now_ms=0, entropy=bytes(10)) == "0" * 26
    assert new_event_id(now_ms=1, entropy=bytes(10)) == "0" * 9 + "1" + "0" * 16
    assert new_event_id(now_ms=0, entropy=b"\xff" * 10) == "0" * 10 + "Z" * 16
    now_ms = time.time_ns() // 1_000_000
    assert new_event_id()[:10] >= new_event_id(now_ms=now_ms)[:10]


def test_entropy_must_be_ten_bytes() -> None:
    with pytest.raises(ValueError, match="10 bytes"):
        new_event_id(entropy=b"short")


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("b1", True),
        ("b1-gate-in", True),
        ("B1", False),
        ("b1/x", False),
        ("", False),
        ("a" * 33, False),
    ],
)
def test_topic_safe_ids(text: str, ok: bool) -> None:
    assert is_valid_id(text) is ok
