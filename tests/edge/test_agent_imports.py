"""A running gate agent verifies Ed25519 with libsodium and never loads ``cryptography``.

The agent is started as the systemd unit starts it (``python -m
cli.commands.edge``), with its camera (a recorded MJPG clip read through
``cv2.VideoCapture``) and its downlink keys, against a real Mosquitto. It takes
a signed allowlist snapshot from the broker (a downlink signature verified),
then decides a QR token it sees in the camera (a token signature verified) and
publishes the grant. Only then is it checked, from outside, two ways: the
interpreter's own import log (``-X importtime``) names every module the
process imported, and ``/proc/PID/maps`` every shared library it loaded
(cryptography's Ed25519 is in its Rust extension; libsodium is in PyNaCl's).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import cv2
import msgspec
import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devservices import MosquittoBroker
from edge.runtime import CARD_KEY_FILE
from protocol.downlink import KeyScope, TrustFile
from protocol.ids import new_event_id
from protocol.keys import token_key
from protocol.messages import AccessDecision, CredentialKind, Decision, PersonKind, encode
from protocol.signing import DownlinkSigner
from protocol.token_issuer import SigningKey, issue_token
from protocol.topics import Family, building_topic, device_topic
from simulators.camera import camera_effects, empty_frame, frame_with_qr
from tests.edge.helpers import CARD_KEY, REPO, SITE_FILE, person_id, snapshot, write_gate_device
from tests.edge.mqtt_helpers import Collector

DEVICE = "b1-gate-in"
SNAPSHOT_TOPIC = building_topic("b1", Family.ALLOWLIST_SNAPSHOT)
#: ``-X importtime`` writes one line per module: "import time: self | cumulative | name".
_IMPORTED_RE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$", re.MULTILINE)


@pytest.fixture(scope="module")
def broker() -> Iterator[MosquittoBroker]:
    service = MosquittoBroker()
    try:
        yield service.start()
    finally:
        service.close()


def record_clip(path: Path, token: str) -> Path:
    """An idle camera, a phone showing ``token``, idle again (MJPG, 15 fps)."""
    rng = np.random.default_rng(11)
    shown = camera_effects(frame_with_qr(token, rng=rng), rng=rng, rotate_deg=3.0, noise_sd=5.0)
    frames = [empty_frame(seed=1)] * 10 + [shown] * 10 + [empty_frame(seed=2)] * 10
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 15.0, (640, 480))
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path


def publish_retained(broker: MosquittoBroker, topic: str, payload: bytes) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{new_event_id()}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1, retain=True).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def imported_modules(import_log: str) -> set[str]:
    return set(_IMPORTED_RE.findall(import_log))


def mapped_files(pid: int) -> set[str]:
    lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return {line.split(maxsplit=5)[5] for line in lines if len(line.split(maxsplit=5)) == 6}


def test_a_gate_with_its_camera_verifies_without_cryptography(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    server = DownlinkSigner.generate("server")
    keys_file = tmp_path / "downlink-keys.json"
    keys_file.write_bytes(msgspec.json.encode(TrustFile(keys=[server.trusted(KeyScope.ALL)])))
    token_signing = SigningKey.generate("k1")
    people = snapshot(
        5, issued_at=datetime.now(UTC), keys=[token_key("k1", token_signing.public_key)]
    )
    publish_retained(broker, SNAPSHOT_TOPIC, server.sign(SNAPSHOT_TOPIC, encode(people)))
    # Person 0 is staff: admitted during the curfew too, whenever the test runs.
    token = issue_token(token_signing, person_id(0), PersonKind.STAFF, datetime.now(UTC))
    clip = record_clip(tmp_path / "camera.avi", token)
    device = write_gate_device(tmp_path / "devices")
    device.write_text(
        device.read_text().replace("camera: {device: 0}", f"camera: {{device: {clip}}}")
    )
    assert str(clip) in device.read_text()
    state = tmp_path / "state"
    state.mkdir()
    (state / CARD_KEY_FILE).write_bytes(CARD_KEY)
    access = Collector(broker.host, broker.port, [device_topic("b1", DEVICE, Family.ACCESS)])
    log_path = tmp_path / "agent.log"
    env = dict(os.environ, GPIOZERO_PIN_FACTORY="mock", OPENCV_VIDEOIO_PRIORITY_FFMPEG="0")
    with open(log_path, "wb") as log_file:
        agent = subprocess.Popen(
            [
                *(sys.executable, "-X", "importtime", "-m", "cli.commands.edge", "-v"),
                *("--device", str(device), "--site", str(SITE_FILE), "--state-dir", str(state)),
                *("--broker", f"{broker.host}:{broker.port}", "--connect-jitter", "0"),
                *("--downlink-keys", str(keys_file)),
            ],
            stdin=subprocess.DEVNULL,
            stderr=log_file,
            cwd=REPO,
            env=env,
        )
    try:
        access.wait_until(
            lambda events: any(
                isinstance(e, AccessDecision)
                and e.credential is CredentialKind.QR
                and e.decision is Decision.GRANTED
                and e.person == person_id(0)
                for e in events
            ),
            timeout_s=45,
        )
        assert agent.poll() is None, log_path.read_text()
        loaded = mapped_files(agent.pid)
    finally:
        access.close()
        agent.terminate()
        agent.wait(20)
    log = log_path.read_text()
    assert "downlink signatures checked against keys ('server',)" in log
    modules = imported_modules(log)
    assert {"cv2", "nacl.signing", "protocol.downlink", "protocol.tokens"} <= modules, log
    assert not {m for m in modules if m.split(".")[0] == "cryptography"}
    assert not {m for m in modules if m in {"protocol.signing", "protocol.token_issuer"}}
    assert any("/nacl/_sodium" in path for path in loaded)
    assert not [path for path in loaded if "/cryptography/" in path]
