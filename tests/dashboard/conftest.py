"""Fixtures of the dashboard tests: a real seeded server, its broker, Debian's Chromium.

One server per test module (uvicorn in a child process, SQLite, MQTT ingest
from a private Mosquitto), fed through the broker with what devices would
send; one headless Chromium per session, driven by Playwright through
``executable_path`` (no browser download). Screenshots go to
``var/screenshots/dashboard/`` (printed at the end of the run).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from devservices import MosquittoBroker
from devservices.errors import DevServiceError
from devservices.process import find_binary
from protocol.ids import new_event_id
from protocol.messages import (
    AccessDecision,
    AccessReason,
    CredentialKind,
    Decision,
    DeviceEvent,
    Direction,
    DutyAction,
    DutyCheck,
    Heartbeat,
    RoomTelemetry,
)
from tests.dashboard.harness import (
    PASSWORD,
    REPO,
    DashboardServer,
    publish,
    seed_database,
    utcnow,
)

SCREENSHOT_DIR: Final = REPO / "var" / "screenshots" / "dashboard"
CHROMIUM_FALLBACKS: Final = (Path("/usr/bin/chromium"), Path("/usr/lib/chromium/chromium"))
#: How long the browser waits for something to appear (ms); generous for a loaded machine.
UI_TIMEOUT_MS: Final = 10_000
expect.set_options(timeout=UI_TIMEOUT_MS)


@dataclass
class Campus:
    """The running server, its broker, and what was sent through it."""

    server: DashboardServer
    broker: MosquittoBroker
    now: datetime
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def get(self, user: str, path: str, **params: str) -> httpx.Response:
        return httpx.get(
            f"{self.url}/api/v1{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.token(user)}"},
            timeout=10,
        )

    def token(self, user: str) -> str:
        if user not in self.tokens:
            response = httpx.post(
                f"{self.url}/api/v1/login/access-token",
                data={"username": user, "password": PASSWORD},
                timeout=10,
            )
            response.raise_for_status()
            self.tokens[user] = response.json()["access_token"]
        return self.tokens[user]


class _Ids:
    """Deterministic event ids and per-device sequence numbers."""

    def __init__(self) -> None:
        self.rng = random.Random(8)
        self.seqs: dict[str, int] = {}

    def event_id(self, at: datetime) -> str:
        return new_event_id(now_ms=int(at.timestamp() * 1000), entropy=self.rng.randbytes(10))

    def seq(self, device: str) -> int:
        self.seqs[device] = self.seqs.get(device, 0) + 1
        return self.seqs[device]


def _device_traffic(now: datetime) -> dict[str, list[DeviceEvent]]:
    """Per building, what the example campus's devices report."""
    ids = _Ids()

    def access(
        device: str, at: datetime, person: str | None, direction: Direction, granted: bool
    ) -> AccessDecision:
        return AccessDecision(
            id=ids.event_id(at),
            device=device,
            seq=ids.seq(device),
            ts=at,
            direction=direction,
            credential=CredentialKind.CARD,
            decision=Decision.GRANTED if granted else Decision.DENIED,
            reason=AccessReason.OK if granted else AccessReason.UNKNOWN_CARD,
            person=person,
        )

    def beat(device: str, outbox: int, offset_ms: int) -> Heartbeat:
        at = now - timedelta(seconds=5)
        return Heartbeat(
            id=ids.event_id(at),
            device=device,
            seq=ids.seq(device),
            ts=at,
            software_version="1.4.0",
            config_version="7",
            allowlist_version=3,
            outbox_depth=outbox,
            clock_offset_ms=offset_ms,
            uptime_s=3600.0,
        )

    def room(
        device: str, room_id: str, at: datetime, occupancy: int, power_w: float, temp_c: float
    ) -> RoomTelemetry:
        return RoomTelemetry(
            id=ids.event_id(at),
            device=device,
            seq=ids.seq(device),
            ts=at,
            room=room_id,
            occupancy=occupancy,
            power_w=power_w,
            temperature_c=temp_c,
            smoke=temp_c > 50,
        )

    def duty(at: datetime, action: DutyAction, room_id: str | None = None) -> DutyCheck:
        return DutyCheck(
            id=ids.event_id(at),
            device="b1-kiosk",
            seq=ids.seq("b1-kiosk"),
            ts=at,
            action=action,
            person="p-c001",
            room=room_id,
        )

    hours = [now - timedelta(hours=h) for h in (3, 2, 1)]
    minutes = [now - timedelta(minutes=m) for m in (30, 10, 2)]
    b1: list[DeviceEvent] = [
        access("b1-gate-in", hours[0], "p-s0001", Direction.ENTRY, True),
        access("b1-gate-out", hours[1], "p-s0001", Direction.EXIT, True),
        access("b1-gate-in", hours[2], "p-s0001", Direction.ENTRY, True),
        access("b1-gate-in", minutes[0], None, Direction.ENTRY, False),
        beat("b1-gate-in", 12, -40),
        beat("b1-gate-out", 0, 15),
        beat("b1-r101-sensor", 3, 250),
        room("b1-r101-sensor", "b1-r101", minutes[1], 1, 300.0, 23.5),
        room("b1-r101-sensor", "b1-r101", minutes[2], 2, 1200.0, 24.0),
        # Smoke, heat and power over the room's 1,500 W in 201.
        room("b1-r201-sensor", "b1-r201", minutes[2], 3, 1800.0, 52.0),
        # The counselor checks in 5 minutes into the shift (seeded 2 h ago), then visits 101.
        duty(now - timedelta(hours=2) + timedelta(minutes=5), DutyAction.CHECK_IN),
        duty(now - timedelta(seconds=5), DutyAction.ROOM_VISIT, "b1-r101"),
    ]
    b2: list[DeviceEvent] = [access("b2-gate-in", hours[2], "p-s0025", Direction.ENTRY, True)]
    return {"b1": b1, "b2": b2}


