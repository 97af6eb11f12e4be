"""The durable outbox: order, durability across a kill, bounds and shedding."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from transport.outbox import Message, Outbox, Priority


def event(n: int) -> Message:
    return Message(f"t/{n}", f"event-{n}".encode(), Priority.EVENT)


def telemetry(n: int) -> Message:
    return Message(f"t/{n}", f"telemetry-{n}".encode(), Priority.TELEMETRY)


def test_fifo_batches_and_ack(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db") as box:
        assert box.put_many([event(n) for n in range(10)]) == 10
        first = box.next_batch(4)
        assert [r.payload for r in first] == [f"event-{n}".encode() for n in range(4)]
        after = box.next_batch(100, after_id=first[-1].id)
        assert len(after) == 6
        box.ack(r.id for r in first)
        assert box.depth == 6
        assert [r.payload for r in box.next_batch(2)] == [b"event-4", b"event-5"]
        box.ack([first[0].id])  # acknowledging twice changes nothing
        assert box.depth == 6


def test_survives_reopen(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db") as box:
        box.put_many([event(n) for n in range(5)])
        box.ack([box.next_batch(1)[0].id])
    with Outbox(tmp_path / "o.db") as box:
        assert box.depth == 4
        assert box.next_batch(10)[0].payload == b"event-1"


def test_survives_sigkill_right_after_put(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from pathlib import Path
        from transport.outbox import Message, Outbox
        box = Outbox(Path({str(path)!r}))
        for n in range(500):
            box.put(Message("t", str(n).encode()))
        print("put", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(root)},
        check=False,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert result.stdout.strip() == "put"
    with Outbox(path) as box:
        assert box.depth == 500
        assert [int(r.payload) for r in box.next_batch(1000)] == list(range(500))


def test_full_outbox_sheds_telemetry_before_events(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db", max_rows=10, warn_ratio=0.9) as box:
        box.put_many([telemetry(n) for n in range(4)] + [event(n) for n in range(4)])
        assert not box.over_warning
        box.put(event(4))
        assert box.over_warning  # 9 of 10
        box.put(event(5))
        assert box.depth == 10
        # Full: an event evicts the oldest telemetry; telemetry is refused.
        assert box.put(event(6))
        assert not box.put(telemetry(9))
        stats = box.stats()
        assert (stats.shed_telemetry, stats.refused_telemetry, stats.refused_events) == (1, 1, 0)
        payloads = [r.payload for r in box.next_batch(100)]
        assert b"telemetry-0" not in payloads
        assert b"event-6" in payloads
        # Shed all telemetry, then events are refused, never older events dropped.
        for n in range(7, 10):
            box.put(event(n))
        assert box.stats().shed_telemetry == 4
        assert not box.put(event(99))
        assert box.stats().refused_events == 1
        assert box.next_batch(100)[0].payload == b"event-0"


@pytest.mark.parametrize("bad", [0, -5])
def test_bounds_are_validated(tmp_path: Path, bad: int) -> None:
    with pytest.raises(ValueError, match="max_rows"):
        Outbox(tmp_path / "o.db", max_rows=bad)
