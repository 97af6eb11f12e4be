"""The gateway as a child process (``python -m gateway``), so a test can SIGKILL it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO, Final

from devservices import MosquittoBroker

REPO: Final = Path(__file__).resolve().parents[2]


class GatewayProcess:
    def __init__(
        self,
        building: MosquittoBroker,
        central: MosquittoBroker,
        state_dir: Path,
        log_path: Path,
        *extra_args: str,
    ) -> None:
        self.args = [
            sys.executable,
            "-m",
            "gateway",
            "-v",
            "--building",
            "b1",
            "--site",
            str(REPO / "firmware-config" / "site.yaml"),
            "--building-host",
            building.host,
            "--building-port",
            str(building.port),
            "--central-host",
            central.host,
            "--central-port",
            str(central.port),
            "--state-dir",
            str(state_dir),
            "--allow-unknown-devices",
            "--reconnect-max-s",
            "1",
            *extra_args,
        ]
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> GatewayProcess:
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            self.args, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT, env=dict(os.environ)
        )
        return self

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as when the machine's power is cut."""
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        self._process.wait(10)
        self._close_log()

    def stop(self) -> int:
        if self._process is None:
            return 0
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
        self._close_log()
        return self._process.returncode

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
