"""Camera frames in, QR texts out.

:class:`FrameSource` is all the scanner needs: ``read()`` gives a frame or
None. :class:`OpenCvCamera` is the Pi's camera through OpenCV ``VideoCapture``;
:class:`FrameIterator` wraps any iterable of frames (the simulator's
synthesised ones). :class:`QrScanner` decodes each frame with the cheap
pre-check (:func:`edge.qr.decode_camera_frame`) and reports a text once while
it stays in view: a phone held to the camera is in many frames, and the same
token must not be decided twice (it would be refused as a replay).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

import cv2
import numpy as np

from edge.qr import Frame, decode_camera_frame

log = logging.getLogger(__name__)


class FrameSource(Protocol):
    def read(self) -> Frame | None: ...

    def close(self) -> None: ...


class OpenCvCamera:
    """A V4L2 camera read with OpenCV; frames come back grey."""

    def __init__(self, device: int | str, width_px: int, height_px: int, fps: float) -> None:
        self.capture: Any = cv2.VideoCapture(device)
        if not self.capture.isOpened():
            raise OSError(f"cannot open camera {device!r}")
        self.capture.set(cv2.CAP_PROP_FRAME_WIDTH, width_px)
        self.capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height_px)
        self.capture.set(cv2.CAP_PROP_FPS, fps)

    def read(self) -> Frame | None:
        ok, frame = self.capture.read()
        if not ok or frame is None:
            return None
        grey: Frame = np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
        return grey

    def close(self) -> None:
        self.capture.release()


class FrameIterator:
    """Frames from an iterable; None once it is exhausted."""

    def __init__(self, frames: Iterable[Frame]) -> None:
        self._frames: Iterator[Frame] = iter(frames)

    def read(self) -> Frame | None:
        return next(self._frames, None)

    def close(self) -> None:
        self._frames = iter(())


class QrScanner:
    def __init__(
        self,
        source: FrameSource,
        on_text: Callable[[str], object],
        *,
        repeat_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        idle_s: float = 0.05,
    ) -> None:
        self.source = source
        self.on_text = on_text
        self.repeat_s = repeat_s
        self.clock = clock
        self.idle_s = idle_s
        self.frames = 0
        self.errors = 0
        self._last_seen: dict[str, float] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qr-scanner", daemon=True)

    def scan(self, frame: Frame) -> list[str]:
        """Decode one frame; return (and report) the texts not seen within ``repeat_s``."""
        self.frames += 1
        now = self.clock()
        fresh: list[str] = []
        for text in decode_camera_frame(frame):
            last = self._last_seen.get(text)
            self._last_seen[text] = now
            if last is None or now - last > self.repeat_s:
                fresh.append(text)
        if len(self._last_seen) > 64:
            self._last_seen = {
                t: seen for t, seen in self._last_seen.items() if now - seen <= self.repeat_s
            }
        for text in fresh:
            self.on_text(text)
        return fresh

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(2.0)
        self.source.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                frame = self.source.read()
                if frame is None:
                    self._stopping.wait(self.idle_s)
                    continue
                self.scan(frame)
            except (cv2.error, OSError, ValueError, RuntimeError) as exc:
                # One bad frame (or a hiccup of the camera) must not stop the scanner.
                self.errors += 1
                log.error("QR scanner: %s", exc)
                self._stopping.wait(self.idle_s)
