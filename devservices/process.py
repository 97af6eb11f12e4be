"""Child processes, helper commands and log files shared by the launchers."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

from devservices.errors import (
    BinaryNotFoundError,
    DevServiceError,
    PortInUseError,
    ServiceCommandError,
    ServiceStartError,
    ServiceStartTimeoutError,
)

logger = logging.getLogger(__name__)

LOG_TAIL_LINES: Final = 40
POLL_INTERVAL_S: Final = 0.05
_ADDRESS_IN_USE: Final = "address already in use"


def find_binary(name: str, fallbacks: Sequence[Path] = (), *, package_hint: str = "") -> Path:
    """Find executable ``name`` on PATH, then at each of ``fallbacks``.

    Raises :class:`BinaryNotFoundError` naming every place looked at.
    """
    found = shutil.which(name)
    if found is not None:
        return Path(found)
    for candidate in fallbacks:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    looked = ", ".join(str(p) for p in fallbacks) or "no fallback paths"
    hint = f"; install {package_hint}" if package_hint else ""
    raise BinaryNotFoundError(f"{name!r} not found on PATH nor at {looked}{hint}")


def log_tail(path: Path, max_lines: int = LOG_TAIL_LINES) -> str:
    """The last ``max_lines`` lines of a log file, or a note saying why there are none."""
    try:
        with path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            size = log.tell()
            log.seek(max(0, size - 64 * 1024))
            text = log.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log file at {path})"
    lines = text.splitlines()[-max_lines:]
    return "\n".join(lines) if lines else f"(log file {path} is empty)"


def with_log_tail(message: str, log_path: Path) -> str:
    """``message`` followed by the log tail, indented, for an exception text."""
    tail = log_tail(log_path).replace("\n", "\n    ")
    return f"{message}\n  last lines of {log_path}:\n    {tail}"


def log_says_address_in_use(log_path: Path) -> bool:
    """True if the service's log reports that its port was taken."""
    return _ADDRESS_IN_USE in log_tail(log_path).lower()


def run_command(
    argv: Sequence[str],
    *,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> str:
    """Run a helper command to completion; return its output or raise with it."""
    logger.debug("running %s", " ".join(argv))
    try:
        done = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout_s,
            env=None if env is None else dict(env),
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        output = (exc.output or b"").decode("utf-8", errors="replace")
        raise ServiceCommandError(
            f"{argv[0]} did not finish within {timeout_s:.0f} s: {output.strip()}"
        ) from exc
    output = done.stdout.decode("utf-8", errors="replace")
    if done.returncode != 0:
        raise ServiceCommandError(
            f"{' '.join(argv)} exited with code {done.returncode}: {output.strip()}"
        )
    return output


def pid_alive(pid: int) -> bool:
    """True if process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs: trust kill(0)
    # The state follows the parenthesised command name, which may hold spaces.
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state != "Z"


def wait_pid_gone(pid: int, timeout_s: float) -> bool:
    """Poll until ``pid`` is gone; False if it is still alive after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_INTERVAL_S)
    return True


class ChildProcess:
    """One long-running service process, its output appended to a log file.

    The child gets its own session, so a Ctrl-C aimed at the test run does not
    kill it before the harness has stopped it in order.
    """

    def __init__(self, name: str, argv: Sequence[str], log_path: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._popen is None else self._popen.pid

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    def spawn(self) -> None:
        if self.running:
            raise DevServiceError(f"{self.name} is already running (pid {self.pid})")
        logger.debug("starting %s: %s", self.name, " ".join(self.argv))
        with self.log_path.open("ab") as log:
            try:
                self._popen = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except FileNotFoundError as exc:
                raise BinaryNotFoundError(f"{self.name}: no executable {self.argv[0]}") from exc
            except OSError as exc:
                raise ServiceStartError(f"{self.name}: cannot run {self.argv[0]}: {exc}") from exc

    def terminate(self, timeout_s: float) -> None:
        """SIGTERM, then SIGKILL if the process has not exited after ``timeout_s``."""
        popen = self._popen
        if popen is None or popen.poll() is not None:
            return
        popen.terminate()
        try:
            popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            logger.warning(
                "%s (pid %d) ignored SIGTERM for %.1f s; killing it",
                self.name,
                popen.pid,
                timeout_s,
            )
            self.kill()

    def kill(self) -> None:
        """SIGKILL and reap."""
        popen = self._popen
        if popen is None or popen.poll() is not None:
            return
        popen.send_signal(signal.SIGKILL)
        popen.wait()


def wait_until_ready(
    name: str,
    probe: Callable[[], bool],
    *,
    timeout_s: float,
    log_path: Path,
    alive: Callable[[], bool],
) -> None:
    """Poll ``probe`` until it returns True.

    Raises :class:`PortInUseError` or :class:`ServiceStartError` (with the log
    tail) if ``alive`` turns False first, and :class:`ServiceStartTimeoutError`
    if ``timeout_s`` passes.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if probe():
            return
        if not alive():
            message = f"{name} exited while starting"
            if log_says_address_in_use(log_path):
                raise PortInUseError(with_log_tail(f"{message}: its port is taken", log_path))
            raise ServiceStartError(with_log_tail(message, log_path))
        if time.monotonic() >= deadline:
            raise ServiceStartTimeoutError(
                with_log_tail(f"{name} was not ready within {timeout_s:.0f} s", log_path)
            )
        time.sleep(POLL_INTERVAL_S)
