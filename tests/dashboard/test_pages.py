"""The dashboard in Debian's Chromium against a real seeded server fed through MQTT."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
from playwright.sync_api import Page, Route, expect

from devservices.mqttprobe import MqttProbe
from edge.qr import decode_frame
from protocol.codec import decode
from protocol.ids import new_event_id
from protocol.keys import load_public_keys
from protocol.messages import AckResult, Command, CommandAck, CommandAction, encode
from protocol.tokens import verify_token
from tests.dashboard.conftest import Campus, screenshot, sign_in

pytestmark = pytest.mark.services

#: What each role finds in the navigation (the API scopes the data; the UI hides the rest).
NAV = {
    "student": ["me"],
    "counselor": ["alerts", "overview", "building", "gates", "duty", "devices", "me"],
    "security": ["alerts", "overview", "building", "gates", "devices", "me"],
    "admin": ["alerts", "overview", "building", "gates", "duty", "devices"],
}


#: What shows that a page has loaded its data.
READY = {
    "alerts": "#alert-list",
    "overview": "#overview-grid[data-loaded]",
    "building": "#floors[data-loaded]",
    "gates": "main[data-loaded]",
    "duty": "#roster table, #roster .empty",
    "devices": "#device-table",
    "me": "#qr svg, #qr .error",
}


def open_page(page: Page, campus: Campus, target: str) -> None:
    page.goto(f"{campus.url}/#/{target}")
    page.wait_for_selector(READY[target.split("/")[0]])


def nav_ids(page: Page) -> list[str]:
    ids = page.eval_on_selector_all("#nav a", "links => links.map(a => a.id)")
    return [str(i).removeprefix("nav-") for i in ids]


def unlabelled_controls(page: Page) -> list[str]:
    """Visible controls without an accessible name (label, aria-label or text)."""
    found: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('button, input, select, textarea, a[href]')]
            .filter(el => el.offsetParent !== null)
            .filter(el => {
              const aria = (el.getAttribute('aria-label') || '').trim();
              const text = (el.textContent || '').trim();
              const labels = el.labels ? [...el.labels].some(l => l.textContent.trim()) : false;
              return !(aria || labels || (['BUTTON', 'A'].includes(el.tagName) && text));
            })
            .map(el => el.outerHTML.slice(0, 120))"""
    )
    return found


@pytest.mark.parametrize("role", ["student", "counselor", "security", "admin"])
def test_each_role_sees_only_its_pages(page: Page, campus: Campus, role: str) -> None:
    sign_in(page, campus, role)
    assert nav_ids(page) == NAV[role]
    for target in NAV[role]:
        open_page(page, campus, target)
        expect(page.locator(f"#nav-{target}")).to_have_attribute("aria-current", "page")
        assert unlabelled_controls(page) == [], (role, target)
    # A page the role may not open sends it back to its first page.
    forbidden = "duty" if role == "security" else "devices" if role == "student" else "me"
    if forbidden not in NAV[role]:
        page.goto(f"{campus.url}/#/{forbidden}")
        expect(page).to_have_url(re.compile(f"#/{NAV[role][0]}$"))


def test_overview_shows_each_building_in_scope(page: Page, campus: Campus) -> None:
    sign_in(page, campus, "security")
    page.goto(f"{campus.url}/#/overview")
    cards = page.locator("#overview-grid article")
    expect(cards).to_have_count(2)
    b1, b2 = page.locator('[data-building="b1"]'), page.locator('[data-building="b2"]')
    expect(b1.locator(".inside .big")).to_have_text("1")
    expect(b2.locator(".inside .big")).to_have_text("1")
    # b1's counselor checked in; b2 has nobody rostered: a red gap with text and an icon.
    expect(b1.locator(".duty.ok")).to_contain_text("p-c001")
    expect(b2.locator(".duty.gap")).to_contain_text("值班空缺")
    # b1: the two gates and the room sensor sent heartbeats, kiosk and two sensors did not.
    expect(b1.locator(".devices")).to_have_text("离线设备 3/6")
    expect(b1.locator(".gates .dev-online")).to_have_count(2)
    screenshot(page, "overview-security")
    # A counselor sees only their own building.
    page.click("#logout")
    sign_in(page, campus, "counselor")
    page.goto(f"{campus.url}/#/overview")
    expect(page.locator('[data-building="b1"]')).to_have_count(1)
    expect(page.locator("#overview-grid article")).to_have_count(1)


