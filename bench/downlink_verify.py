"""What signed downlink costs a device: verifying a command and a large allowlist snapshot.

Measures :meth:`protocol.signing.DownlinkVerifier.verify` on a signed unlock
command (~330 bytes) and on a signed snapshot of a building's allowlist
(default 5,000 people, ~0.6 MB; pass ``--people 100000`` (~12 MB) for the 16 MiB
limit's scale), next to what the device pays anyway: decoding the command,
and indexing the snapshot (``edge.allowlist.index_from_json``).

    python -m bench.downlink_verify [--runs 7] [--people 5000] [--quick]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bench.common import Figure, Report
from edge.allowlist import index_from_json
from protocol.codec import decode
from protocol.downlink import DownlinkVerifier, KeyScope
from protocol.ids import new_event_id
from protocol.messages import Command, CommandAction, encode
from protocol.signing import DownlinkSigner
from protocol.topics import Family, building_topic, device_topic
from tests.edge.helpers import snapshot


def _per_call_us(fn: Callable[[], object], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) * 1e6 / repeat


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--people", type=int, default=5_000)
    parser.add_argument("--quick", action="store_true", help="3 runs, 1,000 people")
    args = parser.parse_args(argv)
    runs, people = (3, 1_000) if args.quick else (args.runs, args.people)

    signer = DownlinkSigner.generate("server")
    verifier = DownlinkVerifier([signer.trusted(KeyScope.ALL)])
    now = datetime.now(UTC)
    command = Command(
        id=new_event_id(),
        device="b1-gate-in",
        action=CommandAction.UNLOCK,
        issued_at=now,
        expires_at=now + timedelta(minutes=1),
    )
    cmd_topic = device_topic("b1", "b1-gate-in", Family.COMMAND)
    cmd_payload = signer.sign(cmd_topic, encode(command))
    snap_topic = building_topic("b1", Family.ALLOWLIST_SNAPSHOT)
    snap_payload = signer.sign(snap_topic, encode(snapshot(people, issued_at=now)))
    assert verifier.verify(snap_topic, snap_payload) == "server"

    candidates: dict[str, tuple[Callable[[], object], int, str]] = {
        "verify signed command": (lambda: verifier.verify(cmd_topic, cmd_payload), 2_000, ""),
        "decode command (paid anyway)": (lambda: decode(cmd_topic, cmd_payload), 2_000, ""),
        f"verify signed snapshot ({people:,} people)": (
            lambda: verifier.verify(snap_topic, snap_payload),
            5,
            "",
        ),
        f"index snapshot ({people:,} people, paid anyway)": (
            lambda: index_from_json(snap_payload),
            3,
            "",
        ),
    }
    results: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(runs):
        for name, (fn, repeat, _goal) in candidates.items():
            results[name].append(_per_call_us(fn, repeat))
    report = Report("downlink_verify")
    for name, (_fn, _repeat, goal) in candidates.items():
        report.figures.append(Figure(name, "µs", results[name], goal))
    print(
        f"command {len(cmd_payload)} bytes, snapshot {len(snap_payload):,} bytes, "
        f"at {datetime.now()}"
    )
    report.print()
    print(f"saved {report.save()}")
    return report


if __name__ == "__main__":
    main()
