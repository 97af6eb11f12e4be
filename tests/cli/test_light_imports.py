"""`dorm` must start on a machine with only some extras installed.

A Pi at a gate installs `dorm-iot[edge]`, a building gateway `[gateway]`, the
central server `[server]`: the command tree itself may import only the core
dependencies, and each part's libraries only when that part runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("paho", "gpiozero", "cv2", "pyzbar", "numpy", "fastapi", "sqlalchemy", "influxdb_client")


def test_building_the_command_tree_imports_no_part_libraries() -> None:
    code = (
        "import sys\n"
        "from cli.main import build_parser\n"
        "build_parser()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == ""
