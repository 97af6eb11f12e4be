"""A non-editable install (the Dockerfile's ``pip install .``) ships every part."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("cli", "protocol", "transport", "siteconfig", "devservices", "edge", "gateway")
PARTS_MORE = ("server", "rules", "simulators")


def test_every_subpackage_of_every_part_is_packaged() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    packaged = set(find_packages(where=str(ROOT), include=include))
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for part in (*PARTS, *PARTS_MORE)
        for init in (ROOT / part).rglob("__init__.py")
    }
    assert on_disk, "no packages found on disk"
    assert on_disk <= packaged, f"not packaged: {sorted(on_disk - packaged)}"
    assert "server.migrations" not in on_disk  # shipped as package data instead
    assert "tests" not in packaged
    assert "bench" not in packaged
