"""A private Mosquitto for the simulator tests: captures see only their own runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devservices import DevServiceError, MosquittoBroker


@pytest.fixture
def private_broker() -> Iterator[MosquittoBroker]:
    broker = MosquittoBroker()
    try:
        broker.start()
    except DevServiceError as exc:
        pytest.fail(f"could not start Mosquitto: {exc}", pytrace=False)
    try:
        yield broker
    finally:
        broker.close()
