"""Checking a scenario's expected alerts against the server (GET /api/v1/alerts).

The checker logs in with the OAuth2 password flow, reads every alert
(active and resolved, following ``next_cursor``) and matches each
expectation: same rule, subject matching the pattern (fnmatch), first seen
(event time) no earlier than the inject and no later than ``within_s`` after
it, and ``delayed`` as asked. Critical alerts no expectation accounts for are
reported too. Only the standard library is used, so a simulator host needs
no HTTP client package.
"""

from __future__ import annotations

import fnmatch
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TextIO

from simulators.scenarios import Expectation

STATUSES = ("open", "acknowledged", "resolved")


class CheckerError(RuntimeError):
    """The server could not be asked (login refused, not reachable, bad answer)."""


@dataclass
class AlertsClient:
    base_url: str
    username: str
    password: str
    timeout_s: float = 10.0
    _token: str | None = None

    def _request(self, path: str, *, data: bytes | None = None, form: bool = False) -> Any:
        headers = {"Accept": "application/json"}
        if form:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(self.base_url.rstrip("/") + path, data, headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            raise CheckerError(f"{path}: HTTP {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise CheckerError(f"{path}: {exc}") from exc

    def login(self) -> None:
        body = urllib.parse.urlencode({"username": self.username, "password": self.password})
        answer = self._request("/api/v1/login/access-token", data=body.encode(), form=True)
        self._token = str(answer["access_token"])

    def alerts(self) -> list[dict[str, Any]]:
        if self._token is None:
            self.login()
        found: list[dict[str, Any]] = []
        for status in STATUSES:
            cursor: str | None = None
            while True:
                query = {"status": status, "limit": "200"}
                if cursor:
                    query["cursor"] = cursor
                page = self._request("/api/v1/alerts?" + urllib.parse.urlencode(query))
                found.extend(page["items"])
                cursor = page.get("next_cursor")
                if not cursor:
                    break
        return found


@dataclass(frozen=True)
class Outcome:
    expectation: Expectation
    alert: dict[str, Any] | None

    @property
    def passed(self) -> bool:
        return self.alert is not None


def _first_seen(alert: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(alert["first_seen"]).replace("Z", "+00:00"))


def matches(expectation: Expectation, alert: dict[str, Any]) -> bool:
    expect = expectation.expect
    if alert.get("rule") != expect.rule:
        return False
    if not fnmatch.fnmatchcase(str(alert.get("subject", "")), expect.subject):
        return False
    try:
        seen = _first_seen(alert)
    except (KeyError, ValueError):
        return False
    # A second of slack: event times are rounded differently on the way.
    start = expectation.injected_at - timedelta(seconds=1)
    if not start <= seen <= expectation.injected_at + timedelta(seconds=expect.within_s):
        return False
    return expect.delayed is None or bool(alert.get("delayed")) == expect.delayed


def evaluate(
    expectations: Sequence[Expectation], alerts: Sequence[dict[str, Any]]
) -> tuple[list[Outcome], list[dict[str, Any]]]:
    """Each expectation with the alert that meets it; critical alerts nothing expected."""
    outcomes = [Outcome(e, next((a for a in alerts if matches(e, a)), None)) for e in expectations]
    used = {id(o.alert) for o in outcomes if o.alert is not None}
    unexpected = [a for a in alerts if a.get("severity") == "critical" and id(a) not in used]
    return outcomes, unexpected


def wait_for(
    client: AlertsClient,
    expectations: Sequence[Expectation],
    timeout_s: float,
    poll_s: float = 2.0,
) -> tuple[list[Outcome], list[dict[str, Any]]]:
    """Poll until every expectation is met or ``timeout_s`` passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        outcomes, unexpected = evaluate(expectations, client.alerts())
        if all(o.passed for o in outcomes) or time.monotonic() >= deadline:
            return outcomes, unexpected
        time.sleep(poll_s)


def print_table(
    outcomes: Sequence[Outcome], unexpected: Sequence[dict[str, Any]], out: TextIO
) -> bool:
    """The pass/fail table; True when everything passed and nothing unexpected is critical."""
    print(f"{'result':6}  {'at':16}  {'action':15}  {'rule':24}  subject", file=out)
    for o in outcomes:
        e = o.expectation
        mark = "PASS" if o.passed else "FAIL"
        when = e.injected_at.strftime("%m-%d %H:%M:%S")
        got = f" -> {o.alert['subject']}" if o.alert else ""
        print(
            f"{mark:6}  {when:16}  {e.action:15}  {e.expect.rule:24}  {e.expect.subject}{got}",
            file=out,
        )
    for alert in unexpected:
        print(
            f"{'CRIT?':6}  {'':16}  {'(unexpected)':15}  {alert.get('rule', '?'):24}  "
            f"{alert.get('subject', '?')}",
            file=out,
        )
    passed = sum(o.passed for o in outcomes)
    print(
        f"{passed}/{len(outcomes)} expected alerts raised; {len(unexpected)} unexpected critical",
        file=out,
    )
    return passed == len(outcomes) and not unexpected
