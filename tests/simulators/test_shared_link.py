"""Many agents, one connection per building: own topics, own sequence numbers, in order."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from devservices import MosquittoBroker
from protocol.messages import DeviceEvent
from protocol.topics import parse_topic
from tests.simulators.helpers import MONDAY_6AM, Capture, small_sim


def test_shared_link_publishes_every_agent_in_seq_order(
    private_broker: MosquittoBroker, tmp_path: Path
) -> None:
    sim = small_sim(private_broker, tmp_path, buildings=2, rooms=60, students=150)
    agents = sum(len(rig.agents) for rig in sim.rigs.values())
    assert agents == 2 * (30 + 1 + 3)  # 30 dorms + 1 activity room sensors, 2 gates, a kiosk
    capture = Capture(private_broker)
    sim.start()
    assert sim.wait_connected(10)
    try:
        sim.run_until(MONDAY_6AM + timedelta(hours=1))
        assert sim.flush(20)
        emitted = sim.counts["events"]
    finally:
        sim.stop()
    capture.close()
    seqs: dict[str, list[int]] = defaultdict(list)
    for topic, message in capture.decoded():
        if isinstance(message, DeviceEvent):
            parsed = parse_topic(topic)
            assert parsed.device == message.device  # each agent on its own topics
            assert parsed.building == message.device.split("-", 1)[0]
            seqs[message.device].append(message.seq)
    assert len(seqs) == agents
    assert sum(len(s) for s in seqs.values()) == emitted
    for device, numbers in seqs.items():
        assert numbers == sorted(set(numbers)), device  # in order, no duplicates
    # One MQTT connection per building, connected once.
    assert [rig.link.connects for rig in sim.rigs.values()] == [1, 1]
