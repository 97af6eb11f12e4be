"""The anonymous listener of the harness's Mosquitto: round trips and bursts."""

from __future__ import annotations

import threading

from devservices import MOSQUITTO_DEFAULT_LIMITS, MosquittoBroker
from devservices.mqttprobe import MqttProbe, ReceivedMessage

BURST_SIZE = 5_000
#: How many QoS 1 messages the broker may send the slow subscriber before its PUBACKs.
SLOW_RECEIVE_MAXIMUM = 10
PUBLISH_TIMEOUT_S = 30.0
DELIVERY_TIMEOUT_S = 30.0
#: How long the slow subscriber holds its first message at most.
HOLD_LIMIT_S = 30.0


def test_qos1_round_trip(mosquitto: MosquittoBroker, topic_prefix: str) -> None:
    topic = f"{topic_prefix}/hello"
    with (
        MqttProbe(mosquitto.host, mosquitto.port, subscriptions=[topic]) as subscriber,
        MqttProbe(mosquitto.host, mosquitto.port) as publisher,
    ):
        assert not subscriber.connect().is_failure
        assert [code.value for code in subscriber.wait_subscribed()] == [1]  # granted QoS 1
        assert not publisher.connect().is_failure

        info = publisher.publish(topic, b"payload-1", qos=1)
        publisher.wait_published([info], timeout_s=5)

        [message] = subscriber.expect(1, timeout_s=5)
        assert (message.topic, message.payload, message.qos) == (topic, b"payload-1", 1)
        assert subscriber.drain(quiet_s=0.2, max_s=1) == []


class SlowSubscriber:
    """Holds its first message until released, so the broker must queue the rest.

    Blocking in a callback is exactly what production code must not do; here it
    is the point: it stands for a consumer that falls behind a burst.
    """

    def __init__(self, broker: MosquittoBroker, topic: str) -> None:
        self.release = threading.Event()
        self.probe = MqttProbe(
            broker.host,
            broker.port,
            subscriptions=[topic],
            receive_maximum=SLOW_RECEIVE_MAXIMUM,
            message_hook=self._hold_first,
        )
        self._held = False

    def _hold_first(self, message: ReceivedMessage) -> None:
        if not self._held:
            self._held = True
            self.release.wait(HOLD_LIMIT_S)


def send_burst_to_slow_subscriber(broker: MosquittoBroker, topic: str) -> list[int]:
    """Publish BURST_SIZE numbered QoS 1 messages while the subscriber is stuck;
    return the numbers the subscriber got, in order, once it catches up."""
    slow = SlowSubscriber(broker, topic)
    with slow.probe as subscriber, MqttProbe(broker.host, broker.port) as publisher:
        try:
            assert not subscriber.connect().is_failure
            subscriber.wait_subscribed()
            assert not publisher.connect().is_failure
            infos = [publisher.publish(topic, str(n).encode()) for n in range(BURST_SIZE)]
            publisher.wait_published(infos, timeout_s=PUBLISH_TIMEOUT_S)
        finally:
            slow.release.set()
        received = subscriber.drain(quiet_s=1.0, max_s=DELIVERY_TIMEOUT_S)
        assert subscriber.dropped == 0
    return [int(message.payload) for message in received]


def test_burst_to_slow_subscriber_arrives_complete_and_in_order(
    mosquitto: MosquittoBroker, topic_prefix: str
) -> None:
    numbers = send_burst_to_slow_subscriber(mosquitto, f"{topic_prefix}/burst")
    assert len(numbers) == BURST_SIZE, f"lost {BURST_SIZE - len(numbers)} of {BURST_SIZE}"
    assert numbers == list(range(BURST_SIZE))


def test_mosquitto_default_limits_would_lose_the_burst(topic_prefix: str) -> None:
    """The control: the same burst against Mosquitto's own defaults loses messages,
    so the test above really depends on the limits the harness sets."""
    with MosquittoBroker(limits=MOSQUITTO_DEFAULT_LIMITS) as default_broker:
        numbers = send_burst_to_slow_subscriber(default_broker, f"{topic_prefix}/burst")
        broker_log = default_broker.log_tail()
    # At most the queue plus the in-flight window survive; the broker only logs it.
    assert len(numbers) <= MOSQUITTO_DEFAULT_LIMITS.max_queued_messages + SLOW_RECEIVE_MAXIMUM
    assert "Outgoing messages are being dropped" in broker_log
    # What did arrive is still in order and without duplicates.
    assert numbers == sorted(set(numbers))
