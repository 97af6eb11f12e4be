"""The life cycle every launcher shares: temp dir, free ports, start, stop, close.

``start()`` makes a private temp dir on first use, picks free ports (unless
given), launches the service and polls until it is ready. ``stop()`` stops the
process (SIGTERM, then SIGKILL after ``stop_timeout_s``) but keeps the temp dir
and the ports, so a later ``start()`` brings the same service back on the same
ports with its data, as fault-injection tests need. ``kill()`` is a crash
(SIGKILL). ``close()`` stops and deletes the temp dir; leaving a ``with`` block
calls it. Services still open when the interpreter exits are closed by an
``atexit`` hook, with a warning, so a crashed test run leaves no daemon behind.
"""

from __future__ import annotations

import abc
import atexit
import logging
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Final, Self

from devservices.errors import DevServiceError, PortInUseError
from devservices.ports import LOCALHOST
from devservices.process import log_tail

logger = logging.getLogger(__name__)

PORT_ATTEMPTS: Final = 3

_open_services: set[DevService] = set()


def _close_leftovers() -> None:
    for service in list(_open_services):
        logger.warning("%s was still open at exit; closing it", service.service_name)
        try:
            service.close()
        except DevServiceError as exc:
            logger.error("could not close %s at exit: %s", service.service_name, exc)


atexit.register(_close_leftovers)


class DevService(abc.ABC):
    """Base of the throwaway local services; see the module docstring for the life cycle."""

    service_name: ClassVar[str]

    def __init__(
        self,
        *,
        start_timeout_s: float,
        stop_timeout_s: float,
        base_dir: Path | None,
        ports_given: bool,
    ) -> None:
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self._base_dir = base_dir
        self._ports_fixed = ports_given
        self._workdir: Path | None = None
        self._prepared = False
        self._started_once = False
        #: The main port, chosen by ``_choose_ports`` (or given) before the first start.
        self._port: int | None = None

    @property
    def host(self) -> str:
        return LOCALHOST

    @property
    def port(self) -> int:
        """The service's main port (for Mosquitto: the anonymous listener)."""
        if self._port is None:
            raise DevServiceError(f"{self.service_name} has no port yet: start it first")
        return self._port

    # -- what each launcher provides -------------------------------------------------

    @abc.abstractmethod
    def _choose_ports(self) -> None:
        """Pick fresh free ports (called before a first start when none were given)."""

    @abc.abstractmethod
    def _prepare(self) -> None:
        """One-time set-up in :attr:`workdir` (password files, initdb, ...)."""

    @abc.abstractmethod
    def _launch(self) -> None:
        """Start the process on the current ports, without waiting for readiness."""

    @abc.abstractmethod
    def _wait_ready(self) -> None:
        """Poll until the service answers; raise a ServiceStartError (with log tail) if not."""

    @abc.abstractmethod
    def _shutdown(self) -> None:
        """Stop the process gracefully, killing it after ``stop_timeout_s``; no-op if stopped."""

    @abc.abstractmethod
    def _kill(self) -> None:
        """SIGKILL the process (and its children) and wait until it is gone."""

    @property
    @abc.abstractmethod
    def running(self) -> bool:
        """True while the service process is alive."""

    def _after_first_start(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Hook run once, after the first successful start (e.g. create a database)."""

    # -- life cycle --------------------------------------------------------------------

    @property
    def workdir(self) -> Path:
        """The service's private temp dir (config, data, log)."""
        if self._workdir is None:
            raise DevServiceError(f"{self.service_name} has not been started")
        return self._workdir

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.service_name}.log"

    def log_tail(self) -> str:
        """The last lines of the service's log, for error messages and debugging."""
        return log_tail(self.log_path)

    def start(self) -> Self:
        """Start the service and wait until it is ready; returns ``self``."""
        if self.running:
            raise DevServiceError(f"{self.service_name} is already running")
        first_start = self._workdir is None
        if self._workdir is None:
            self._workdir = Path(
                tempfile.mkdtemp(prefix=f"dorm-{self.service_name}-", dir=self._base_dir)
            )
            _open_services.add(self)
        ok = False
        try:
            if not self._prepared:
                self._prepare()
                self._prepared = True
            self._start_on_free_ports()
            if not self._started_once:
                self._after_first_start()
                self._started_once = True
            ok = True
        finally:
            if not ok:
                if first_start:
                    self.close()
                else:
                    self._shutdown()
        logger.info("%s started in %s", self.service_name, self._workdir)
        return self

    def _start_on_free_ports(self) -> None:
        attempts = 1 if self._ports_fixed else PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            if not self._ports_fixed:
                self._choose_ports()
            try:
                self._launch()
                self._wait_ready()
            except PortInUseError:
                self._shutdown()
                if attempt == attempts:
                    raise
                logger.info("%s: port taken meanwhile, retrying on new ports", self.service_name)
            else:
                self._ports_fixed = True
                return

    def stop(self) -> None:
        """Stop the process (SIGTERM, SIGKILL after ``stop_timeout_s``); keep data and ports."""
        if self._workdir is not None:
            self._shutdown()
            logger.info("%s stopped", self.service_name)

    def kill(self) -> None:
        """Crash the service with SIGKILL; ``start()`` brings it back on the same ports."""
        if self._workdir is not None:
            self._kill()
            logger.info("%s killed", self.service_name)

    def close(self) -> None:
        """Stop the service and delete its temp dir. Safe to call more than once."""
        if self._workdir is None:
            return
        try:
            self._shutdown()
        finally:
            workdir, self._workdir = self._workdir, None
            self._prepared = False
            self._started_once = False
            _open_services.discard(self)
            try:
                shutil.rmtree(workdir)
            except OSError as exc:
                logger.warning("could not delete %s: %s", workdir, exc)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
