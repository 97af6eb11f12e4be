"""Fixtures for the configuration tests: the shipped example and a CLI runner."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cli.main import main
from tests.config.helpers import EXAMPLE_DIR, RunCli


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Run ``dorm <args>`` in-process; returns the exit code and stdout + stderr."""

    def run(*argv: str) -> tuple[int, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped firmware-config to break."""
    target = tmp_path / "firmware-config"
    shutil.copytree(EXAMPLE_DIR, target)
    return target
