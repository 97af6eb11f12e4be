"""A throwaway PostgreSQL cluster made with initdb.

initdb and postgres refuse to run as root. When this process is root, the
cluster's temp dir is handed to the ``postgres`` account and initdb / pg_ctl
run as that account through ``runuser``; otherwise they run directly.
Durability across an OS crash is traded for speed (fsync off); a committed
row still survives a crash of the server process. For tests only.
"""

from __future__ import annotations

import glob
import logging
import os
import pwd
import re
import shlex
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from devservices.base import DevService
from devservices.errors import (
    BinaryNotFoundError,
    DevServiceError,
    PortInUseError,
    ServiceCommandError,
    ServiceStartError,
)
from devservices.ports import LOCALHOST, find_free_port, port_accepts
from devservices.process import (
    log_says_address_in_use,
    pid_alive,
    run_command,
    wait_pid_gone,
    wait_until_ready,
    with_log_tail,
)

logger = logging.getLogger(__name__)

DEBIAN_BIN_GLOB: Final = "/usr/lib/postgresql/*/bin"
SUPERUSER: Final = "postgres"
DEFAULT_DATABASE: Final = "dorm_test"
RUNAS_ACCOUNT: Final = "postgres"
_DBNAME_RE: Final = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_REQUIRED_TOOLS: Final = ("initdb", "pg_ctl", "createdb")

#: Settings appended to postgresql.conf: local only, and fast. fsync and
#: full-page writes only matter if the machine crashes; synchronous_commit stays
#: on, so a committed row survives a crash of the server process (kill()).
_TEST_SETTINGS: Final = """
# devservices: a throwaway test cluster, local only, not durable across an OS crash.
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
fsync = off
full_page_writes = off
max_connections = 200
"""


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    version = bin_dir.parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def find_postgres_bin_dir(search_glob: str = DEBIAN_BIN_GLOB) -> Path:
    """The directory holding initdb, pg_ctl and createdb of one PostgreSQL version.

    ``pg_ctl`` on PATH wins; otherwise the newest match of ``search_glob``
    (``/usr/lib/postgresql/*/bin``).
    (Debian's /usr/bin holds only version-switching wrappers, without initdb.)
    """
    candidates: list[Path] = []
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if entry and (Path(entry) / "pg_ctl").is_file() and (Path(entry) / "initdb").is_file():
            candidates.append(Path(entry))
            break
    debian_dirs = [Path(found) for found in glob.glob(search_glob)]
    candidates += sorted(debian_dirs, key=_version_key, reverse=True)
    for bin_dir in candidates:
        if all(os.access(bin_dir / tool, os.X_OK) for tool in _REQUIRED_TOOLS):
            return bin_dir
    raise BinaryNotFoundError(
        "PostgreSQL server binaries (initdb, pg_ctl, createdb) not found on PATH nor in "
        f"{search_glob}; install the Debian package 'postgresql'"
    )


def check_database_name(name: str) -> str:
    if not _DBNAME_RE.match(name):
        raise ValueError(f"database name must match {_DBNAME_RE.pattern}: {name!r}")
    return name


