"""No name, student number or card number in clear anywhere the simulated campus writes.

The example campus (firmware-config, both buildings, 80 students and 8
counselors) runs through the whole system as ``dorm demo`` starts it
(:func:`simulators.demo.start_services`): a Mosquitto per building and a
central one, the server (seeded with the population's names, numbers and
card numbers) writing to a private VictoriaMetrics, a gateway per building,
and the simulated agents at speed 1000 for a whole day from 05:30 of a weekday,
with incidents early in the window (smoke and the fire release it commands,
a forced door, a QR replay, a denied burst, a heater, an uplink cut), so
every kind of message is produced: gate decisions by card and by QR, door
and passage events, duty check-ins, room telemetry, heartbeats, device
states, gateway health, commands and their acknowledgements, allowlists —
and alerts on the server. Everything is captured:

- every MQTT message on the three brokers (``#``, subscribed before anything
  connects), and what they keep retained (a late subscriber after the run);
- every series in VictoriaMetrics (labels and values, all time);
- the raw bytes of every file the edge keeps: the simulator's state
  directory (outboxes with WAL and shm, sequence books, allowlist caches,
  duty files) and each gateway's state directory and log, read every 0.5 s
  while the campus runs (delivered outbox rows are deleted) and at the end.

All of it is scanned, case-insensitively, for every person's full name (also
with the space removed or replaced), number and card number. The capture is
checked to be the full output first (each family seen, thousands of
messages, series present, the pseudonymous person ids visible on the wire
and in edge storage), so the check cannot pass on an empty capture.
About 100 s: a whole simulated day through three brokers, two gateways and the server.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import threading
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Final, TypeAlias

import msgspec
import pytest

from devservices import DevServiceError, MosquittoBroker, VictoriaMetrics
from devservices.mqttprobe import MqttProbe, ReceivedMessage
from protocol.messages import AccessDecision, CredentialKind, Decision
from protocol.topics import Family, TopicError, parse_topic
from simulators import session
from simulators.checker import AlertsClient, wait_for
from simulators.demo import CONFIG_DIR, LOGINS, demo_simulation, start_services
from simulators.population import Population

SPEED: Final = 1000.0
STUDENTS: Final = 80
START: Final = time(5, 30)
WINDOW: Final = timedelta(days=1)
#: Incidents early in the window; the smoke makes the server command a fire release.
SCENARIO: Final = """\
name: pseudonymity
description: incidents that make the server talk back (alerts, fire-release commands)
injects:
  - {at: "06:00", do: smoke, room: b2-r201, minutes: 5,
     expect: [{rule: smoke, subject: "*b2-r201*", within_s: 300}]}
  - {at: "06:15", do: forced_door, building: b1, gate: entry, open_s: 15,
     expect: [{rule: door_forced, subject: "door:b1-gate-in/*", within_s: 300}]}
  - {at: "06:30", do: qr_replay, building: b1, gate: entry, after_s: 8,
     expect: [{rule: qr_replay, subject: "*", within_s: 300}]}
  - {at: "06:45", do: denied_burst, building: b2, gate: entry, count: 8, every_s: 5}
  - {at: "07:00", do: heater, room: b1-r102, power_w: 2200, minutes: 30}
  - {at: "07:40", do: uplink_cut, building: b1, minutes: 20}
