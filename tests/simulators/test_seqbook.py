"""Sequence numbers of simulated agents survive a restart of the simulation."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.errors import StateError
from simulators.seqbook import SeqBook


def test_a_restart_continues_above_everything_handed_out(tmp_path: Path) -> None:
    book = SeqBook(tmp_path / "seq.json")
    with book.deferred():
        a, b = book.store("b1-gate-in", block=10), book.store("b1-kiosk", block=10)
    first = [a.next() for _ in range(25)]
    assert first == list(range(25))
    assert b.next() == 0
    again = SeqBook(tmp_path / "seq.json").store("b1-gate-in", block=10)
    assert again.next() >= 25  # a gap is allowed, a repeat never
    assert SeqBook(tmp_path / "seq.json").store("b1-kiosk", block=10).next() >= 1


def test_a_damaged_book_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "seq.json"
    path.write_text("[1, 2")
    with pytest.raises(StateError, match=r"seq\.json"):
        SeqBook(path)
