"""The camera path through OpenCV's VideoCapture: a recorded clip stands in for the camera."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.camera import FrameIterator, OpenCvCamera, QrScanner
from protocol.messages import PersonKind
from protocol.token_issuer import SigningKey, issue_token
from simulators.camera import camera_effects, empty_frame, frame_with_qr


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def record_clip(path: Path, frames: list[np.ndarray]) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 15.0, (640, 480))
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()
    return path


def test_video_capture_frames_are_scanned_once_per_code(tmp_path: Path) -> None:
    key = SigningKey.generate("k1")
    token = issue_token(key, "p-000001", PersonKind.STUDENT, datetime.now(UTC))
    rng = np.random.default_rng(4)
    shown = camera_effects(frame_with_qr(token, rng=rng), rng=rng, rotate_deg=3.0, noise_sd=5.0)
    clip = [empty_frame(seed=1)] * 5 + [shown] * 10 + [empty_frame(seed=2)] * 5
    camera = OpenCvCamera(str(record_clip(tmp_path / "gate.avi", clip)), 640, 480, 15)
    texts: queue.Queue[str] = queue.Queue()
    scanner = QrScanner(camera, texts.put, idle_s=0.01)
    scanner.start()
    try:
        assert texts.get(timeout=10) == token
        wait_for(lambda: scanner.frames == len(clip))
    finally:
        scanner.stop()
    assert texts.empty()  # ten frames of the same code: reported once
    assert scanner.errors == 0


def test_a_camera_that_cannot_be_opened_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="cannot open camera"):
        OpenCvCamera(str(tmp_path / "no-such-device"), 640, 480, 15)


def test_frame_errors_do_not_stop_the_scanner() -> None:
    bad = np.zeros((0, 0), dtype=np.uint8)  # OpenCV refuses an empty image
    texts: list[str] = []
    scanner = QrScanner(FrameIterator([bad, empty_frame()]), texts.append, idle_s=0.01)
    scanner.start()
    try:
        wait_for(lambda: scanner.frames == 2)
    finally:
        scanner.stop()
    assert scanner.errors == 1
    assert texts == []
