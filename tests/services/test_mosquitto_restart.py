"""A broker can be stopped or killed and started again on the same ports.

Later fault-injection tests rely on this: clients configured with the old
address reconnect by themselves and traffic resumes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devservices import MosquittoBroker
from devservices.mqttprobe import MqttProbe
from devservices.ports import port_accepts


@pytest.fixture
def private_broker() -> Iterator[MosquittoBroker]:
    """A broker of this test's own, since the test takes it down."""
    with MosquittoBroker() as broker:
        yield broker


@pytest.mark.parametrize("take_down", ["stop", "kill"])
def test_clients_reconnect_after_restart_on_the_same_ports(
    private_broker: MosquittoBroker, topic_prefix: str, take_down: str
) -> None:
    broker = private_broker
    topic = f"{topic_prefix}/after-restart"
    ports = (broker.port, broker.auth_port)
    old_pid = broker.pid
    with MqttProbe(broker.host, broker.port, subscriptions=[topic]) as subscriber:
        assert not subscriber.connect().is_failure
        subscriber.wait_subscribed(1)

        if take_down == "stop":
            broker.stop()  # SIGTERM: a clean shutdown
        else:
            broker.kill()  # SIGKILL: a crash
        assert not broker.running
        assert not port_accepts(broker.host, broker.port)

        broker.start()
        assert (broker.port, broker.auth_port) == ports
        assert broker.pid != old_pid

        # paho's own reconnect (delay capped at 2 s) brings the subscriber back,
        # and on_connect subscribes again: the restarted broker kept no session.
        subscriber.wait_connected(min_connects=2, timeout_s=10)
        subscriber.wait_subscribed(2, timeout_s=5)
        with MqttProbe(broker.host, broker.port) as publisher:
            assert not publisher.connect().is_failure
            publisher.wait_published([publisher.publish(topic, b"back")], timeout_s=5)
        [message] = subscriber.expect(1, timeout_s=5)
        assert message.payload == b"back"


@pytest.mark.parametrize("persistence", [True, False])
def test_retained_messages_survive_a_clean_restart_only_with_persistence(
    topic_prefix: str, persistence: bool
) -> None:
    topic = f"{topic_prefix}/state"
    with MosquittoBroker(persistence=persistence) as broker:
        with MqttProbe(broker.host, broker.port) as publisher:
            assert not publisher.connect().is_failure
            info = publisher.publish(topic, b"online", retain=True)
            publisher.wait_published([info], timeout_s=5)
        broker.stop()  # SIGTERM: Mosquitto writes its persistence file on the way out
        broker.start()
        with MqttProbe(broker.host, broker.port, subscriptions=[topic]) as subscriber:
            assert not subscriber.connect().is_failure
            subscriber.wait_subscribed()
            received = subscriber.drain(quiet_s=0.5, max_s=3)
    if persistence:
        assert [(m.payload, m.retain) for m in received] == [(b"online", True)]
    else:
        assert received == []
