"""The webhook sink against a real HTTP server started in the test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from server.alerts import AlertStats, Change
from server.alerts.events import AlertEvent
from server.alerts.schemas import AlertOut
from server.alerts.webhook import RetryPolicy, WebhookSink
from tests.alerts.support import NOW0, T0

FAST = RetryPolicy(max_attempts=4, backoff_s=0.01, backoff_max_s=0.05, timeout_s=2.0)


@dataclass
class Receiver:
    """What the server got, and the statuses it answers with (then 200)."""

    answers: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], dict[str, object]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    received: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.received = threading.Condition(self.lock)

    def wait_for(self, count: int, timeout_s: float = 10.0) -> None:
        with self.received:
            assert self.received.wait_for(lambda: len(self.requests) >= count, timeout_s), (
                f"got {len(self.requests)} of {count} requests"
            )


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.received:
                state.requests.append((dict(self.headers), json.loads(body)))
                status = state.answers.pop(0) if state.answers else 200
                state.received.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet test output

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def _event(
    change: Change = Change.OPENED, level: str = "room", building: str | None = "b1"
) -> AlertEvent:
    alert = AlertOut(
        id="01JBQ8Z0X4T6Y5V3W2N1M0K9H8",
        rule="door_held_open",
        subject="door:b1-gate-in/main",
        severity="warning",
        level=level,  # type: ignore[arg-type]
        start_level="room",
        status="open",
        building=building,
        floor=None,
        room=None,
        first_seen=T0,
        last_seen=T0,
        count=1,
        delayed=False,
        message="door held open",
        params={"door": "main"},
        opened_at=NOW0,
        acknowledged_by=None,
        acknowledged_at=None,
        assignee=None,
        resolved_by=None,
        resolved_at=None,
        note=None,
        escalated_at=None,
    )
    return AlertEvent(change, alert)


def _sink(url: str, stats: AlertStats, **kw: object) -> WebhookSink:
    return WebhookSink(
        url,
        stats,
        retry=FAST,
        clock=lambda: datetime(2026, 9, 1, 22, 0, 6, tzinfo=UTC),
        **kw,  # type: ignore[arg-type]
    )


def test_a_failing_receiver_gets_the_delivery_after_retries(
    receiver: tuple[Receiver, str],
) -> None:
    state, url = receiver
    state.answers = [503, 500]
    stats = AlertStats()
    sink = _sink(url, stats)
    sink.start()
    try:
        sink.deliver(_event())
        state.wait_for(3)
    finally:
        sink.close()
    assert stats.get("webhook_delivered") == 1
    assert stats.get("webhook_failed_attempts") == 2
    deliveries = {headers["X-Dorm-Delivery"] for headers, _ in state.requests}
    assert len(deliveries) == 1  # the same delivery id on every attempt
    headers, body = state.requests[-1]
    assert headers["X-Dorm-Event"] == "opened"
    assert headers["Content-Type"] == "application/json"
    assert body["event"] == "opened"
    assert body["sent_at"] == "2026-09-01T22:00:06Z"
    assert body["notify"] == {"roles": ["counselor"], "buildings": ["b1"]}
    alert = body["alert"]
    assert isinstance(alert, dict)
    assert (alert["id"], alert["first_seen"], alert["count"]) == (
        "01JBQ8Z0X4T6Y5V3W2N1M0K9H8",
        "2026-09-01T22:00:00Z",
        1,
    )


def test_a_receiver_that_keeps_failing_is_given_up_and_counted(
    receiver: tuple[Receiver, str],
) -> None:
    state, url = receiver
    state.answers = [502] * (FAST.max_attempts + 1)
    stats = AlertStats()
    sink = _sink(url, stats)
    sink.start()
    try:
        sink.deliver(_event(Change.ESCALATED, level="campus"))
        sink.deliver(_event(Change.RESOLVED))
        state.wait_for(FAST.max_attempts + 2)
    finally:
        sink.close()
    # The first delivery failed for good after 4 attempts; the second came through
    # on its 2nd attempt (the receiver answered 502 five times, then 200).
    assert stats.get("webhook_failed") == 1
    assert stats.get("webhook_delivered") == 1
    assert [b["event"] for _, b in state.requests[: FAST.max_attempts]] == ["escalated"] * 4
    assert state.requests[0][1]["notify"] == {
        "roles": ["counselor", "security", "admin"],
        "buildings": None,
    }


def test_a_refusal_is_not_retried_and_updates_are_not_sent(
    receiver: tuple[Receiver, str],
) -> None:
    state, url = receiver
    state.answers = [400]
    stats = AlertStats()
    sink = _sink(url, stats)
    sink.start()
    try:
        sink.deliver(_event(Change.UPDATED))  # count bumps are not for messaging bots
        sink.deliver(_event(Change.ACKNOWLEDGED))
        sink.deliver(_event(Change.ASSIGNED))
        state.wait_for(2)
    finally:
        sink.close()
    assert [b["event"] for _, b in state.requests] == ["acknowledged", "assigned"]
    assert stats.get("webhook_rejected") == 1
    assert stats.get("webhook_delivered") == 1


def test_an_unreachable_receiver_fills_the_queue_and_deliver_never_waits() -> None:
    stats = AlertStats()
    # Nothing listens on port 9 of localhost (discard): every attempt is refused.
    slow = RetryPolicy(max_attempts=2, backoff_s=30.0, timeout_s=1.0)
    sink = WebhookSink("http://127.0.0.1:9/hook", stats, retry=slow, max_queue=3)
    sink.start()
    try:
        sink.deliver(_event())
        deadline = time.monotonic() + 10
        while stats.get("webhook_failed_attempts") == 0:  # the worker is in its backoff now
            assert time.monotonic() < deadline
            time.sleep(0.01)
        for _ in range(9):
            sink.deliver(_event())
    finally:
        sink.close()
    # One taken by the worker (waiting 30 s to retry), three queued, six dropped at
    # once: ``deliver`` never waits for room.
    assert stats.get("webhook_dropped") == 6
    assert stats.get("webhook_unsent") + stats.get("webhook_failed") == 4
