"""`dorm demo`'s gate run, end to end through a real Mosquitto."""

from __future__ import annotations

import io

from devservices import MosquittoBroker
from simulators import gate_demo


def test_demo_messages_cross_the_broker_and_validate(mosquitto: MosquittoBroker) -> None:
    out = io.StringIO()
    result = gate_demo.run(mosquitto.host, mosquitto.port, out, timeout_s=20)
    text = out.getvalue()
    # 3 good QR scans + 1 enrolled card are granted, each followed by opened/closed;
    # an expired QR, a QR from an unknown key and an unknown card are denied.
    assert result.received["AccessDecision"] == 7
    assert result.received["DoorEvent"] == 8
    assert result.received["RoomTelemetry"] == 1
    assert dict(result.rejected) == {"bad_value": 1}  # the id "nope" is not a ULID
    assert sum(result.received.values()) + 1 == result.published
    assert text.count("granted") == 4
    assert "token_expired" in text
    assert "token_unknown_key" in text
    assert "unknown_card" in text
    assert "REJECTED dorm/v1/b1/dev/b1-r101-sensor/telemetry" in text
