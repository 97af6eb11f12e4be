"""A gateway as a child process (``python -m gateway``).

What tests (to SIGKILL it), benchmarks and a demo with several buildings on
one machine use to run a real gateway process against given brokers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO, Protocol


class BrokerAddress(Protocol):
    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...


class GatewayProcess:
    """One ``python -m gateway`` process for ``building``, between two brokers."""

    def __init__(
        self,
        building_broker: BrokerAddress,
        central_broker: BrokerAddress,
        *,
        site: Path,
        state_dir: Path,
        log_path: Path | None = None,
        building: str = "b1",
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.args = [
            sys.executable,
            "-m",
            "gateway",
            "--building",
            building,
            "--site",
            str(site),
            "--building-host",
            building_broker.host,
            "--building-port",
            str(building_broker.port),
            "--central-host",
            central_broker.host,
            "--central-port",
            str(central_broker.port),
            "--state-dir",
            str(state_dir),
            "--allow-unknown-devices",
            "--reconnect-max-s",
            "1",
            *extra_args,
        ]
        self.state_dir = state_dir
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> GatewayProcess:
        """Start the process; its output goes to ``log_path`` (or is discarded)."""
        output: IO[bytes] | int = subprocess.DEVNULL
        if self.log_path is not None:
            self._log = self.log_path.open("ab")
            output = self._log
        self._process = subprocess.Popen(
            self.args, stdout=output, stderr=subprocess.STDOUT, env=dict(os.environ)
        )
        return self

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as when the machine's power is cut."""
        if self._process is None:
            raise RuntimeError("the gateway process was never started")
        self._process.send_signal(signal.SIGKILL)
        self._process.wait(10)
        self._close_log()

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout_s``; the exit code (0 if never started)."""
        if self._process is None:
            return 0
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
        self._close_log()
        return self._process.returncode

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
