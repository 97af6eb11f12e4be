"""Helpers shared by the configuration tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = REPO_ROOT / "firmware-config"

#: ``run_cli("config", "validate", path)`` -> (exit code, printed text)
RunCli = Callable[..., tuple[int, str]]


def line_of(text: str, needle: str, *, after: str | None = None) -> int:
    """1-based line of the one line of ``text`` containing ``needle``, or of
    the first such line after the one line containing ``after``."""
    lines = text.splitlines()
    start = line_of(text, after) if after is not None else 0
    hits = [n for n, line in enumerate(lines, 1) if n > start and needle in line]
    if after is None:
        assert len(hits) == 1, f"{needle!r} found on lines {hits}"
    assert hits, f"{needle!r} not found after line {start}"
    return hits[0]


def line_equal(text: str, stripped: str) -> int:
    """1-based line of the one line of ``text`` that is ``stripped`` once stripped."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == stripped]
    assert len(hits) == 1, f"{stripped!r} found on lines {hits}"
    return hits[0]


def edit(path: Path, old: str, new: str, *, first: bool = False) -> str:
    """Replace the one occurrence of ``old`` in ``path`` (or the first one,
    with ``first``); returns the new text."""
    text = path.read_text(encoding="utf-8")
    count = text.count(old)
    assert count == 1 or (first and count > 1), f"{old!r} occurs {count} times in {path}"
    text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return text
