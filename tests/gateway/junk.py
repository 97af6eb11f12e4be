"""Junk for the gateway: each kind with the reason it must be rejected for."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Final

from protocol.messages import encode
from protocol.topics import Family, device_topic
from tests.gateway.helpers import BUILDING, access

JUNK_DEVICE: Final = "b1-junk"


def junk(rng: random.Random, count: int) -> Iterator[tuple[str, bytes, str]]:
    """``count`` (topic, payload, expected reason) triples, cycling through the kinds."""
    topic = device_topic(BUILDING, JUNK_DEVICE, Family.ACCESS)
    for n in range(count):
        valid = json.loads(encode(access(JUNK_DEVICE, n + 1)))
        match n % 10:
            case 0:
                cut = rng.randrange(1, 60)
                yield topic, encode(access(JUNK_DEVICE, n + 1))[:-cut], "malformed"
            case 1:
                yield topic, b"{not json" + rng.randbytes(rng.randrange(0, 40)), "malformed"
            case 2:
                key = rng.choice(["seq", "direction", "decision", "credential", "device"])
                bad = rng.choice([[1, 2], {"x": 1}, True, 1.5])
                yield topic, json.dumps({**valid, key: bad}).encode(), "wrong_type"
            case 3:
                yield topic, b" " * (4096 + rng.randrange(1, 5000)) + b"{}", "too_large"
            case 4:
                suffix = rng.choice(["event/party", "event", "telemetry/x", "heartbeat/1"])
                bad_topic = f"dorm/v1/{BUILDING}/dev/{JUNK_DEVICE}/{suffix}"
                yield bad_topic, encode(access(JUNK_DEVICE, n + 1)), "unknown_topic"
            case 5:
                extra = {**valid, rng.choice(["name", "card_number", "x"]): "secret"}
                yield topic, json.dumps(extra).encode(), "unknown_field"
            case 6:
                yield topic, json.dumps({**valid, "device": "b1-other"}).encode(), "topic_mismatch"
            case 7:
                dropped = rng.choice(["id", "seq", "ts", "decision"])
                missing = {k: v for k, v in valid.items() if k != dropped}
                yield topic, json.dumps(missing).encode(), "missing_field"
            case 8:
                yield (
                    topic,
                    json.dumps({**valid, "seq": -rng.randrange(1, 10**6)}).encode(),
                    ("out_of_range"),
                )
            case _:
                # A device posing as a gateway.
                posing = device_topic(BUILDING, JUNK_DEVICE, Family.GATEWAY_HEALTH)
                yield posing, encode(access(JUNK_DEVICE, n + 1)), "unauthorised_family"
