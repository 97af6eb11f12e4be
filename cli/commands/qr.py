"""``dorm qr decode``: what a gate camera would read from an image."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path

from protocol.keys import KeyStoreError, load_public_keys
from protocol.tokens import PREFIX, TokenError, verify_token

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2


def _decode(args: argparse.Namespace) -> int:
    # OpenCV is heavy; import it only when an image is actually decoded.
    from edge.qr import QrBackend, QrError, decode_frame, read_image

    keys_dir = Path(args.keys or os.environ.get("DORM_KEYS_DIR", "var/keys"))
    try:
        keys = load_public_keys(keys_dir) if keys_dir.is_dir() else {}
    except KeyStoreError as exc:
        print(f"dorm qr decode: {exc}")
        return EXIT_USAGE
    backend = QrBackend(args.backend) if args.backend else None
    now = datetime.now(UTC)
    all_good = True
    for name in args.images:
        try:
            texts = decode_frame(read_image(Path(name)), backend)
        except QrError as exc:
            print(f"{name}: error: {exc}")
            all_good = False
            continue
        if not texts:
            print(f"{name}: no QR code found")
            all_good = False
        for text in texts:
            if not text.startswith(PREFIX):
                print(f"{name}: not a dorm token: {text!r}")
                continue
            try:
                claims = verify_token(text, keys, now)
            except TokenError as exc:
                print(f"{name}: token refused: {exc.reason.value} ({exc.detail})")
                all_good = False
                continue
            print(
                f"{name}: token valid: {claims.kind.value} {claims.subject} "
                f"key={claims.kid} until={claims.expires_at.isoformat()}"
            )
    return EXIT_OK if all_good else EXIT_REFUSED


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    qr = subparsers.add_parser("qr", help="QR codes as a gate camera sees them")
    actions = qr.add_subparsers(dest="qr_command", metavar="ACTION", required=True)
    decode = actions.add_parser(
        "decode",
        help="decode QR codes in image files and verify any dorm token found",
        description=(
            "Decode every QR code in each image (pyzbar, or OpenCV's detector when "
            "libzbar is missing) and verify the dorm tokens among them. Exit 0 when "
            "every image held a code and every token verified, 1 otherwise."
        ),
    )
    decode.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG...)")
    decode.add_argument("--keys", help="key directory (default $DORM_KEYS_DIR or var/keys)")
    decode.add_argument(
        "--backend", choices=["zbar", "opencv"], help="force a decoder (default: zbar if present)"
    )
    decode.set_defaults(handler=_decode)
