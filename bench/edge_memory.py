"""Resident memory of a gate agent process holding a 100,000-person allowlist.

Starts the ``dorm edge`` agent the way the systemd unit does (``python -m
cli.commands.edge``; gpiozero mock pins, a private Mosquitto) with a 100k
allowlist in its state directory cache, lets it load the cache, connect and
settle, presents cards, and reads VmRSS (and the peak, VmHWM) from /proc.
Goal: RSS ≤ 80 MB.

Two variants:

- card-only: a gate run with ``--no-camera`` (OpenCV, numpy and zbar are
  never imported);
- with camera: the gate as the device file describes it, its camera being a
  recorded MJPG clip read through ``cv2.VideoCapture`` (there is no camera
  here; read by OpenCV's own MJPEG reader, not FFmpeg, which a V4L2
  camera does not use either): frames without a code and frames with a valid
  QR token of a person on the list. The figure is taken after the token was decided (its granted
  ``AccessDecision`` arrived at the broker), so OpenCV, numpy and zbar have
  decoded frames, not only been imported.

The device's card reader is evdev (imported, as on a Pi); cards come from
standard input (``--stdin-cards``). As in production, the agent checks downlink
signatures (``--downlink-keys``) and the broker holds the server-signed
snapshot of the version cached (retained), which the agent receives and
verifies (12 MB, Ed25519) at every connect.

    python -m bench.edge_memory [--runs 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import msgspec
import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.common import Figure, Report
from bench.edge_card_to_relay import CARD_KEY, allowlist
from devservices import MosquittoBroker
from edge.allowlist import CACHE_FILE, write_atomically
from edge.runtime import CARD_KEY_FILE
from protocol.codec import decode
from protocol.downlink import KeyScope, TrustFile
from protocol.keys import token_key
from protocol.messages import AccessDecision, CredentialKind, Decision, PersonKind, encode
from protocol.signing import DownlinkSigner
from protocol.token_issuer import SigningKey, issue_token
from protocol.topics import Family, building_topic, device_topic
from simulators.camera import camera_effects, empty_frame, frame_with_qr

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "firmware-config" / "site.yaml"
DEVICE = REPO / "firmware-config" / "devices" / "b1-gate-in.yaml"


def proc_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


AGENT_MODULE = "cli.commands.edge"
QR_PERSON = "p-000001"
SNAPSHOT_TOPIC = building_topic("b1", Family.ALLOWLIST_SNAPSHOT)


def record_clip(path: Path, token: str) -> Path:
    """An MJPG clip: an idle camera, then a phone showing ``token``, then idle again."""
    rng = np.random.default_rng(7)
    shown = camera_effects(frame_with_qr(token, rng=rng), rng=rng, rotate_deg=3.0, noise_sd=5.0)
    frames = [empty_frame(seed=1)] * 30 + [shown] * 15 + [empty_frame(seed=2)] * 30
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 15.0, (640, 480))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path


def device_with_camera(workdir: Path, clip: Path) -> Path:
    """The bench's device file with its camera replaced by the recorded clip."""
    text = DEVICE.read_text().replace("  device: 0\n", f"  device: {clip}\n")
    if str(clip) not in text:
        raise RuntimeError(f"no camera device line in {DEVICE}")
    path = workdir / DEVICE.name
    path.write_text(text)
    return path


class AccessWatcher:
    """Waits for the gate's granted QR decision at the broker."""

    def __init__(self, host: str, port: int) -> None:
        self.granted_qr = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-edge-memory")
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.subscribe(device_topic("b1", "b1-gate-in", Family.ACCESS), qos=1)
        self.client.loop_start()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        message = decode(msg.topic, bytes(msg.payload))
        if (
            isinstance(message, AccessDecision)
            and message.credential is CredentialKind.QR
            and message.decision is Decision.GRANTED
        ):
            self.granted_qr.set()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish_retained(broker: MosquittoBroker, topic: str, payload: bytes) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-edge-memory-pub")
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1, retain=True).wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()


def one_run(
    broker: MosquittoBroker,
    cache: bytes,
    trust: TrustFile,
    workdir: Path,
    camera_token: str | None,
) -> tuple[float, float]:
    state = workdir / "state"
    state.mkdir()
    (state / CARD_KEY_FILE).write_bytes(CARD_KEY)
    write_atomically(state / CACHE_FILE, cache)
    keys_file = workdir / "downlink-keys.json"
    keys_file.write_bytes(msgspec.json.encode(trust))
    log_path = workdir / "agent.log"
    env = dict(os.environ, GPIOZERO_PIN_FACTORY="mock", PYTHONPATH=str(REPO))
    if camera_token is None:
        device, camera = DEVICE, ["--no-camera"]
    else:
        device = device_with_camera(workdir, record_clip(workdir / "camera.avi", camera_token))
        camera = []
        # A V4L2 camera does not go through FFmpeg: read the clip with OpenCV's
        # own MJPEG reader (libjpeg in cv2, as the V4L2 backend decodes an MJPG
        # camera) instead of FFmpeg's demuxer and decoder (~5 MB more pages).
        env["OPENCV_VIDEOIO_PRIORITY_FFMPEG"] = "0"
    watcher = AccessWatcher(broker.host, broker.port)
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                AGENT_MODULE,
                "--device",
                str(device),
                "--site",
                str(SITE),
                "--state-dir",
                str(state),
                "--broker",
                f"{broker.host}:{broker.port}",
                *camera,
                "--stdin-cards",
                "--connect-jitter",
                "0",
                "--downlink-keys",
                str(keys_file),
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
        if camera_token is not None and not watcher.granted_qr.wait(30):
            raise RuntimeError(f"the camera's QR token was not granted: {log_path.read_text()}")
        time.sleep(2.0)
        if b"refused allowlist/snapshot" in log_path.read_bytes():
            raise RuntimeError(f"the signed snapshot was refused: {log_path.read_text()}")
        return proc_kib(process.pid, "VmRSS") / 1024, proc_kib(process.pid, "VmHWM") / 1024
    finally:
        watcher.close()
        process.terminate()
        process.wait(20)


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    signing = SigningKey.generate("k1")
    snapshot = allowlist()
    snapshot.keys = [token_key("k1", signing.public_key)]
    # Staff: admitted during the curfew too, so the token is granted at any hour.
    snapshot.entries[1].kind = PersonKind.STAFF
    cache = encode(snapshot)
    server = DownlinkSigner.generate("server")
    trust = TrustFile(keys=[server.trusted(KeyScope.ALL)])
    figures: dict[str, list[float]] = {}
    with MosquittoBroker() as broker:
        publish_retained(broker, SNAPSHOT_TOPIC, server.sign(SNAPSHOT_TOPIC, cache))
        for _ in range(runs):
            token = issue_token(signing, QR_PERSON, PersonKind.STAFF, datetime.now(UTC))
            assert snapshot.entries[1].person == QR_PERSON
            for name, camera_token in (("card-only", None), ("with camera (QR)", token)):
                with tempfile.TemporaryDirectory() as workdir:
                    settled, high = one_run(broker, cache, trust, Path(workdir), camera_token)
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
