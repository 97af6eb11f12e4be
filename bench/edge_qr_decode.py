"""QR decoding of 640×480 camera frames, with and without a code, as the gate runs it.

Frames are synthesised from real QR images (segno) of real tokens: module
sizes 3–6 px, scaled, tilted a few degrees, blurred, noisy and unevenly lit
(``simulators.camera``). Each frame goes through ``edge.qr.decode_camera_frame``:
the cheap edge pre-check, then zbar (OpenCV as fallback) on the region around
the edges. Goals: median ≤ 12 ms with a code, 100 % decoded; ≤ 5 ms without.

    python -m bench.edge_qr_decode [--runs 5] [--frames 90] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.common import Figure, Report
from edge.heap import limit_heap_growth
from edge.qr import Frame, decode_camera_frame, decode_frame
from protocol.messages import PersonKind
from protocol.token_issuer import SigningKey, issue_token
from simulators.camera import camera_effects, empty_frame, frame_with_qr

EFFECTS: list[dict[str, float]] = [
    {},
    {"scale": 0.9},
    {"rotate_deg": 5.0},
    {"rotate_deg": -4.0},
    {"blur_sigma": 1.2},
    {"noise_sd": 14.0},
    {"light_low": 0.3},
    {"rotate_deg": 3.0, "blur_sigma": 0.8, "noise_sd": 8.0, "light_low": 0.5, "scale": 0.9},
]
MODULE_PX = (3, 4, 5, 6)


def frames_with_codes(count: int, seed: int) -> list[tuple[Frame, str]]:
    # Everything seeded (key, nonces, placement, effects): the set is the same every run.
    rng = np.random.default_rng(seed)
    key = SigningKey("k1", Ed25519PrivateKey.from_private_bytes(rng.bytes(32)))
    now = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    made: list[tuple[Frame, str]] = []
    for i in range(count):
        token = issue_token(key, f"p-{i:06d}", PersonKind.STUDENT, now, nonce=rng.bytes(8))
        scene = frame_with_qr(token, module_px=MODULE_PX[i % len(MODULE_PX)], rng=rng)
        made.append((camera_effects(scene, rng=rng, **EFFECTS[i % len(EFFECTS)]), token))
    return made


def frames_without(count: int, seed: int) -> list[Frame]:
    rng = np.random.default_rng(seed)
    return [
        camera_effects(empty_frame(seed=seed + i), rng=rng, **EFFECTS[i % len(EFFECTS)])
        for i in range(count)
    ]


def timed_ms(frame: Frame, *, full: bool = False) -> tuple[float, list[str]]:
    started = time.perf_counter()
    texts = decode_frame(frame) if full else decode_camera_frame(frame)
    return (time.perf_counter() - started) * 1000, texts


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--quick", action="store_true", help="3 runs of 32 frames")
    args = parser.parse_args(argv)
    limit_heap_growth()  # as the agent runs (edge.runtime.build)
    runs, count = (3, 32) if args.quick else (args.runs, args.frames)
    with_code_ms, success, without_ms, zbar_empty_ms, false_hits = [], [], [], [], []
    for run in range(runs):
        coded = frames_with_codes(count, seed=run)
        empty = frames_without(count, seed=1000 + run)
        times, decoded = [], 0
        for frame, token in coded:
            elapsed, texts = timed_ms(frame)
            times.append(elapsed)
            decoded += texts == [token]
        with_code_ms.append(statistics.median(times))
        success.append(100.0 * decoded / count)
        empty_times = [timed_ms(frame) for frame in empty]
        without_ms.append(statistics.median(t for t, _ in empty_times))
        false_hits.append(float(sum(1 for _, texts in empty_times if texts)))
        zbar_empty_ms.append(statistics.median(timed_ms(f, full=True)[0] for f in empty))
    report = Report("edge_qr_decode")
    report.figures += [
        Figure("640×480 frame with a code: median decode", "ms", with_code_ms, "≤ 12 ms"),
        Figure("frames with a code decoded correctly", "%", success, "100 %"),
        Figure("640×480 frame without a code: median", "ms", without_ms, "≤ 5 ms"),
        Figure("frames without a code that produced text", "frames", false_hits, "0"),
        Figure("(reference) zbar alone on a frame without a code", "ms", zbar_empty_ms),
    ]
    report.print()
    report.save()
    return report


if __name__ == "__main__":
    main()