def test_building_grid_colours_and_labels_rooms(page: Page, campus: Campus) -> None:
    sign_in(page, campus, "counselor")
    page.goto(f"{campus.url}/#/building/b1")
    r101 = page.locator('[data-room="b1-r101"]')
    r201 = page.locator('[data-room="b1-r201"]')
    expect(r101).to_contain_text("2/4")
    expect(r101).to_contain_text("1200/1500 W")
    expect(r101).to_have_class(re.compile(r"\bocc-low\b"))
    # Smoke, heat and over-power are spelled out, not only coloured.
    expect(r201).to_have_class(re.compile(r"\balarm\b"))
    for flag in ("烟雾", "高温", "超功率"):
        expect(r201).to_contain_text(flag)
    page.get_by_label("用电功率 / 上限").check()
    expect(r201).to_have_class(re.compile(r"\bpw-over\b"))
    expect(r101).to_have_class(re.compile(r"\bpw-high\b"))
    # Keyboard: a room is a button; Enter opens its last day.
    r101.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#room-detail-title")).to_contain_text("101")
    expect(page.locator("#room-detail svg.chart")).to_have_count(2)
    screenshot(page, "building-b1")


def test_gate_command_shows_the_devices_acknowledgement(page: Page, campus: Campus) -> None:
    sign_in(page, campus, "security")
    page.goto(f"{campus.url}/#/gates/b2")
    gate = page.locator('.gate-row[data-device="b2-gate-in"]')
    with MqttProbe(
        campus.broker.host, campus.broker.port, subscriptions=["dorm/v1/b2/dev/b2-gate-in/cmd"]
    ) as device:
        device.connect()
        device.wait_subscribed()
        # Cancelling the confirmation sends nothing.
        gate.locator("button.cmd-lockdown").click()
        expect(page.locator("#confirm-dialog")).to_be_visible()
        page.click("#confirm-no")
        # Confirmed, the unlock reaches the gate and waits for its acknowledgement.
        gate.locator("button.cmd-unlock").click()
        expect(page.locator("#confirm-dialog")).to_contain_text("b2-gate-in")
        page.click("#confirm-yes")
        result = page.locator("#cmd-result-b2-gate-in")
        expect(result).to_have_attribute("data-status", "pending")
        expect(result).to_contain_text("等待设备确认")
        [message] = device.expect(1, timeout_s=5)
        command = decode(message.topic, message.payload)
        assert isinstance(command, Command)
        assert command.action == CommandAction.UNLOCK
        assert device.drain(quiet_s=0.3, max_s=1) == [], "the cancelled lockdown was sent"
        ack = CommandAck(
            id=new_event_id(),
            device="b2-gate-in",
            seq=int(time.time()),
            ts=datetime.now(UTC),
            command_id=command.id,
            action=CommandAction.UNLOCK,
            result=AckResult.OK,
        )
        device.wait_published([device.publish(f"{message.topic}/ack", encode(ack))], 5)
    expect(result).to_have_attribute("data-status", "ok")
    expect(result).to_contain_text("设备回复 成功")
    screenshot(page, "gates-b2-acknowledged")