"""
#: Every family the run must produce; a delta needs an allowlist change, which this run has not.
EXPECTED_FAMILIES: Final = frozenset(Family) - {Family.ALLOWLIST_DELTA}
BUILDING_FAMILIES: Final = EXPECTED_FAMILIES - {
    Family.GATEWAY_HEALTH,
    Family.COMMAND,
    Family.COMMAND_ACK,
}


def _last_monday() -> date:
    """A weekday in the past (the morning exodus; the 08:00 shift's check-ins at 07:55),
    well inside VictoriaMetrics' retention: last week's Monday."""
    today = date.today()
    return today - timedelta(days=today.weekday() + 7)


def _forbidden(population: Population) -> list[str]:
    """Every person's name (and its run-together variants), number and card number."""
    needles: set[str] = set()
    for row in csv.DictReader(io.StringIO(population.people_csv())):
        name = row["full_name"]
        needles |= {name, *(name.replace(" ", sep) for sep in ("", "_", "-", ".", "%20", "+"))}
        needles |= {row["number"], row["card_number"]}
    return sorted(n for n in needles if n)


def _export_all(victoria: VictoriaMetrics) -> bytes:
    """Every sample of every series, whatever its timestamp (the simulated day may
    lie ahead of the wall clock; an export without ``end`` stops at now)."""
    victoria.force_flush()
    query = urllib.parse.urlencode(
        {"match[]": '{__name__=~".+"}', "start": "0", "end": "4102444800"}
    )
    with urllib.request.urlopen(f"{victoria.url}/api/v1/export?{query}", timeout=30) as answer:
        return bytes(answer.read())


def _families(messages: list[ReceivedMessage]) -> Counter[Family | None]:
    """Messages per family; ``None`` counts topics outside the tree."""
    seen: Counter[Family | None] = Counter()
    for message in messages:
        try:
            seen[parse_topic(message.topic).family] += 1
        except TopicError:
            seen[None] += 1
    return seen


def _credentials(messages: list[ReceivedMessage]) -> Counter[tuple[CredentialKind, Decision]]:
    kinds: Counter[tuple[CredentialKind, Decision]] = Counter()
    for message in messages:
        if message.topic.endswith("/" + Family.ACCESS.value):
            decision = msgspec.json.decode(message.payload, type=AccessDecision, strict=False)
            kinds[decision.credential, decision.decision] += 1
    return kinds


#: A trie of bytes: byte -> subtrie; the key -1 marks the end of a word.
_Trie: TypeAlias = dict[int, "_Trie"]


def _trie_regex(words: Iterable[bytes]) -> bytes:
    """One regex matching any of ``words``, shaped as their trie: each position of a
    haystack costs one step per matched character instead of one try per word."""
    trie: _Trie = {}
    for word in words:
        node = trie
        for byte in word:
            node = node.setdefault(byte, {})
        node[-1] = {}

    def build(node: _Trie) -> bytes:
        end = -1 in node
        alts = [re.escape(bytes([k])) + build(node[k]) for k in sorted(k for k in node if k >= 0)]
        if not alts:
            return b""
        if len(alts) == 1 and not end:
            return alts[0]
        return b"(?:" + b"|".join(alts) + b")" + (b"?" if end else b"")

    return build(trie)


class Scanner:
    """Records which of ``needles`` occur, in any mix of case, in what it is shown."""

    def __init__(self, needles: Iterable[str]) -> None:
        words = {n.lower().encode() for n in needles}
        assert words
        self.pattern = re.compile(_trie_regex(words))
        self.found: defaultdict[str, set[str]] = defaultdict(set)
        self.scanned: Counter[str] = Counter()
        self._lock = threading.Lock()

    def scan(self, where: str, data: bytes) -> None:
        hits = {m.group().decode() for m in self.pattern.finditer(data.lower())}
        with self._lock:
            self.scanned[where] += len(data)
            self.found[where] |= hits

    def hits(self, prefix: str = "") -> set[str]:
        return {h for where, hits in self.found.items() if where.startswith(prefix) for h in hits}


class EdgeSnapshots:
    """The raw bytes of every file the edge keeps, read every ``every_s`` while the
    campus runs and once more at the end: an outbox holds undelivered events, and
    its WAL the latest writes, only for a while (after a clean stop the delivered
    rows are gone). Each read is scanned at once, as distinct 4 KiB chunks (each
    with the next 64 bytes, so a value across a chunk boundary is seen whole): a
    file read fifty times costs its distinct content once.
    """

    CHUNK: Final = 4096
    OVERLAP: Final = 64

    def __init__(
        self, base: Path, roots: Sequence[Path], scanners: Sequence[Scanner], every_s: float = 0.5
    ) -> None:
        self.base = base
        self.roots = roots
        self.scanners = scanners
        self.every_s = every_s
        self.files: Counter[str] = Counter()
        self.bytes_read = 0
        self.rounds = 0
        self._seen: set[bytes] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="edge-snapshots", daemon=True)

    def take(self) -> None:
        for root in self.roots:
            paths = [root] if root.is_file() else sorted(root.rglob("*"))
            for path in paths:
                if not path.is_file():
                    continue
                try:
                    data = path.read_bytes()
                except FileNotFoundError:  # gone between listing and reading (a WAL)
                    continue
                name = f"edge:{path.relative_to(self.base)}"
                self.files[name] += 1
                self.bytes_read += len(data)
                fresh = []
                for at in range(0, max(len(data), 1), self.CHUNK):
                    chunk = data[at : at + self.CHUNK + self.OVERLAP]
                    digest = hashlib.sha256(chunk).digest()
                    if digest not in self._seen:
                        self._seen.add(digest)
                        fresh.append(chunk)
                for scanner in self.scanners:
                    scanner.scan(name, b"\n".join(fresh))
        self.rounds += 1

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.take()

    def __enter__(self) -> EdgeSnapshots:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


