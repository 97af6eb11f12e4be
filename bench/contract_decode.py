"""Decode + validate (and encode) throughput of a typical event on one core.

Measures what every hop pays per message: ``protocol.codec.decode`` (topic
parse, size check, JSON parse and full validation into a typed message) on
the typical ~220-byte access event, and for comparison the bare msgspec
decoder and a pydantic v2 model of the same event. Goal: ≥ 200k messages/s.

    python -m bench.contract_decode [--runs 7] [--messages 200000] [--quick]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

import msgspec
import pydantic

from bench.common import Figure, Report
from protocol.codec import decode, decode_as
from protocol.examples import BUILDING, typical_event
from protocol.messages import EARLIEST_TS, LATEST_TS, AccessDecision, AccessReason, encode
from protocol.topics import Family, device_topic, parse_topic


class PydanticAccessDecision(pydantic.BaseModel):
    """The same event as a pydantic model, only to compare decoders (docs/protocol.md)."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True)

    id: Annotated[str, pydantic.Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")]
    device: Annotated[str, pydantic.Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]
    seq: Annotated[int, pydantic.Field(ge=0)]
    ts: pydantic.AwareDatetime
    received_at: pydantic.AwareDatetime | None = None
    direction: Literal["entry", "exit"]
    credential: Literal["card", "qr"]
    decision: Literal["granted", "denied"]
    reason: Literal[tuple(r.value for r in AccessReason)]  # type: ignore[valid-type]
    person: Annotated[str, pydantic.Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")] | None = None
    card_ref: Annotated[str, pydantic.Field(pattern=r"^[0-9a-f]{16}$")] | None = None
    nonce: Annotated[str, pydantic.Field(pattern=r"^[0-9a-f]{16}$")] | None = None
    door: Annotated[str, pydantic.Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")] = "main"

    @pydantic.model_validator(mode="after")
    def _same_checks_as_the_contract(self) -> PydanticAccessDecision:
        if not EARLIEST_TS <= self.ts < LATEST_TS:
            raise ValueError("bad timestamp")
        if (self.decision == "granted") != (self.reason == "ok"):
            raise ValueError("bad value")
        return self


class UncheckedAccessDecision(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The same fields with no patterns, ranges or cross-field checks: what the checks cost."""

    id: str
    device: str
    seq: int
    ts: datetime
    received_at: datetime | None = None
    direction: str
    credential: str
    decision: str
    reason: str
    person: str | None = None
    card_ref: str | None = None
    nonce: str | None = None
    door: str = "main"


def _rate(fn: Callable[[], object], messages: int) -> float:
    start = time.perf_counter()
    for _ in range(messages):
        fn()
    return messages / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="3 runs of 20k messages")
    args = parser.parse_args(argv)
    runs, messages = (3, 20_000) if args.quick else (args.runs, args.messages)

    payload = encode(typical_event())
    topic = device_topic(BUILDING, typical_event().device, Family.ACCESS)
    parsed_topic = parse_topic(topic)
    assert decode(topic, payload) == typical_event()
    pydantic_event = PydanticAccessDecision.model_validate_json(payload, strict=False)
    event = typical_event()
    unchecked = msgspec.json.Decoder(UncheckedAccessDecision)

    candidates: dict[str, tuple[Callable[[], object], str]] = {
        "codec.decode(topic, payload) [the real path]": (
            lambda: decode(topic, payload),
            "≥ 200,000 msg/s",
        ),
        "codec.decode(parsed topic, payload)": (lambda: decode(parsed_topic, payload), ""),
        "msgspec decode_as(AccessDecision)": (lambda: decode_as(AccessDecision, payload), ""),
        "msgspec without constraints (cost of the checks)": (
            lambda: unchecked.decode(payload),
            "",
        ),
        "pydantic v2 model_validate_json (comparison)": (
            lambda: PydanticAccessDecision.model_validate_json(payload, strict=False),
            "",
        ),
        "msgspec encode (edge publish, gateway restamp)": (lambda: encode(event), ""),
        "pydantic v2 model_dump_json (comparison)": (pydantic_event.model_dump_json, ""),
    }
    report = Report("contract_decode")
    results: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(runs):  # interleave candidates so machine noise hits all alike
        for name, (fn, _goal) in candidates.items():
            results[name].append(_rate(fn, messages))
    for name, (_fn, goal) in candidates.items():
        report.figures.append(Figure(name, "msg/s", results[name], goal))
    per_message = Figure(
        "codec.decode per message",
        "µs",
        [1e6 / rate for rate in results["codec.decode(topic, payload) [the real path]"]],
    )
    report.figures.append(per_message)
    print(f"payload: {len(payload)} bytes, {messages:,} messages per run, at {datetime.now()}")
    report.print()
    print(f"saved {report.save()}")
    return report


if __name__ == "__main__":
    main()