def test_gates_page_charts_and_names_by_role(page: Page, campus: Campus) -> None:
    sign_in(page, campus, "counselor")
    page.goto(f"{campus.url}/#/gates/b1")
    expect(page.locator("#chart-week")).to_contain_text("合计：进 2，出 1")
    expect(page.locator("#chart-today svg.chart")).to_have_count(1)
    rows = page.locator("#decision-table tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator("#decision-table")).to_contain_text("未知卡片")
    expect(page.locator("#decision-table")).to_contain_text("p-s0001")
    expect(page.locator("#decision-table")).not_to_contain_text("Student 0001")
    # Counselors watch gates but do not command them.
    expect(page.locator("#commands")).to_be_hidden()
    expect(page.locator("button.cmd")).to_have_count(0)
    screenshot(page, "gates-b1-counselor")
    page.click("#logout")
    sign_in(page, campus, "admin")
    page.goto(f"{campus.url}/#/gates/b1")
    expect(page.locator("#decision-table")).to_contain_text("Student 0001 (p-s0001)")


def test_student_sees_only_own_history_and_a_qr_code_the_gate_accepts(
    page: Page, campus: Campus
) -> None:
    page.clock.install()
    sign_in(page, campus, "student")
    expect(page).to_have_url(re.compile("#/me$"))
    history = page.locator("#history-table tbody tr")
    expect(history).to_have_count(3)  # p-s0001's three passages; nobody else's
    expect(page.locator("#history-table")).not_to_contain_text("b2-gate-in")
    qr = page.locator("#qr svg")
    expect(qr).to_have_count(1)
    first = qr.inner_html()
    screenshot(page, "me-student")
    # What the phone shows decodes to a token a gate verifies with the public key only.
    png = np.frombuffer(page.locator("#qr").screenshot(), dtype=np.uint8)
    image = cv2.imdecode(png, cv2.IMREAD_GRAYSCALE)
    assert image is not None
    [text] = decode_frame(np.asarray(image, dtype=np.uint8))
    claims = verify_token(text, load_public_keys(campus.server.workdir / "keys"), datetime.now(UTC))
    assert claims.subject == "p-s0001"
    # The code is replaced before it expires.
    valid_until = datetime.fromisoformat(
        page.locator("#qr").get_attribute("data-valid-until") or ""
    )
    left_s = (valid_until - datetime.now(UTC)).total_seconds()
    page.clock.run_for(int((left_s - 5) * 1000))
    page.wait_for_function("old => document.querySelector('#qr svg').innerHTML !== old", arg=first)
    # Another student's records are not reachable by URL either.
    assert campus.get("student", "/access-events").status_code == 403


def test_language_switch_translates_pages_and_rule_ids(page: Page, campus: Campus) -> None:
    sign_in(page, campus, "security")
    page.goto(f"{campus.url}/#/alerts")
    rule = page.locator('#f-rule option[value="door_forced"]')
    expect(rule).to_have_text("门被强行打开")
    expect(page.locator("#nav-overview")).to_have_text("园区总览")
    page.select_option("#lang", "en")
    expect(page.locator("#nav-overview")).to_have_text("Campus overview")
    expect(page.locator('#f-rule option[value="door_forced"]')).to_have_text("Door forced open")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    screenshot(page, "alerts-en")
    # The choice survives a reload; times are shown in the campus zone (Asia/Shanghai).
    page.reload()
    page.goto(f"{campus.url}/#/devices")
    expect(page.locator("#nav-devices")).to_have_text("Devices")
    last_seen = page.locator("#device-table tr", has_text="b1-gate-in").locator("td").nth(5)
    beat = (campus.now - timedelta(seconds=5)).astimezone(ZoneInfo("Asia/Shanghai"))
    expect(last_seen).to_have_text(beat.strftime("%m/%d/%Y, %H:%M:%S"))
    page.select_option("#lang", "zh-CN")
    expect(page.locator("#nav-devices")).to_have_text("设备")


def test_devices_page_lists_status_versions_outbox_and_clock(page: Page, campus: Campus) -> None:
    sign_in(page, campus, "security")
    page.goto(f"{campus.url}/#/devices")
    row = page.locator("#device-table tr", has_text="b1-gate-in")
    for value in ("在线", "1.4.0", "12", "-40 ms"):
        expect(row).to_contain_text(value)
    page.select_option("#device-status", "online")
    expect(page.locator("#device-table tbody tr")).to_have_count(3)
    screenshot(page, "devices")


def test_duty_page_shows_roster_check_in_and_visits(page: Page, campus: Campus) -> None:
    sign_in(page, campus, "counselor")
    page.goto(f"{campus.url}/#/duty")
    shift = page.locator("#roster-table tbody tr", has_text="p-c001").first
    expect(shift.locator("[data-state]")).to_have_attribute("data-state", "on_time")
    expect(shift).to_contain_text("1/10")
    expect(page.locator("#checks")).to_contain_text("走访宿舍")
    screenshot(page, "duty")


def test_counselor_phone_layout_has_no_sideways_scrolling(page: Page, campus: Campus) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, campus, "counselor")
    for target in ("me", "alerts", "overview"):
        open_page(page, campus, target)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (target, overflow)
        screenshot(page, f"phone-counselor-{target}")


def test_keyboard_alone_signs_in_and_navigates(page: Page, campus: Campus) -> None:
    page.goto(f"{campus.url}/")
    page.focus("#username")
    page.keyboard.type("security")
    page.keyboard.press("Tab")
    page.keyboard.type("correct horse battery")
    page.keyboard.press("Enter")
    page.wait_for_selector("#nav a")
    page.focus("#nav-devices")
    page.keyboard.press("Enter")
    expect(page.locator("#device-table")).to_be_visible()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#nav-gates")).to_have_attribute("aria-current", "page")


#: What the security-headers middleware is expected to send (or stricter).
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def test_every_page_runs_under_a_strict_content_security_policy(page: Page, campus: Campus) -> None:
    def with_csp(route: Route) -> None:
        if route.request.resource_type != "document":
            route.continue_()
            return
        response = route.fetch()
        route.fulfill(
            response=response,
            headers={**response.headers, "content-security-policy": STRICT_CSP},
        )

    page.route("**/*", with_csp)
    page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    sign_in(page, campus, "security")
    for target in ("alerts", "overview", "building/b1", "gates/b1", "devices", "me"):
        open_page(page, campus, target)
    page.goto(f"{campus.url}/#/building/b1")
    page.locator('[data-room="b1-r101"]').click()
    expect(page.locator("#room-detail svg.chart")).to_have_count(2)
    page.goto(f"{campus.url}/#/me")
    expect(page.locator("#qr svg")).to_have_count(1)
    assert page.evaluate("window.__csp") == []
    # The policy is really in force: an inline script is refused and reported.
    ran = page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.__inlineRan = true'; document.head.append(s);
                   return window.__inlineRan === true; }"""
    )
    assert ran is False
    page.wait_for_function("window.__csp.length === 1")