class PostgresCluster(DevService):
    """A private PostgreSQL on 127.0.0.1 with trust authentication for user ``postgres``.

    ``url`` is a SQLAlchemy URL for psycopg 3 to the database made at first start;
    :meth:`create_database` makes more (one per test keeps tests apart).
    """

    service_name = "postgres"

    def __init__(
        self,
        database: str = DEFAULT_DATABASE,
        *,
        port: int | None = None,
        bin_dir: Path | None = None,
        base_dir: Path | None = None,
        start_timeout_s: float = 60.0,
        stop_timeout_s: float = 20.0,
    ) -> None:
        super().__init__(
            start_timeout_s=start_timeout_s,
            stop_timeout_s=stop_timeout_s,
            base_dir=base_dir,
            ports_given=port is not None,
        )
        self.database = check_database_name(database)
        self._port = port
        self._bin_dir = bin_dir
        self._as_root = os.geteuid() == 0

    @property
    def url(self) -> str:
        """SQLAlchemy URL (psycopg 3) of :attr:`database`."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        """SQLAlchemy URL (psycopg 3) of another database of this cluster."""
        return f"postgresql+psycopg://{SUPERUSER}@{LOCALHOST}:{self.port}/{database}"

    @property
    def dsn(self) -> str:
        """libpq connection string of :attr:`database` (for psycopg.connect)."""
        return f"postgresql://{SUPERUSER}@{LOCALHOST}:{self.port}/{self.database}"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def running(self) -> bool:
        pid = self._postmaster_pid()
        return pid is not None and pid_alive(pid)

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its SQLAlchemy URL."""
        check_database_name(name)
        createdb = self._tool("createdb")
        run_command(
            [str(createdb), "-h", LOCALHOST, "-p", str(self.port), "-U", SUPERUSER, name],
            timeout_s=30,
        )
        return self.url_for(name)

    # -- DevService ----------------------------------------------------------------

    def _tool(self, name: str) -> Path:
        if self._bin_dir is None:
            self._bin_dir = find_postgres_bin_dir()
        return self._bin_dir / name

    def _as_cluster_owner(self, argv: Sequence[str]) -> list[str]:
        if self._as_root:
            return ["runuser", "-u", RUNAS_ACCOUNT, "--", *argv]
        return list(argv)

    def _choose_ports(self) -> None:
        self._port = find_free_port()

    def _prepare(self) -> None:
        workdir = self.workdir
        socket_dir = workdir / "sock"
        socket_dir.mkdir()
        if self._as_root:
            try:
                account = pwd.getpwnam(RUNAS_ACCOUNT)
            except KeyError as exc:
                raise DevServiceError(
                    f"running as root, but there is no {RUNAS_ACCOUNT!r} account to run "
                    "initdb as; install the Debian package 'postgresql' or run as non-root"
                ) from exc
            for path in (workdir, socket_dir):
                os.chown(path, account.pw_uid, account.pw_gid)
        initdb = self._tool("initdb")
        run_command(
            self._as_cluster_owner(
                [
                    str(initdb),
                    "-D",
                    str(self.data_dir),
                    "--auth=trust",
                    "-U",
                    SUPERUSER,
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ]
            ),
            timeout_s=self.start_timeout_s,
        )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(_TEST_SETTINGS.format(socket_dir=socket_dir))

    def _launch(self) -> None:
        self._remove_stale_pid_file()
        pg_ctl = self._tool("pg_ctl")
        try:
            run_command(
                self._as_cluster_owner(
                    [
                        str(pg_ctl),
                        "-D",
                        str(self.data_dir),
                        "-l",
                        str(self.log_path),
                        "-o",
                        shlex.join(["-p", str(self.port)]),
                        "-w",
                        "-t",
                        str(round(self.start_timeout_s)),
                        "start",
                    ]
                ),
                timeout_s=self.start_timeout_s + 10,
            )
        except ServiceCommandError as exc:
            message = f"postgres did not start: {exc}"
            if log_says_address_in_use(self.log_path):
                raise PortInUseError(with_log_tail(message, self.log_path)) from exc
            raise ServiceStartError(with_log_tail(message, self.log_path)) from exc

    def _wait_ready(self) -> None:
        # pg_ctl -w has waited for the server; this checks the TCP listener too.
        wait_until_ready(
            "postgres",
            lambda: port_accepts(LOCALHOST, self.port),
            timeout_s=self.start_timeout_s,
            log_path=self.log_path,
            alive=lambda: self.running,
        )

    def _after_first_start(self) -> None:
        self.create_database(self.database)

    def _postmaster_pid(self) -> int | None:
        if self._workdir is None:
            return None
        try:
            first_line = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        except FileNotFoundError:
            return None
        return int(first_line) if first_line.strip().isdigit() else None

    def _shutdown(self) -> None:
        if not self.running:
            return
        pg_ctl = self._tool("pg_ctl")
        stop = [str(pg_ctl), "-D", str(self.data_dir), "-w", "-t", str(round(self.stop_timeout_s))]
        try:
            run_command(
                self._as_cluster_owner([*stop, "-m", "fast", "stop"]),
                timeout_s=self.stop_timeout_s + 10,
            )
        except ServiceCommandError as exc:
            logger.warning("postgres did not stop in fast mode (%s); killing it", exc)
            self._kill()

    def _kill(self) -> None:
        pid = self._postmaster_pid()
        if pid is None or not pid_alive(pid):
            return
        # The postmaster leads its own process group; SIGKILL the backends with it
        # so that none holds the shared memory a restart needs.
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        except PermissionError:
            os.kill(pid, signal.SIGKILL)
        if not wait_pid_gone(pid, self.stop_timeout_s):
            raise DevServiceError(f"postgres postmaster {pid} survived SIGKILL")
        self._remove_stale_pid_file()

    def _remove_stale_pid_file(self) -> None:
        """Delete the lock files (postmaster.pid, socket locks) of a killed server.

        postgres itself ignores a lock file whose process is gone, but takes a
        not yet reaped zombie for a live server and refuses to start.
        """
        pid = self._postmaster_pid()
        if pid is None or pid_alive(pid):
            return
        logger.info("removing lock files of dead postmaster %d", pid)
        for leftover in (self.workdir / "sock").glob(".s.PGSQL.*"):
            leftover.unlink(missing_ok=True)
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
