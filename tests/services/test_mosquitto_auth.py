"""The authenticated listener: passwords and the per-device ACL really apply.

Both listeners share one topic space. The anonymous listener has no ACL, so a
watcher there sees everything that reaches the broker's topic tree; what the
ACL refuses never gets there.
"""

from __future__ import annotations

import uuid

import pytest

from devservices import MosquittoBroker, MqttCredentials
from devservices.mqttprobe import MqttProbe

REFUSED = {"Not authorized", "Bad user name or password"}
QUIET_S = 0.3


def unique() -> str:
    return uuid.uuid4().hex[:12]


@pytest.mark.parametrize(
    ("username", "password"),
    [
        pytest.param("dev-a", "wrong-password", id="wrong-password"),
        pytest.param("no-such-user", "whatever", id="unknown-user"),
        pytest.param(None, None, id="anonymous"),
    ],
)
def test_auth_listener_refuses_bad_credentials(
    mosquitto: MosquittoBroker, username: str | None, password: str | None
) -> None:
    with MqttProbe(
        mosquitto.host, mosquitto.auth_port, username=username, password=password
    ) as probe:
        code = probe.connect()
        assert code.is_failure
        assert code.getName() in REFUSED
        assert not probe.connected


def test_auth_listener_accepts_the_right_password(
    mosquitto: MosquittoBroker, mqtt_device_credentials: MqttCredentials
) -> None:
    with MqttProbe(
        mosquitto.host,
        mosquitto.auth_port,
        username=mqtt_device_credentials.username,
        password=mqtt_device_credentials.password,
    ) as probe:
        code = probe.connect()
        assert not code.is_failure, code.getName()
        assert probe.connected


def test_device_publishes_only_under_its_own_subtree(
    mosquitto: MosquittoBroker,
    mqtt_device_credentials: MqttCredentials,
    mqtt_admin_credentials: MqttCredentials,
) -> None:
    run = unique()
    own_topic = f"dorm/v1/b1/dev/dev-a/event/{run}"
    foreign_topic = f"dorm/v1/b1/dev/dev-b/event/{run}"
    watch = f"dorm/v1/b1/dev/+/event/{run}"
    with (
        MqttProbe(mosquitto.host, mosquitto.port, subscriptions=[watch]) as anonymous_watcher,
        MqttProbe(
            mosquitto.host,
            mosquitto.auth_port,
            username=mqtt_admin_credentials.username,
            password=mqtt_admin_credentials.password,
            subscriptions=[watch],
        ) as admin_watcher,
        MqttProbe(
            mosquitto.host,
            mosquitto.auth_port,
            username=mqtt_device_credentials.username,
            password=mqtt_device_credentials.password,
        ) as device,
    ):
        for watcher in (anonymous_watcher, admin_watcher):
            assert not watcher.connect().is_failure
            watcher.wait_subscribed()
        assert not device.connect().is_failure

        # The forbidden message goes first: were it delivered, it would arrive
        # before the allowed one on the same subscription.
        forbidden = device.publish(foreign_topic, b"forbidden")
        allowed = device.publish(own_topic, b"allowed")
        device.wait_published([forbidden, allowed], timeout_s=5)

        forbidden_code = device.puback_code(forbidden.mid)
        allowed_code = device.puback_code(allowed.mid)
        # paho calls on_publish before it marks the message published.
        assert forbidden_code is not None
        assert forbidden_code.getName() == "Not authorized"
        assert allowed_code is not None
        assert not allowed_code.is_failure

        for watcher in (anonymous_watcher, admin_watcher):
            [first] = watcher.expect(1, timeout_s=5)
            assert (first.topic, first.payload) == (own_topic, b"allowed")
            assert watcher.drain(quiet_s=QUIET_S, max_s=2) == []


def test_device_reads_only_its_own_commands(
    mosquitto: MosquittoBroker, mqtt_device_credentials: MqttCredentials
) -> None:
    run = unique()
    own_command = f"dorm/v1/b1/dev/dev-a/cmd/{run}"
    foreign_command = f"dorm/v1/b1/dev/dev-b/cmd/{run}"
    own_event = f"dorm/v1/b1/dev/dev-a/event/{run}"  # dev-a may write here, not read
    with (
        MqttProbe(
            mosquitto.host,
            mosquitto.auth_port,
            username=mqtt_device_credentials.username,
            password=mqtt_device_credentials.password,
            subscriptions=[f"dorm/v1/b1/dev/+/cmd/{run}", own_event],
        ) as device,
        MqttProbe(mosquitto.host, mosquitto.port) as server,
    ):
        assert not device.connect().is_failure
        # Mosquitto grants the subscriptions and applies the ACL per message.
        device.wait_subscribed()
        assert not server.connect().is_failure

        infos = [
            server.publish(foreign_command, b"not for dev-a"),
            server.publish(own_event, b"write-only for dev-a"),
            server.publish(own_command, b"for dev-a"),
        ]
        server.wait_published(infos, timeout_s=5)

        [first] = device.expect(1, timeout_s=5)
        assert (first.topic, first.payload) == (own_command, b"for dev-a")
        assert device.drain(quiet_s=QUIET_S, max_s=2) == []