@pytest.fixture
def private_victoria() -> Iterator[VictoriaMetrics]:
    """A VictoriaMetrics of this test alone: the export is this run's output only."""
    service = VictoriaMetrics()
    try:
        service.start()
    except DevServiceError as exc:
        pytest.fail(f"could not start VictoriaMetrics: {exc}", pytrace=False)
    try:
        yield service
    finally:
        service.close()


def test_simulated_campus_output_holds_no_name_number_or_card_in_clear(
    tmp_path: Path, private_victoria: VictoriaMetrics
) -> None:
    victoria = private_victoria
    campus = session.build_campus(CONFIG_DIR, 0, 0)
    start = datetime.combine(_last_monday(), START, tzinfo=campus.tz)
    population = session.build_population(campus, STUDENTS, 5, start)
    scenario = tmp_path / "pseudonymity.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    probes: dict[str, MqttProbe] = {}
    lines: list[str] = []
    forbidden = _forbidden(population)
    assert len(forbidden) > 700
    leaks = Scanner(forbidden)
    # The control: pseudonymous person ids are in clear where person-linked data is.
    person_ids = Scanner(
        [*(s.id for s in population.students), *(c.id for c in population.counselors)]
    )

    with ExitStack() as stack:

        def capture(central: MosquittoBroker, brokers: Mapping[str, MosquittoBroker]) -> None:
            for name, broker in {"central": central, **brokers}.items():
                probe = stack.enter_context(
                    MqttProbe(broker.host, broker.port, subscriptions=["#"])
                )
                assert not probe.connect().is_failure
                probe.wait_subscribed()
                probes[name] = probe

        services = start_services(
            stack,
            campus,
            population,
            tmp_path,
            say=lines.append,
            server_env={
                "DORM_INFLUX_URL": victoria.url,
                "DORM_INFLUX_ORG": "o",
                "DORM_INFLUX_BUCKET": "b",
                "DORM_INFLUX_TOKEN": "token",
                "DORM_INFLUX_FLUSH_INTERVAL_MS": "200",
            },
            brokers_started=capture,
        )
        sim = demo_simulation(
            campus, population, services, tmp_path, start=start, speed=SPEED, seed=5
        )
        stack.callback(sim.stop)
        edge = EdgeSnapshots(
            tmp_path,
            [
                tmp_path / "sim",
                *(tmp_path / f"gateway-{b}" for b in services.brokers),
                *(tmp_path / f"gateway-{b}.log" for b in services.brokers),
            ],
            [leaks, person_ids],
        )
        with edge:
            result = session.run(sim, WINDOW, scenarios=[scenario], say=lines.append)
        assert sim.loop.errors == 0, "\n".join(lines)
        client = AlertsClient(services.server.url, LOGINS[0][0], LOGINS[0][1])
        outcomes, _ = wait_for(client, result.expectations, timeout_s=30)
        assert all(o.passed for o in outcomes), [o.expectation for o in outcomes if not o.passed]
        alerts = client.alerts()
        captured = {name: probe.drain(quiet_s=1.0, max_s=15) for name, probe in probes.items()}
        # What the brokers keep (retained): a late subscriber gets it with the retain flag.
        for name, broker in {"central": services.central, **services.brokers}.items():
            with MqttProbe(broker.host, broker.port, subscriptions=["#"]) as late:
                assert not late.connect().is_failure
                late.wait_subscribed()
                captured[f"{name}-retained"] = late.drain(quiet_s=1.0, max_s=10)
    # Everything stopped: the server flushed its time-series writes, the edge closed its files.
    exported = _export_all(victoria)

    # -- the capture is the full output, not an empty or partial one ------------------------
    every_message = [m for messages in captured.values() for m in messages]
    assert len(every_message) > 5_000, {k: len(v) for k, v in captured.items()}
    assert all(probe.dropped == 0 for probe in probes.values())
    retained = [m for name, ms in captured.items() if name.endswith("-retained") for m in ms]
    assert retained
    # The late subscriber also gets what is still live (the system runs on): scanned too.
    assert {parse_topic(m.topic).family for m in retained if m.retain} == {
        Family.STATE,
        Family.ALLOWLIST_SNAPSHOT,
    }
    seen = {name: _families(captured[name]) for name in ("central", *services.brokers)}
    assert not EXPECTED_FAMILIES - set(seen["central"]), seen["central"]
    # A building broker carries its devices' uplink and its downlink; the gateway's
    # health goes to the central broker only, and only b2 (smoke) got commands.
    for building in services.brokers:
        assert not BUILDING_FAMILIES - set(seen[building]), (building, seen[building])
    assert {Family.COMMAND, Family.COMMAND_ACK} <= set(seen["b2"]), seen["b2"]
    assert all(None not in families for families in seen.values()), seen
    credentials = _credentials(captured["central"])
    for kind in CredentialKind:
        assert credentials[kind, Decision.GRANTED] > 0, credentials
    assert {a["rule"] for a in alerts} >= {"smoke", "door_forced", "qr_replay"}
    series = [json.loads(line) for line in exported.splitlines() if line.strip()]
    metrics = Counter(s["metric"]["__name__"].split("_")[0] for s in series)
    assert {"room", "gate", "device"} <= set(metrics), metrics
    assert len(series) > 50
    assert sum(len(s["values"]) for s in series) > 1_000

    for name, messages in captured.items():
        wire = b"\n".join(m.topic.encode() + b" " + m.payload for m in messages)
        for scanner in (leaks, person_ids):
            scanner.scan(f"mqtt:{name}", wire)
    leaks.scan("timeseries", exported)
    edge.take()  # once more, after the edge closed its files
    assert edge.rounds > 10
    assert edge.bytes_read > 10_000_000
    for kept in ("sim/b1/outbox.db-wal", "sim/b2/outbox.db", "gateway-b1/b1-gw-outbox.db-wal"):
        assert edge.files[f"edge:{kept}"] > 0, edge.files
    assert any(n.endswith("allowlist.json") for n in edge.files)
    assert sum(leaks.scanned.values()) > 10_000_000

    # The scan looks where person-linked data is: pseudonymous ids are there in clear.
    assert len(person_ids.hits("mqtt:central")) > STUDENTS // 2
    assert len(person_ids.hits("edge:sim/")) > STUDENTS // 2
    assert len(person_ids.hits("edge:gateway-")) > STUDENTS // 4

    # -- the check itself ------------------------------------------------------------------
    found = {where: sorted(hits) for where, hits in leaks.found.items() if hits}
    assert found == {}, f"personal values in clear: {found}"
