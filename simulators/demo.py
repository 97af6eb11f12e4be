"""``dorm demo``: the whole system on one machine, on embedded defaults.

1. a Mosquitto per building and a central one (:mod:`devservices`);
2. the server's SQLite database, migrated and seeded with the example campus
   (firmware-config), the simulated population and duty roster, and one
   demo login per role; the token signing key the simulated phones share;
3. the server (``dorm server`` under uvicorn, a child process) on the central
   broker; the building allowlists published through it;
4. a gateway per building (:mod:`gateway.child`);
5. the two-building campus at ``--speed``, with the incidents scenario.

Progress is printed while it starts; then "ready", the server URL and the
logins. Ctrl-C (SIGINT) or SIGTERM stops everything in reverse order and
leaves nothing running; the child processes' ids are printed so a test can
check that.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Final

from devservices import MosquittoBroker
from devservices.ports import find_free_ports
from edge.mqtt_link import BrokerAddress
from gateway.child import GatewayProcess
from simulators import session
from simulators.campus import Campus
from simulators.population import Population
from simulators.runner import SimOptions, Simulation
from simulators.scenarios import packaged_scenarios

REPO: Final = Path(__file__).resolve().parents[1]
CONFIG_DIR: Final = REPO / "firmware-config"
CARD_KEY: Final = "demo-card-hash-key-0123456789abcdef"
SECRET_KEY: Final = "demo-secret-key-not-for-production-0123456789"
#: (user name, password, role); counselor and student logins belong to simulated people.
LOGINS: Final = (
    ("admin", "admin-demo", "admin"),
    ("security", "security-demo", "security"),
    ("counselor", "counselor-demo", "counselor"),
    ("student", "student-demo", "student"),
)

Say = Callable[[str], None]
#: Called with the central broker and the building brokers (by building id).
BrokersHook = Callable[[MosquittoBroker, Mapping[str, MosquittoBroker]], None]


class DemoError(RuntimeError):
    """The demo could not start (a service failed); the message says which."""


@dataclass(frozen=True)
class DemoOptions:
    speed: float = 60.0
    students: int = 80
    seed: int = 1
    port: int | None = None
    workdir: Path | None = None
    duration: timedelta | None = None
    server_timeout_s: float = 90.0


def _seed_database(url: str, config_dir: Path, population: Population, key_dir: Path) -> None:
    from server.api.schemas import UserIn
    from server.db.engine import make_engine, make_sessionmaker, upgrade_to_head
    from server.seed import import_people, import_roster, seed_site
    from server.services.people import create_user
    from server.tokenkeys import ensure_signing_key
    from siteconfig import load_config_dir

    engine = make_engine(url)
    try:
        upgrade_to_head(engine)
        with make_sessionmaker(engine)() as db, db.begin():
            seed_site(db, load_config_dir(config_dir))
            import_people(db, population.people_csv(), CARD_KEY.encode(), source="demo people")
            import_roster(db, population.roster_csv(), source="demo roster")
            owners = {
                "counselor": population.counselors[0].id,
                "student": population.students[0].id,
            }
            for username, password, role in LOGINS:
                create_user(
                    db,
                    UserIn(
                        username=username,
                        password=password,
                        role=role,  # type: ignore[arg-type]
                        person_id=owners.get(role),
                    ),
                )
    finally:
        engine.dispose()
    ensure_signing_key(key_dir)


class ServerProcess:
    """``dorm server`` as a child process with the demo's settings."""

    def __init__(self, port: int, env: dict[str, str], log_path: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli.main",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )

    def stop(self, timeout_s: float = 20.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


def login(url: str, username: str, password: str, timeout_s: float = 5.0) -> str:
    body = urllib.parse.urlencode({"username": username, "password": password}).encode()
    request = urllib.request.Request(
        f"{url}/api/v1/login/access-token",
        body,
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as answer:
        return str(json.loads(answer.read())["access_token"])


#: Publishing an allowlist builds and signs it: with 50 gateways starting on two
#: cores that has taken longer than 10 s.
POST_TIMEOUT_S = 60.0


def _post(url: str, token: str) -> None:
    request = urllib.request.Request(url, b"", {"Authorization": f"Bearer {token}"}, method="POST")
    with urllib.request.urlopen(request, timeout=POST_TIMEOUT_S) as answer:
        answer.read()


def _wait_for_server(server: ServerProcess, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise DemoError(f"the server exited with code {server.process.returncode}")
        try:
            return login(server.url, LOGINS[0][0], LOGINS[0][1])
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise DemoError(f"the server did not answer within {timeout_s:.0f} s")


@contextmanager
def _broker(say: Say, name: str) -> Iterator[MosquittoBroker]:
    broker = MosquittoBroker()
    broker.start()
    say(f"  {name} Mosquitto on {broker.host}:{broker.port} (pid {broker.pid})")
    try:
        yield broker
    finally:
        broker.close()


@dataclass
class Services:
    """What :func:`start_services` started: brokers, server, gateways (and their pids)."""

    central: MosquittoBroker
    brokers: dict[str, MosquittoBroker]
    server: ServerProcess
    token: str
    key_dir: Path
    pids: list[int]

    def building_addresses(self, campus: Campus) -> tuple[BrokerAddress, ...]:
        return tuple(
            BrokerAddress(self.brokers[b.id].host, self.brokers[b.id].port)
            for b in campus.buildings
        )


def start_services(
    stack: ExitStack,
    campus: Campus,
    population: Population,
    workdir: Path,
    *,
    port: int | None = None,
    server_timeout_s: float = 90.0,
    config_dir: Path = CONFIG_DIR,
    say: Say = print,
    server_env: Mapping[str, str] | None = None,
    brokers_started: BrokersHook | None = None,
) -> Services:
    """Brokers, seeded database, server, gateways; each stopped by ``stack`` on exit.

    ``server_env`` adds to (or overrides) the server's ``DORM_*`` settings, e.g. a
    time-series database; ``brokers_started`` is called with the central and the
    building brokers before anything connects to them (a test's capture).
    """
    say(f"[1/5] brokers (work directory {workdir})")
    central = stack.enter_context(_broker(say, "central"))
    brokers = {b.id: stack.enter_context(_broker(say, b.id)) for b in campus.buildings}
    if brokers_started is not None:
        brokers_started(central, brokers)
    pids = [b.pid for b in (central, *brokers.values()) if b.pid is not None]
    say("[2/5] database: migrate, seed the campus, people, roster and demo logins")
    key_dir = workdir / "token-keys"
    db_url = f"sqlite:///{workdir / 'dorm.db'}"
    _seed_database(db_url, config_dir, population, key_dir)
    port = port or find_free_ports(1)[0]
    env = {
        "DORM_ENVIRONMENT": "development",
        "DORM_DATABASE_URL": db_url,
        "DORM_MQTT_HOST": central.host,
        "DORM_MQTT_PORT": str(central.port),
        "DORM_TOKEN_KEY_DIR": str(key_dir),
        "DORM_CARD_HASH_KEY": CARD_KEY,
        "DORM_SECRET_KEY": SECRET_KEY,
        # Simulated event time runs faster than the wall: the rules follow it (rules.live).
        "DORM_RULES_CLOCK": "events",
        **(server_env or {}),
    }
    say(f"[3/5] server on http://127.0.0.1:{port}")
    server = ServerProcess(port, env, workdir / "server.log")
    stack.callback(server.stop)
    pids.append(server.process.pid)
    token = _wait_for_server(server, server_timeout_s)
    say("[4/5] gateways")
    for b in campus.buildings:
        gateway = GatewayProcess(
            brokers[b.id],
            central,
            site=config_dir / "site.yaml",
            state_dir=workdir / f"gateway-{b.id}",
            log_path=workdir / f"gateway-{b.id}.log",
            building=b.id,
        ).start()
        stack.callback(gateway.stop)
        if gateway.pid is not None:
            pids.append(gateway.pid)
    # Gateways subscribe first; then the allowlists go out (retained as well).
    time.sleep(1.0)
    for b in campus.buildings:
        _post(f"{server.url}/api/v1/allowlists/{b.id}/publish", token)
    return Services(central, brokers, server, token, key_dir, pids)


def demo_simulation(
    campus: Campus,
    population: Population,
    services: Services,
    workdir: Path,
    *,
    start: datetime,
    speed: float | None,
    seed: int,
) -> Simulation:
    from protocol.keys import load_signing_key

    return Simulation(
        campus,
        population,
        SimOptions(
            brokers=services.building_addresses(campus),
            state_dir=workdir / "sim",
            card_key=CARD_KEY.encode(),
            signing_key=load_signing_key(services.key_dir),
            start=start,
            speed=speed,
            seed=seed,
            provision_allowlists=False,
            client_prefix="demo",
        ),
    )


def run(options: DemoOptions, stop: threading.Event, say: Say = print) -> int:
    """Start everything, say "ready", run until ``stop`` (or the duration), stop everything."""
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="dorm-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    campus = session.build_campus(CONFIG_DIR, 0, 0)
    start = datetime.combine(datetime.now(campus.tz).date(), dtime(6, 0), tzinfo=campus.tz)
    population = session.build_population(campus, options.students, options.seed, start)
    with ExitStack() as stack:
        services = start_services(
            stack,
            campus,
            population,
            workdir,
            port=options.port,
            server_timeout_s=options.server_timeout_s,
            say=say,
        )
        say(f"[5/5] simulated campus at speed {options.speed:g}")
        sim = demo_simulation(
            campus,
            population,
            services,
            workdir,
            start=start,
            speed=options.speed,
            seed=options.seed,
        )
        stack.callback(sim.stop)
        runner = threading.Thread(
            target=session.run,
            args=(sim, options.duration or timedelta(days=7)),
            kwargs={
                "scenarios": packaged_scenarios(),
                "stop": stop,
                "say": lambda line: say(f"  {line}"),
                "progress_every_s": 30.0,
            },
            name="demo-simulation",
            daemon=True,
        )
        runner.start()
        stack.callback(runner.join, 30.0)
        stack.callback(stop.set)  # runs first: the simulation stops, then is joined
        wait_for_allowlists(sim, stop)
        server = services.server
        say(f"processes: {' '.join(str(p) for p in services.pids)}")
        say(f"ready: dashboard and API at {server.url}/ (API docs at {server.url}/docs)")
        for username, password, role in LOGINS:
            say(f"  login {username:10} password {password:15} ({role})")
        say("Ctrl-C stops everything.")
        while runner.is_alive() and not stop.is_set():
            stop.wait(0.5)
        stop.set()
        say("stopping: simulation, gateways, server, brokers")
    say("stopped; nothing left running")
    return 0


def wait_for_allowlists(sim: Simulation, stop: threading.Event, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not stop.is_set():
        if all(g.store.version >= 1 for rig in sim.rigs.values() for g in rig.gates.values()):
            return
        time.sleep(0.2)
    raise DemoError("the gates did not receive their allowlists through the gateways")
