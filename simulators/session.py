"""One simulation run from start to end: what ``dorm simulate`` and ``dorm demo`` share.

Builds the campus and population, starts the simulation, runs it on
simulated time while printing progress, injects scenarios, and stops it
cleanly (flushing the outboxes) when the duration is over or ``stop`` is set.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from simulators import campus as campus_mod
from simulators import population as population_mod
from simulators.campus import Campus
from simulators.population import Population
from simulators.runner import Simulation
from simulators.scenarios import Expectation, load_scenario, schedule

log = logging.getLogger(__name__)

Say = Callable[[str], None]


def parse_broker(text: str) -> tuple[str, int]:
    """``host:port`` (or ``host``, port 1883)."""
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "1883")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port, got {text!r}")
    return host, int(port)


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``24h``, ``7d`` or plain seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip()
    unit = units.get(text[-1:])
    number = text[:-1] if unit is not None else text
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"expected a duration such as 90s, 30m, 24h, 7d; got {text!r}") from None
    if value <= 0:
        raise ValueError("the duration must be positive")
    return timedelta(seconds=value * (unit or 1))


def build_campus(
    config_dir: Path | None,
    buildings: int,
    rooms: int,
    *,
    only: Sequence[str] = (),
    configured_sensors_only: bool = False,
) -> Campus:
    if config_dir is not None:
        campus = campus_mod.from_config_dir(
            config_dir, configured_sensors_only=configured_sensors_only
        )
    else:
        campus = campus_mod.generate(buildings, rooms)
    if only:
        try:
            campus = campus_mod.only(campus, list(only))
        except KeyError as exc:
            raise ValueError(f"no building {exc} on this campus") from None
    return campus


def build_population(campus: Campus, students: int, seed: int, start: datetime) -> Population:
    return population_mod.generate(campus, students, seed=seed, start=start.date(), weeks=2)


def export_seed(campus: Campus, population: Population, directory: Path) -> list[Path]:
    """A config directory (site.yaml, devices/), people.csv and roster.csv for
    ``python -m server.seed`` and the gateways."""
    campus.write_config_dir(directory)
    site = directory / "site.yaml"
    people = directory / "people.csv"
    people.write_text(population.people_csv(), encoding="utf-8")
    roster = directory / "roster.csv"
    roster.write_text(population.roster_csv(), encoding="utf-8")
    return [site, people, roster]


@dataclass
class RunResult:
    sim_elapsed_s: float
    wall_s: float
    cpu_s: float
    published: int
    expectations: list[Expectation] = field(default_factory=list)


def run(
    sim: Simulation,
    duration: timedelta,
    *,
    scenarios: Sequence[Path] = (),
    stop: threading.Event | None = None,
    say: Say = print,
    progress_every_s: float = 10.0,
    connect_timeout_s: float = 30.0,
) -> RunResult:
    """Start ``sim``, run it for ``duration`` of simulated time, stop it."""
    stop = stop or threading.Event()
    expectations: list[Expectation] = []
    for path in scenarios:
        expectations += schedule(sim, load_scenario(path, sim.campus))
    wall0, cpu0 = time.monotonic(), time.process_time()
    sim.start()
    if not sim.wait_connected(connect_timeout_s):
        say("warning: not every building is connected to its broker yet; events wait in outboxes")
    elif not sim.options.provision_allowlists and not allowlists_arrived(sim, connect_timeout_s):
        say("warning: not every gate has an allowlist from the server yet; scans are refused")
    end = sim.options.start + duration
    try:
        while not stop.is_set() and sim.loop.now() < end:
            step = sim.loop.now() + timedelta(seconds=progress_every_s * (sim.options.speed or 60))
            sim.run_until(min(step, end), stop)
            say(
                f"{sim.loop.now().astimezone(sim.campus.tz):%a %H:%M:%S}  "
                f"events {sim.counts['events']}  published {_published(sim)}  "
                f"outbox {sim.outbox_depth}  "
                f"passes {sim.counts['GatePass']}  denied {sim.counts['denied']}"
            )
    finally:
        sim.flush(10.0)
        published = _published(sim)
        sim.stop()
    return RunResult(
        sim_elapsed_s=sim.loop.elapsed_s(),
        wall_s=time.monotonic() - wall0,
        cpu_s=time.process_time() - cpu0,
        published=published,
        expectations=expectations,
    )


def allowlists_arrived(sim: Simulation, timeout_s: float) -> bool:
    """Wait for the server's allowlists (through the gateways) before people arrive."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        sim.loop.drain()
        agents = [a for rig in sim.rigs.values() for a in (*rig.gates.values(), rig.kiosk)]
        if all(agent.allowlist_version >= 1 for agent in agents):
            return True
        time.sleep(0.1)
    return False


def _published(sim: Simulation) -> int:
    return sum(rig.link.publisher.stats.acknowledged for rig in sim.rigs.values())
