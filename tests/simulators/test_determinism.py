"""The same seed produces the same event stream twice (through a real broker)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from devservices import MosquittoBroker
from protocol.topics import Family, parse_topic
from tests.simulators.helpers import MONDAY_6AM, Capture, comparable, small_sim


def _run(broker: MosquittoBroker, state: Path, seed: int, prefix: str) -> list[Any]:
    sim = small_sim(broker, state, seed=seed, prefix=prefix)
    capture = Capture(broker)
    sim.start()
    assert sim.wait_connected(10)
    try:
        sim.run_until(MONDAY_6AM + timedelta(hours=3))
        assert sim.flush(20)
    finally:
        sim.stop()
    messages = capture.close()
    stream = [
        comparable(topic, payload)
        for topic, payload in messages
        if parse_topic(topic).family is not Family.STATE  # connection-time states
    ]
    # Order per device is the device's own (seq); across devices the broker interleaves.
    return sorted(stream, key=lambda item: (item[0], item[1]["seq"]))


def test_same_seed_same_stream(private_broker: MosquittoBroker, tmp_path: Path) -> None:
    first = _run(private_broker, tmp_path / "a", 21, "run-a")
    second = _run(private_broker, tmp_path / "b", 21, "run-b")
    other = _run(private_broker, tmp_path / "c", 22, "run-c")
    assert len(first) > 200
    assert first == second
    assert first != other
    families = {parse_topic(t).family for t, _ in first}
    assert {Family.ACCESS, Family.DOOR, Family.TELEMETRY, Family.HEARTBEAT} <= families
