"""The gateway as a child process for tests: ``gateway.child`` on the example site."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from devservices import MosquittoBroker
from gateway.child import GatewayProcess as _GatewayProcess

REPO: Final = Path(__file__).resolve().parents[2]
SITE: Final = REPO / "firmware-config" / "site.yaml"


def GatewayProcess(  # noqa: N802 - reads like the class it builds
    building: MosquittoBroker,
    central: MosquittoBroker,
    state_dir: Path,
    log_path: Path,
    *extra_args: str,
) -> _GatewayProcess:
    """A gateway for building b1 of the example site, logging to ``log_path``."""
    return _GatewayProcess(
        building,
        central,
        site=SITE,
        state_dir=state_dir,
        log_path=log_path,
        extra_args=("-v", *extra_args),
    )