def _wait_for(what: str, check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"the server did not show {what} within {timeout_s:.0f} s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def campus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campus]:
    """A seeded server fed through MQTT: access events, heartbeats, room telemetry, duty."""
    workdir = tmp_path_factory.mktemp("dashboard")
    broker = MosquittoBroker(base_dir=workdir)
    try:
        broker.start()
    except DevServiceError as exc:
        pytest.fail(f"could not start mosquitto: {exc}", pytrace=False)
    now = utcnow()
    database_url = f"sqlite+pysqlite:///{workdir / 'dorm.db'}"
    seed_database(database_url, now=now)
    server = DashboardServer(workdir, database_url, broker=broker)
    try:
        server.start()
        running = Campus(server=server, broker=broker, now=now)
        _wait_for("its MQTT subscription", lambda: _ingest_is_live(running))
        for building, messages in _device_traffic(now).items():
            publish(broker, building, messages)
        _wait_for(
            "the published events",
            lambda: (
                len(running.get("admin", "/access-events").json()["items"]) == 5
                and len(running.get("admin", "/duty/checks").json()) == 2
            ),
        )
        week = {
            "since": (now - timedelta(days=7)).isoformat(),
            "until": (now + timedelta(minutes=1)).isoformat(),
        }
        _wait_for(
            "the gate-flow rollups",
            lambda: (
                sum(
                    r["entries"]
                    for r in running.get(
                        "admin", "/dashboard/gate-flows/hourly", building="b1", **week
                    ).json()
                )
                == 2
            ),
        )
        yield running
    finally:
        server.close()
        broker.close()


def _ingest_is_live(campus: Campus) -> bool:
    """Publish a heartbeat of a probe device; True once ingest counted it."""
    at = utcnow()
    probe = Heartbeat(
        id=new_event_id(),
        device="zz-probe",
        seq=int(at.timestamp() * 1000),
        ts=at,
        software_version="0",
        config_version="0",
        allowlist_version=0,
        outbox_depth=0,
        clock_offset_ms=0,
        uptime_s=0.0,
    )
    publish(campus.broker, "zz", [probe])
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if campus.get("security", "/ingest/stats").json()["received"] > 0:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless; a missing binary FAILS (tools/install-system-deps.sh)."""
    try:
        chromium = find_binary("chromium", CHROMIUM_FALLBACKS, package_hint="chromium")
    except DevServiceError as exc:
        pytest.fail(str(exc), pytrace=False)
    browser = playwright_driver.chromium.launch(executable_path=str(chromium), headless=True)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (own sessionStorage and localStorage) per test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def sign_in(page: Page, campus: Campus, user: str) -> None:
    page.goto(f"{campus.url}/")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#nav a")
    # The role's landing page is routed to after the nav appears: wait for it, or a
    # test's own page.goto may be overridden by that late redirect (seen under load).
    page.wait_for_selector("main h2")


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SCREENSHOT_DIR.is_dir() and any(SCREENSHOT_DIR.iterdir()):
        terminalreporter.write_line(f"dashboard screenshots: {SCREENSHOT_DIR}")
