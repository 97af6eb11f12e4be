"""The dashboard in Debian's headless Chromium: overview weight and load time, alert latency.

- **Overview with 50 buildings**: a real server (uvicorn, SQLite) seeded with
  the example campus plus 48 generated buildings (6 floors × 8 rooms, two
  gates and a kiosk each). Each run opens the overview in a fresh browser
  context (empty cache) with a signed-in token and measures the bytes
  transferred (document, modules, stylesheet, catalogue, API answers:
  ``transferSize`` of every resource) and the time from navigation start to
  the 50 building cards rendered.
- **Alert appearance latency** (needs ``/api/v1/alerts/stream``, i.e. the
  alerts API merged): 20 forced-door events are published one after another
  through Mosquitto while the alerts page is open; for each, the time from
  publishing to the alert's row appearing in the page, and from the alert's
  ``opened_at`` to the row. Before that merge this figure is reported as not
  measurable and the rest still runs.

    python -m bench.dashboard [--runs 7] [--alerts 20] [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import httpx
from playwright.sync_api import Browser, sync_playwright

from bench.common import Figure, Report
from devservices import MosquittoBroker
from protocol.ids import new_event_id
from protocol.messages import DoorEvent, DoorEventKind
from tests.dashboard.harness import PASSWORD, DashboardServer, publish, seed_database

BUILDINGS: Final = 50
CHROMIUM: Final = shutil.which("chromium") or "/usr/bin/chromium"

# Recorded in the page: when the overview has its cards, when alert rows appear.
_OBSERVER: Final = """
window.__bench = {overviewAt: null, seen: {}};
new MutationObserver(() => {
  const grid = document.getElementById('overview-grid');
  if (grid && grid.dataset.loaded && window.__bench.overviewAt === null) {
    window.__bench.overviewAt = performance.now();
  }
  for (const li of document.querySelectorAll('#alert-list li.alert')) {
    if (!(li.dataset.id in window.__bench.seen)) window.__bench.seen[li.dataset.id] = Date.now();
  }
}).observe(document, {subtree: true, childList: true, attributes: true});
"""


def _token(url: str, user: str) -> str:
    response = httpx.post(
        f"{url}/api/v1/login/access-token",
        data={"username": user, "password": PASSWORD},
        timeout=10,
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def overview_runs(browser: Browser, url: str, runs: int) -> tuple[list[float], list[float]]:
    """(kilobytes transferred, milliseconds to the rendered overview) per run."""
    token = _token(url, "security")
    weights, times = [], []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(f"sessionStorage.setItem('dorm.token', {token!r});")
        context.add_init_script(_OBSERVER)
        page = context.new_page()
        page.goto(f"{url}/#/overview")
        page.wait_for_function("() => window.__bench.overviewAt !== null", timeout=30_000)
        cards = page.locator("#overview-grid article").count()
        if cards != BUILDINGS:
            raise RuntimeError(f"the overview shows {cards} buildings, not {BUILDINGS}")
        page.wait_for_load_state("networkidle")
        weight = page.evaluate(
            """() => performance.getEntriesByType('navigation')
                .concat(performance.getEntriesByType('resource'))
                .filter(e => !e.name.includes('/alerts'))
                .reduce((sum, e) => sum + e.transferSize, 0)"""
        )
        times.append(float(page.evaluate("window.__bench.overviewAt")))
        weights.append(weight / 1024)
        context.close()
    return weights, times


def alert_latencies(
    browser: Browser, url: str, broker: MosquittoBroker, count: int
) -> tuple[list[float], list[float]] | None:
    """(publish → row, opened_at → row) in ms per alert; None without the alerts API."""
    token = _token(url, "security")
    headers = {"Authorization": f"Bearer {token}"}
    if httpx.get(f"{url}/api/v1/alerts", headers=headers, timeout=10).status_code == 404:
        return None
    context = browser.new_context()
    context.add_init_script(f"sessionStorage.setItem('dorm.token', {token!r});")
    context.add_init_script(_OBSERVER)
    page = context.new_page()
    page.goto(f"{url}/#/alerts")
    page.wait_for_selector('#stream-state[data-state="open"]', timeout=30_000)
    from_publish, from_open = [], []
    for n in range(count):
        seen_before = set(page.evaluate("Object.keys(window.__bench.seen)"))
        at = datetime.now(UTC)
        door = f"lat{n:02d}{int(time.time()) % 10_000:04d}"
        event = DoorEvent(
            id=new_event_id(),
            device="b1-gate-in",
            seq=int(time.time() * 1000),
            ts=at,
            kind=DoorEventKind.FORCED,
            door=door,
        )
        sent_ms = time.time() * 1000
        publish(broker, "b1", [event])
        page.wait_for_function(
            "before => Object.keys(window.__bench.seen).some(id => !before.includes(id))",
            arg=sorted(seen_before),
            timeout=30_000,
        )
        seen: dict[str, float] = page.evaluate("window.__bench.seen")
        [new_id] = [i for i in seen if i not in seen_before]
        alert = httpx.get(f"{url}/api/v1/alerts/{new_id}", headers=headers, timeout=10).json()
        opened_ms = datetime.fromisoformat(alert["opened_at"]).timestamp() * 1000
        from_publish.append(seen[new_id] - sent_ms)
        from_open.append(seen[new_id] - opened_ms)
    context.close()
    return from_publish, from_open


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--alerts", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="3 runs, 5 alerts")
    args = parser.parse_args(argv)
    runs, alerts = (3, 5) if args.quick else (args.runs, args.alerts)
    report = Report("dashboard")
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        workdir = Path(tmp)
        database_url = f"sqlite+pysqlite:///{workdir / 'dorm.db'}"
        seed_database(database_url, now=datetime.now(UTC), extra_buildings=BUILDINGS - 2)
        broker = MosquittoBroker(base_dir=workdir).start()
        try:
            with (
                DashboardServer(workdir, database_url, broker=broker).start() as server,
                sync_playwright() as driver,
            ):
                browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True)
                try:
                    weights, times = overview_runs(browser, server.url, runs)
                    latencies = alert_latencies(browser, server.url, broker, alerts)
                finally:
                    browser.close()
        finally:
            broker.close()
    report.figures += [
        Figure(f"overview with {BUILDINGS} buildings: page weight", "KiB", weights),
        Figure(f"overview with {BUILDINGS} buildings: load to rendered", "ms", times),
    ]
    if latencies is None:
        print("alert appearance latency: NOT MEASURED - /api/v1/alerts is not in this build yet")
    else:
        report.figures += [
            Figure("alert: forced door published → row in the page", "ms", latencies[0]),
            Figure("alert: opened_at → row in the page", "ms", latencies[1]),
        ]
    report.print()
    print(f"load average (1, 5, 15 min): {os.getloadavg()}")
    report.save()
    return report


if __name__ == "__main__":
    main()
