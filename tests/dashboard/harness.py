"""A real dashboard server for browser tests and the dashboard benchmark.

``seed_database`` fills a SQLite (or PostgreSQL) database with the example
campus, people, rosters (one shift covering now in b1, none in b2) and one
login per role; ``extra_buildings`` adds generated buildings (the benchmark's
50-building campus). ``DashboardServer`` runs ``uvicorn server.app:create_app``
in a child process on a free port, configured through ``DORM_*`` variables.
``publish`` sends contract messages through the broker, as devices would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from sqlalchemy.orm import Session

from devservices import MosquittoBroker
from devservices.mqttprobe import MqttProbe
from devservices.ports import find_free_port
from devservices.process import log_tail
from protocol.codec import family_of
from protocol.messages import DeviceEvent, encode
from protocol.topics import device_topic
from server.db import Building, Device, DutyShift, Floor, Room, UserAccount
from server.db.engine import make_engine, make_sessionmaker, upgrade_to_head
from server.security import hash_password
from server.seed import import_people, import_roster, seed_site
from siteconfig import load_config_dir

REPO: Final = Path(__file__).resolve().parents[2]
EXAMPLES: Final = REPO / "server" / "examples"
PASSWORD: Final = "correct horse battery"
SECRET_KEY: Final = "dashboard-test-secret-key-0123456789-abcdef"
CARD_HASH_KEY: Final = "dashboard-card-hash-key-0123"

#: Login name → (role, person): a student in b1, one in b2, b1's counselor, a guard, an admin.
USERS: Final = {
    "student": ("student", "p-s0001"),
    "student-b2": ("student", "p-s0025"),
    "counselor": ("counselor", "p-c001"),
    "security": ("security", "p-g001"),
    "admin": ("admin", None),
}


class HarnessError(RuntimeError):
    """The dashboard server did not start or answer."""


def seed_database(database_url: str, *, now: datetime, extra_buildings: int = 0) -> None:
    """Example campus + people + logins; a b1 shift covering ``now``; generated buildings."""
    engine = make_engine(database_url)
    try:
        upgrade_to_head(engine)
        password_hash = hash_password(PASSWORD)
        with make_sessionmaker(engine)() as session, session.begin():
            seed_site(session, load_config_dir(REPO / "firmware-config"))
            import_people(session, (EXAMPLES / "people.csv").read_text(), CARD_HASH_KEY.encode())
            import_roster(session, (EXAMPLES / "roster.csv").read_text())
            session.add(
                DutyShift(
                    building_id="b1",
                    person_id="p-c001",
                    starts_at=now - timedelta(hours=2),
                    ends_at=now + timedelta(hours=22),
                )
            )
            session.add_all(
                UserAccount(username=name, password_hash=password_hash, role=role, person_id=person)
                for name, (role, person) in USERS.items()
            )
            for n in range(3, 3 + extra_buildings):
                _add_building(session, n)
    finally:
        engine.dispose()


def _add_building(session: Session, number: int) -> None:
    """A generated building b<n>: 6 floors of 8 dorm rooms, two gates, a kiosk."""
    add, flush = session.add, session.flush
    bid = f"b{number}"
    add(Building(id=bid, campus_id="north", name=f"Building {number}", gateway_id=f"{bid}-gw"))
    flush()
    for level in range(1, 7):
        floor = Floor(building_id=bid, level=level, name=f"{level}F")
        add(floor)
        flush()
        for r in range(1, 9):
            add(
                Room(
                    id=f"{bid}-r{level}{r:02d}",
                    building_id=bid,
                    floor_id=floor.id,
                    number=f"{level}{r:02d}",
                    kind="dorm",
                    capacity=4,
                    max_power_w=1500.0,
                )
            )
    for kind, device in (("gate", "gate-in"), ("gate", "gate-out"), ("kiosk", "kiosk")):
        add(Device(id=f"{bid}-{device}", building_id=bid, kind=kind, place="main entrance"))
    flush()


class DashboardServer:
    """``uvicorn server.app:create_app`` on a free port, stopped by ``close``."""

    def __init__(
        self,
        workdir: Path,
        database_url: str,
        *,
        broker: MosquittoBroker | None = None,
        rollup_interval_s: float = 0.5,
    ) -> None:
        self.workdir = workdir
        self.port = find_free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "server.log"
        env = {
            **os.environ,
            "DORM_ENVIRONMENT": "test",
            "DORM_DATABASE_URL": database_url,
            "DORM_SECRET_KEY": SECRET_KEY,
            "DORM_CARD_HASH_KEY": CARD_HASH_KEY,
            "DORM_TOKEN_KEY_DIR": str(workdir / "keys"),
            "DORM_MQTT_ENABLED": "true" if broker is not None else "false",
            "DORM_ROLLUP_INTERVAL_S": str(rollup_interval_s),
        }
        if broker is not None:
            env["DORM_MQTT_HOST"] = broker.host
            env["DORM_MQTT_PORT"] = str(broker.port)
        self._env = env
        self._popen: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30.0) -> Self:
        argv: Sequence[str] = [
            sys.executable,
            "-m",
            "uvicorn",
            "server.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        with self.log_path.open("ab") as log:
            self._popen = subprocess.Popen(
                argv,
                cwd=REPO,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while not self._answers():
            if self._popen.poll() is not None:
                raise HarnessError(f"the server exited:\n{log_tail(self.log_path)}")
            if time.monotonic() > deadline:
                self.close()
                raise HarnessError(f"the server did not answer:\n{log_tail(self.log_path)}")
            time.sleep(0.1)
        return self

    @property
    def pid(self) -> int:
        """The server process's id (benchmarks read its CPU time)."""
        if self._popen is None:
            raise HarnessError("the server is not started")
        return self._popen.pid

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/openapi.json", timeout=1):
                return True
        except OSError:
            return False

    def close(self) -> None:
        popen = self._popen
        if popen is None or popen.poll() is not None:
            return
        popen.terminate()
        try:
            popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def publish(broker: MosquittoBroker, building: str, messages: Sequence[DeviceEvent]) -> None:
    """Send ``messages`` QoS 1 as their devices would, and wait for the broker's PUBACKs."""
    with MqttProbe(broker.host, broker.port) as probe:
        probe.connect()
        infos = [
            probe.publish(device_topic(building, m.device, family_of(m)), encode(m), qos=1)
            for m in messages
        ]
        probe.wait_published(infos, timeout_s=10)


def utcnow() -> datetime:
    return datetime.now(UTC)
