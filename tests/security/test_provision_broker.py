"""Proof against a real Mosquitto started with the files ``dorm provision`` wrote.

The b1 building broker and the central broker run with exactly the generated
``mosquitto.conf``, ``passwd`` and ``acl`` (see conftest). Every check uses
real clients: forbidden publishes are answered "Not authorized" and never
reach a watcher that may read everything; forbidden subscriptions deliver
nothing.
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Sequence

from devservices.mqttprobe import MqttProbe
from tests.security.conftest import Provisioned

QUIET_S = 0.3
REFUSED = {"Not authorized", "Bad user name or password"}


def _probe(
    p: Provisioned,
    broker: str,
    user: str,
    password: str | None = None,
    subscriptions: Sequence[str] = (),
) -> MqttProbe:
    b = p.brokers[broker]
    return MqttProbe(
        b.host,
        b.port,
        username=user,
        password=p.password(user) if password is None else password,
        subscriptions=subscriptions,
    )


def test_every_user_connects_with_its_own_credential(provisioned: Provisioned) -> None:
    b1_users = [u for u in provisioned.result.users if u.startswith("b1-")]
    assert len(b1_users) == 7
    for user in b1_users:
        with _probe(provisioned, "b1", user) as probe:
            code = probe.connect()
            assert not code.is_failure, (user, code.getName())
    for user in ("server", "b1-gw", "b2-gw"):
        with _probe(provisioned, "central", user) as probe:
            assert not probe.connect().is_failure, user


def test_a_device_cannot_connect_with_another_devices_credential(provisioned: Provisioned) -> None:
    other = provisioned.password("b1-gate-out")
    with _probe(provisioned, "b1", "b1-gate-in", password=other) as probe:
        code = probe.connect()
        assert code.is_failure
        assert code.getName() in REFUSED
    # Nor may a device of b1 log in to the central broker at all.
    with _probe(provisioned, "central", "b1-gate-in") as probe:
        assert probe.connect().is_failure
    with MqttProbe(provisioned.brokers["b1"].host, provisioned.brokers["b1"].port) as anonymous:
        assert anonymous.connect().is_failure


def test_a_device_cannot_publish_to_another_devices_topics(provisioned: Provisioned) -> None:
    run = uuid.uuid4().hex[:8]
    own = "dorm/v1/b1/dev/b1-gate-in/event/access"
    forbidden_topics = [
        "dorm/v1/b1/dev/b1-gate-out/event/access",
        "dorm/v1/b1/dev/b1-r101-sensor/telemetry",
        "dorm/v1/b1/dev/b1-gate-out/state",
        # its own command topic and the building allowlist are downlink, not uplink
        "dorm/v1/b1/dev/b1-gate-in/cmd",
        "dorm/v1/b1/allowlist/delta",
        "dorm/v1/b2/dev/b2-gate-in/event/access",
    ]
    with (
        _probe(provisioned, "b1", "b1-gw", subscriptions=["dorm/v1/#"]) as watcher,
        _probe(provisioned, "b1", "b1-gate-in") as device,
    ):
        assert not watcher.connect().is_failure
        watcher.wait_subscribed()
        assert not device.connect().is_failure
        forbidden = [device.publish(t, f"forged {run}".encode()) for t in forbidden_topics]
        allowed = device.publish(own, f"own {run}".encode())
        device.wait_published([*forbidden, allowed], timeout_s=5)
        for info, topic in zip(forbidden, forbidden_topics, strict=True):
            code = device.puback_code(info.mid)
            assert code is not None
            assert code.getName() == "Not authorized", topic
        received = watcher.drain(quiet_s=QUIET_S, max_s=3)
        assert [(m.topic, m.payload) for m in received] == [(own, f"own {run}".encode())]


def test_a_device_cannot_read_another_devices_commands(provisioned: Provisioned) -> None:
    run = uuid.uuid4().hex[:8]
    own = "dorm/v1/b1/dev/b1-gate-in/cmd"
    foreign = "dorm/v1/b1/dev/b1-gate-out/cmd"
    with (
        _probe(
            provisioned,
            "b1",
            "b1-gate-in",
            subscriptions=[foreign, "dorm/v1/b1/dev/+/cmd", own],
        ) as device,
        _probe(provisioned, "b1", "b1-gw") as gateway,
    ):
        assert not device.connect().is_failure
        device.wait_subscribed()
        assert not gateway.connect().is_failure
        infos = [
            gateway.publish(foreign, f"for gate-out {run}".encode()),
            gateway.publish(own, f"for gate-in {run}".encode()),
        ]
        gateway.wait_published(infos, timeout_s=5)
        received = device.drain(quiet_s=QUIET_S, max_s=3)
        # The direct subscription and the wildcard both match `own`; nothing else arrives.
        assert {(m.topic, m.payload) for m in received} == {(own, f"for gate-in {run}".encode())}


def test_a_room_sensor_cannot_read_the_allowlist(provisioned: Provisioned) -> None:
    run = uuid.uuid4().hex[:8]
    topic = "dorm/v1/b1/allowlist/delta"
    with (
        _probe(provisioned, "b1", "b1-r101-sensor", subscriptions=[topic]) as sensor,
        _probe(provisioned, "b1", "b1-gate-in", subscriptions=[topic]) as gate,
        _probe(provisioned, "b1", "b1-gw") as gateway,
    ):
        for probe in (sensor, gate):
            assert not probe.connect().is_failure
            probe.wait_subscribed()
        assert not gateway.connect().is_failure
        gateway.wait_published([gateway.publish(topic, run.encode())], timeout_s=5)
        assert [m.payload for m in gate.expect(1, timeout_s=5)] == [run.encode()]
        assert sensor.drain(quiet_s=QUIET_S, max_s=2) == []


def test_a_gateway_cannot_publish_for_another_building(provisioned: Provisioned) -> None:
    run = uuid.uuid4().hex[:8]
    own = "dorm/v1/b1/dev/b1-gate-in/event/access"
    foreign_topics = [
        "dorm/v1/b2/dev/b2-gate-in/event/access",
        "dorm/v1/b2/dev/b2-gw/gateway/health",
        "dorm/v1/b2/allowlist/snapshot",
        "dorm/v1/b1/allowlist/snapshot",  # allowlists come from the server only
    ]
    with (
        _probe(provisioned, "central", "server", subscriptions=["dorm/v1/#"]) as server,
        _probe(provisioned, "central", "b1-gw") as gateway,
    ):
        assert not server.connect().is_failure
        server.wait_subscribed()
        assert not gateway.connect().is_failure
        forbidden = [gateway.publish(t, f"forged {run}".encode()) for t in foreign_topics]
        allowed = gateway.publish(own, f"own {run}".encode())
        gateway.wait_published([*forbidden, allowed], timeout_s=5)
        for info, topic in zip(forbidden, foreign_topics, strict=True):
            code = gateway.puback_code(info.mid)
            assert code is not None
            assert code.getName() == "Not authorized", topic
        received = server.drain(quiet_s=QUIET_S, max_s=3)
        assert [(m.topic, m.payload) for m in received] == [(own, f"own {run}".encode())]


def test_a_gateway_cannot_read_another_buildings_commands(provisioned: Provisioned) -> None:
    run = uuid.uuid4().hex[:8]
    with (
        _probe(
            provisioned,
            "central",
            "b1-gw",
            subscriptions=["dorm/v1/b2/dev/+/cmd", "dorm/v1/b1/dev/+/cmd"],
        ) as gateway,
        _probe(provisioned, "central", "server") as server,
    ):
        assert not gateway.connect().is_failure
        gateway.wait_subscribed()
        assert not server.connect().is_failure
        infos = [
            server.publish("dorm/v1/b2/dev/b2-gate-in/cmd", b"b2 " + run.encode()),
            server.publish("dorm/v1/b1/dev/b1-gate-in/cmd", b"b1 " + run.encode()),
        ]
        server.wait_published(infos, timeout_s=5)
        received = gateway.drain(quiet_s=QUIET_S, max_s=3)
        assert [m.payload for m in received] == [b"b1 " + run.encode()]


def test_the_tls_listener_serves_the_provisioned_users(provisioned: Provisioned) -> None:
    broker = provisioned.brokers["b1"]
    with MqttProbe(
        broker.host,
        broker.tls_port,
        username="b1-gate-in",
        password=provisioned.password("b1-gate-in"),
    ) as probe:
        probe.client.tls_set(
            ca_certs=str(provisioned.certs / "ca.crt"), tls_version=ssl.PROTOCOL_TLS_CLIENT
        )
        assert not probe.connect().is_failure
    with MqttProbe(broker.host, broker.tls_port, username="b1-gate-in", password="wrong") as probe:
        probe.client.tls_set(
            ca_certs=str(provisioned.certs / "ca.crt"), tls_version=ssl.PROTOCOL_TLS_CLIENT
        )
        assert probe.connect().is_failure
