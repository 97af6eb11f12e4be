"""QR decoding: images made by an independent encoder, and synthesised camera frames."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import qrcode
import qrcode.image.pure

from cli.main import main
from edge.qr import QrBackend, QrError, decode_frame, read_image
from protocol.keys import write_signing_key
from protocol.messages import PersonKind
from protocol.token_issuer import SigningKey, issue_token
from simulators.camera import empty_frame, frame_with_qr


def write_with_qrcode_library(text: str, path: Path) -> Path:
    """Render ``text`` with python-qrcode (pure PNG), not the project's own segno."""
    image = qrcode.make(text, image_factory=qrcode.image.pure.PyPNGImage, box_size=6)
    image.save(str(path))
    return path


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "keys"
    write_signing_key(directory, SigningKey.generate("k1"))
    return directory


def current_token(keys_dir: Path, at: datetime | None = None) -> str:
    from protocol.keys import load_signing_key

    return issue_token(
        load_signing_key(keys_dir), "p-7f3a9c", PersonKind.STUDENT, at or datetime.now(UTC)
    )


@pytest.mark.parametrize("backend", list(QrBackend))
def test_independent_encoder_image_decodes(tmp_path: Path, backend: QrBackend) -> None:
    text = "DQ1.independent-encoder-check-0123456789"
    png = write_with_qrcode_library(text, tmp_path / "code.png")
    assert decode_frame(read_image(png), backend) == [text]


@pytest.mark.parametrize("backend", list(QrBackend))
def test_synthesised_camera_frames_decode(backend: QrBackend) -> None:
    key = SigningKey.generate("k1")
    rng = np.random.default_rng(3)
    for _ in range(5):
        token = issue_token(key, "p-7f3a9c", PersonKind.STUDENT, datetime.now(UTC))
        frame = frame_with_qr(token, rng=rng)
        assert decode_frame(frame, backend) == [token]
    assert decode_frame(empty_frame(), backend) == []


def test_colour_frames_are_accepted() -> None:
    grey = frame_with_qr("DQ1.colour", rng=np.random.default_rng(1))
    colour = np.stack([grey, grey, grey], axis=-1)
    assert decode_frame(colour) == ["DQ1.colour"]


def test_unreadable_files_are_errors(tmp_path: Path) -> None:
    not_image = tmp_path / "notes.png"
    not_image.write_text("not an image")
    with pytest.raises(QrError, match="not an image"):
        read_image(not_image)
    with pytest.raises(QrError, match="no such file"):
        read_image(tmp_path / "missing.png")


def test_cli_decodes_and_verifies_a_token_from_another_encoder(
    tmp_path: Path, keys_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = write_with_qrcode_library(current_token(keys_dir), tmp_path / "phone.png")
    code = main(["qr", "decode", str(png), "--keys", str(keys_dir)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "token valid: student p-7f3a9c key=k1" in out


def test_cli_opencv_fallback(
    tmp_path: Path, keys_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = write_with_qrcode_library(current_token(keys_dir), tmp_path / "phone.png")
    code = main(["qr", "decode", str(png), "--keys", str(keys_dir), "--backend", "opencv"])
    assert code == 0
    assert "token valid" in capsys.readouterr().out


def test_cli_refuses_expired_and_reports_missing_codes(
    tmp_path: Path, keys_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = current_token(keys_dir, datetime(2026, 1, 1, tzinfo=UTC))
    expired = write_with_qrcode_library(old, tmp_path / "old.png")
    blank = tmp_path / "blank.png"
    import cv2

    cv2.imwrite(str(blank), empty_frame())
    code = main(["qr", "decode", str(expired), str(blank), "--keys", str(keys_dir)])
    out = capsys.readouterr().out
    assert code == 1
    assert "token refused: expired" in out
    assert "blank.png: no QR code found" in out
