"""Synthesised camera frames: a real QR image placed in a noisy scene.

The gate's QR code path is tested and simulated with these instead of a
camera: the QR symbol is produced by segno (a real encoder), scaled, placed at
a chosen spot of a grey frame with sensor-like noise, and handed to the same
decoder a Pi runs on its OpenCV ``VideoCapture`` frames.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import segno

Frame = npt.NDArray[np.uint8]


def qr_module_matrix(text: str, error: str = "m") -> npt.NDArray[np.bool_]:
    """The QR symbol of ``text`` as a boolean matrix (True = dark), with quiet zone."""
    symbol = segno.make_qr(text, error=error)
    rows = [list(row) for row in symbol.matrix_iter(scale=1, border=4)]
    return np.array(rows, dtype=bool)


def frame_with_qr(
    text: str,
    *,
    width: int = 640,
    height: int = 480,
    module_px: int = 4,
    rng: np.random.Generator | None = None,
    noise_sd: float = 6.0,
) -> Frame:
    """A grey ``height``×``width`` frame showing the QR code of ``text`` somewhere."""
    rng = rng or np.random.default_rng(0)
    modules = qr_module_matrix(text)
    dark_light = np.where(modules, 20.0, 235.0)
    symbol = np.kron(dark_light, np.ones((module_px, module_px)))
    size = symbol.shape[0]
    if size > min(width, height):
        raise ValueError(f"QR of {size}px does not fit a {width}x{height} frame")
    frame = np.full((height, width), 128.0) + rng.normal(0.0, noise_sd, (height, width))
    top = int(rng.integers(0, height - size + 1))
    left = int(rng.integers(0, width - size + 1))
    frame[top : top + size, left : left + size] = symbol + rng.normal(0.0, noise_sd, symbol.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


def empty_frame(width: int = 640, height: int = 480, seed: int = 0) -> Frame:
    """A frame with nothing to decode, for the idle camera."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(128.0, 6.0, (height, width))
    return np.clip(noise, 0, 255).astype(np.uint8)


def camera_effects(
    frame: Frame,
    *,
    rng: np.random.Generator | None = None,
    scale: float = 1.0,
    rotate_deg: float = 0.0,
    blur_sigma: float = 0.0,
    noise_sd: float = 0.0,
    light_low: float = 1.0,
) -> Frame:
    """What a real camera does to a frame: zoom, a slight tilt, focus blur,
    sensor noise and uneven light (brightness falling from 1 to ``light_low``
    across the frame, as with a window on one side).

    The frame keeps its size; the scene is scaled and rotated about its centre.
    """
    import cv2  # imported here: the rest of this module needs only numpy

    rng = rng or np.random.default_rng(0)
    height, width = frame.shape
    image: npt.NDArray[np.float32] = frame.astype(np.float32)
    if scale != 1.0 or rotate_deg != 0.0:
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), rotate_deg, scale)
        warped = cv2.warpAffine(
            image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        image = np.asarray(warped, dtype=np.float32)
    if blur_sigma > 0:
        image = np.asarray(cv2.GaussianBlur(image, (0, 0), blur_sigma), dtype=np.float32)
    if light_low != 1.0:
        ramp = np.linspace(1.0, light_low, width, dtype=np.float32)
        image = image * ramp[np.newaxis, :]
    if noise_sd > 0:
        image = image + rng.normal(0.0, noise_sd, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8)
