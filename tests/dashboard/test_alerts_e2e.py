"""End-to-end alerts in the browser (the server's rules, alert service and SSE).

It uses the fixtures of ``tests/dashboard/conftest.py`` (a real server fed
through MQTT). The first alert is raised the way the field raises it: the
real b1 entry-gate agent, on gpiozero MockFactory pins, sees its door contact
open with no grant and reports the door forced.

What it checks (issue 8's "done when"): a forced door appears in the open
page without reloading, is acknowledged and resolved with a note and its
state changes; a critical alert gives the visual cue; the list is operable
with the keyboard alone; a counselor sees only their own buildings' alerts;
a student gets no alerts at all.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory
from playwright.sync_api import Locator, Page, expect

from edge.runtime import CARD_KEY_FILE, EdgeOptions, EdgeRuntime, build
from protocol.ids import new_event_id
from protocol.messages import DoorEvent, DoorEventKind
from tests.dashboard.conftest import Campus, screenshot, sign_in
from tests.dashboard.harness import publish

pytestmark = pytest.mark.services

#: Raising an alert goes through ingest and the rules; allow for batching and timers.
ALERT_TIMEOUT_MS = 15_000


def force_door(campus: Campus, building: str, gate: str, door: str) -> None:
    at = datetime.now(UTC)
    event = DoorEvent(
        id=new_event_id(),
        device=gate,
        seq=int(time.time() * 1000),
        ts=at,
        kind=DoorEventKind.FORCED,
        door=door,
    )
    publish(campus.broker, building, [event])


REPO = Path(__file__).resolve().parents[2]
#: The example entry gate of b1 (firmware-config); its door contact is on GPIO 27
#: (pulled up: low = contact closed = door shut).
GATE_FILE = REPO / "firmware-config" / "devices" / "b1-gate-in.yaml"
SITE_FILE = REPO / "firmware-config" / "site.yaml"
DOOR_CONTACT_PIN = 27


@pytest.fixture
def simulated_gate(campus: Campus, tmp_path: Path) -> Iterator[MockFactory]:
    """The real b1 entry-gate agent on gpiozero MockFactory pins, on the campus broker."""
    previous = Device.pin_factory
    factory = MockFactory()
    Device.pin_factory = factory
    state = tmp_path / "gate-state"
    state.mkdir()
    (state / CARD_KEY_FILE).write_bytes(b"dashboard-e2e-card-key")
    runtime: EdgeRuntime = build(
        EdgeOptions(
            device_path=GATE_FILE,
            site_path=SITE_FILE,
            state_dir=state,
            camera=False,
            first_connect_jitter_s=0,
            broker_override=(campus.broker.host, campus.broker.port),
        )
    )
    runtime.readers = []
    runtime.start()
    # The contact is pulled up (open) until something presses it: shut the door.
    factory.pin(DOOR_CONTACT_PIN).drive_low()
    time.sleep(0.2)
    try:
        yield factory
    finally:
        runtime.stop()
        Device.pin_factory.close()
        Device.pin_factory = previous


def alert_item(page: Page, door: str, gate: str = "b1-gate-in") -> Locator:
    # The subject names the door (contract: "door:<gate>/<door>").
    return page.locator("#alert-list li.alert", has_text=f"door:{gate}/{door}")


def test_a_forced_door_appears_live_and_is_acknowledged_then_resolved(
    page: Page, campus: Campus, simulated_gate: MockFactory
) -> None:
    sign_in(page, campus, "security")
    page.goto(f"{campus.url}/#/alerts")
    expect(page.locator("#stream-state")).to_have_attribute("data-state", "open")
    page.evaluate("window.__notReloaded = true")
    # The simulated gate's door contact opens with no grant and no exit press:
    # the agent itself reports the door forced, through the broker and ingest.
    contact = simulated_gate.pin(DOOR_CONTACT_PIN)
    contact.drive_high()  # opens (the pulled-up contact is released)
    time.sleep(0.3)
    contact.drive_low()
    item = alert_item(page, "main")
    expect(item).to_have_count(1, timeout=ALERT_TIMEOUT_MS)
    assert page.evaluate("window.__notReloaded") is True, "the page reloaded"
    expect(item).to_contain_text("门被强行打开")
    expect(item).to_have_attribute("data-status", "open")
    alert_id = item.get_attribute("data-id")
    listed = campus.get("security", f"/alerts/{alert_id}").json()
    if listed["severity"] == "critical":
        expect(page.locator("#cue")).to_be_visible()
        expect(page.locator("#cue")).to_contain_text("门被强行打开")
    screenshot(page, "alerts-live")
    item.locator("button.ack").click()
    expect(item).to_have_attribute("data-status", "acknowledged")
    assert campus.get("security", f"/alerts/{alert_id}").json()["status"] == "acknowledged"
    item.locator("button.resolve").click()
    page.fill("#form-resolve", "door checked and closed")
    page.click("dialog button.primary")
    expect(item).to_have_count(0)  # the active list no longer shows it
    page.select_option("#f-status", "resolved")
    resolved = page.locator(f'#alert-list li[data-id="{alert_id}"]')
    expect(resolved).to_have_attribute("data-status", "resolved")
    detail = campus.get("security", f"/alerts/{alert_id}").json()
    assert (detail["status"], detail["note"]) == ("resolved", "door checked and closed")


def test_the_alert_list_is_keyboard_operable(page: Page, campus: Campus) -> None:
    sign_in(page, campus, "security")
    page.goto(f"{campus.url}/#/alerts")
    expect(page.locator("#stream-state")).to_have_attribute("data-state", "open")
    force_door(campus, "b1", "b1-gate-in", "kb1")
    force_door(campus, "b1", "b1-gate-out", "kb2")
    first, second = alert_item(page, "kb1"), alert_item(page, "kb2", "b1-gate-out")
    expect(first).to_have_count(1, timeout=ALERT_TIMEOUT_MS)
    expect(second).to_have_count(1, timeout=ALERT_TIMEOUT_MS)
    page.select_option("#f-rule", "door_forced")
    items = page.locator("#alert-list li.alert")
    items.first.focus()
    ids = [items.nth(i).get_attribute("data-id") for i in range(items.count())]
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.id") == ids[1]
    page.keyboard.press("Home")
    assert page.evaluate("document.activeElement.dataset.id") == ids[0]
    page.keyboard.press("Enter")
    expect(page.locator("#detail-title")).to_contain_text("门被强行打开")
    # Tab reaches the item's buttons; Enter acknowledges.
    items.first.focus()
    page.keyboard.press("Tab")
    assert "ack" in page.evaluate("document.activeElement.className")
    page.keyboard.press("Enter")
    expect(page.locator(f'#alert-list li[data-id="{ids[0]}"]')).to_have_attribute(
        "data-status", "acknowledged"
    )
    screenshot(page, "alerts-keyboard")


def test_counselors_see_their_buildings_alerts_and_students_none(
    page: Page, campus: Campus
) -> None:
    force_door(campus, "b2", "b2-gate-in", "scope1")
    sign_in(page, campus, "security")
    page.goto(f"{campus.url}/#/alerts")
    expect(alert_item(page, "scope1", "b2-gate-in")).to_have_count(1, timeout=ALERT_TIMEOUT_MS)
    page.click("#logout")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, campus, "counselor")
    page.goto(f"{campus.url}/#/alerts")
    expect(page.locator("#stream-state")).to_have_attribute("data-state", "open")
    expect(alert_item(page, "scope1", "b2-gate-in")).to_have_count(0)
    screenshot(page, "phone-counselor-alerts-live")
    assert campus.get("student", "/alerts").status_code == 403
    assert campus.get("student", "/alerts/stream").status_code == 403


def test_overview_counts_open_alerts_by_severity(page: Page, campus: Campus) -> None:
    force_door(campus, "b1", "b1-gate-in", "ov1")
    sign_in(page, campus, "security")
    page.goto(f"{campus.url}/#/alerts")
    expect(alert_item(page, "ov1")).to_have_count(1, timeout=ALERT_TIMEOUT_MS)
    active = campus.get("security", "/alerts", status="active", building="b1").json()["items"]
    page.goto(f"{campus.url}/#/overview")
    counts = page.locator('[data-building="b1"] .sev-counts')
    for severity in ("critical", "major", "warning", "info"):
        n = sum(1 for a in active if a["severity"] == severity)
        expect(counts.locator(f".sev-{severity}")).to_contain_text(str(n))
