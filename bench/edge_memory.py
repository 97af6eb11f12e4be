"""Resident memory of a gate agent process holding a 100,000-person allowlist.

Starts the ``dorm edge`` agent (gpiozero mock pins, a private Mosquitto) with
a 100k allowlist in its state directory cache, lets it load the cache,
connect and settle, presents a few cards, and reads VmRSS (and the peak,
VmHWM) from /proc. Goal: RSS ≤ 80 MB.

Two variants: a card-only gate (no camera: OpenCV, numpy and zbar are never
imported), and the same process with the QR stack (OpenCV, numpy, pyzbar)
imported as a gate with a camera has it (there is no camera here to open).

    python -m bench.edge_memory [--runs 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Figure, Report
from bench.edge_card_to_relay import CARD_KEY, allowlist
from devservices import MosquittoBroker
from edge.allowlist import CACHE_FILE, write_atomically
from edge.runtime import CARD_KEY_FILE
from protocol.messages import encode

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "firmware-config" / "site.yaml"
DEVICE = REPO / "firmware-config" / "devices" / "b1-gate-in.yaml"


def proc_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


AGENT = "from cli.commands.edge import main; raise SystemExit(main())"
AGENT_WITH_QR_STACK = "import cv2, numpy, pyzbar.pyzbar, edge.qr, edge.camera; " + AGENT


def one_run(
    broker: MosquittoBroker, cache: bytes, workdir: Path, program: str
) -> tuple[float, float]:
    state = workdir / "state"
    state.mkdir()
    (state / CARD_KEY_FILE).write_bytes(CARD_KEY)
    write_atomically(state / CACHE_FILE, cache)
    log_path = workdir / "agent.log"
    env = dict(os.environ, GPIOZERO_PIN_FACTORY="mock", PYTHONPATH=str(REPO))
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                program,
                "--device",
                str(DEVICE),
                "--site",
                str(SITE),
                "--state-dir",
                str(state),
                "--broker",
                f"{broker.host}:{broker.port}",
                "--no-camera",
                "--stdin-cards",
                "--connect-jitter",
                "0",
            ],
            stdin=subprocess.PIPE,
            stderr=log_file,
            cwd=REPO,
            env=env,
        )
    try:
        deadline = time.monotonic() + 60
        while b"running" not in log_path.read_bytes():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"agent did not start: {log_path.read_text()}")
            time.sleep(0.1)
        assert process.stdin is not None
        for i in range(20):
            process.stdin.write(f"CARD{i:08d}\n".encode())
        process.stdin.flush()
        time.sleep(2.0)
        return proc_kib(process.pid, "VmRSS") / 1024, proc_kib(process.pid, "VmHWM") / 1024
    finally:
        process.terminate()
        process.wait(20)


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    cache = encode(allowlist())
    figures: dict[str, list[float]] = {}
    with MosquittoBroker() as broker:
        for _ in range(runs):
            for name, program in (("card-only", AGENT), ("with QR stack", AGENT_WITH_QR_STACK)):
                with tempfile.TemporaryDirectory() as workdir:
                    settled, high = one_run(broker, cache, Path(workdir), program)
                figures.setdefault(f"{name}: RSS settled", []).append(settled)
                figures.setdefault(f"{name}: peak RSS (VmHWM)", []).append(high)
    report = Report("edge_memory")
    for name, values in figures.items():
        goal = "≤ 80 MB" if "settled" in name else ""
        report.figures.append(Figure(f"gate agent, 100k allowlist, {name}", "MB", values, goal))
    report.print()
    report.save()
    return report


if __name__ == "__main__":
    main()
