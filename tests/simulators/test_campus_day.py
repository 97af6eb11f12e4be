"""One simulated day of the two-building campus with the incidents, through everything.

It starts a Mosquitto per building and a central one,
the server on SQLite (seeded with the population), a gateway per building,
runs the example campus (firmware-config) for one simulated day at speed 1000
(about 90 s) with simulators/scenarios/incidents.yaml, then polls
GET /api/v1/alerts until every expected alert is there: each expected alert
raised, nothing unexpected critical.
"""

from __future__ import annotations

import io
import threading
from contextlib import ExitStack
from datetime import datetime, time, timedelta
from pathlib import Path

from simulators import session
from simulators.checker import AlertsClient, print_table, wait_for
from simulators.demo import (
    CONFIG_DIR,
    LOGINS,
    demo_simulation,
    start_services,
    wait_for_allowlists,
)
from simulators.scenarios import packaged_scenarios

SPEED = 1000.0


def test_one_day_with_incidents_raises_every_expected_alert(tmp_path: Path) -> None:
    campus = session.build_campus(CONFIG_DIR, 0, 0)
    start = datetime.combine(datetime.now(campus.tz).date(), time(6, 0), tzinfo=campus.tz)
    population = session.build_population(campus, 80, 3, start)
    lines: list[str] = []
    with ExitStack() as stack:
        services = start_services(stack, campus, population, tmp_path, say=lines.append)
        sim = demo_simulation(
            campus, population, services, tmp_path, start=start, speed=SPEED, seed=3
        )
        stack.callback(sim.stop)
        stop = threading.Event()
        checker = threading.Thread(target=wait_for_allowlists, args=(sim, stop), daemon=True)
        checker.start()
        result = session.run(
            sim,
            timedelta(days=1),
            scenarios=packaged_scenarios(),
            stop=stop,
            say=lines.append,
        )
        assert sim.loop.errors == 0
        assert result.expectations
        client = AlertsClient(services.server.url, LOGINS[0][0], LOGINS[0][1])
        outcomes, unexpected = wait_for(client, result.expectations, timeout_s=120)
        table = io.StringIO()
        ok = print_table(outcomes, unexpected, table)
        assert ok, table.getvalue()
