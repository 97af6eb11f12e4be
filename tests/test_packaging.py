"""A non-editable install (the Dockerfile's ``pip install .``) ships every part."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatchcase
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("cli", "protocol", "transport", "siteconfig", "devservices", "edge", "gateway")
PARTS_MORE = ("server", "rules", "simulators", "provisioning")


def test_every_subpackage_of_every_part_is_packaged() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for part in (*PARTS, *PARTS_MORE)
        for init in (ROOT / part).rglob("__init__.py")
    }
    packaged = {name for name in on_disk if any(fnmatchcase(name, pat) for pat in include)}
    assert on_disk, "no packages found on disk"
    assert on_disk <= packaged, f"not packaged: {sorted(on_disk - packaged)}"
    assert "server.migrations" not in on_disk  # shipped as package data instead
    assert not any(fnmatchcase(name, pat) for pat in include for name in ("tests", "bench"))
