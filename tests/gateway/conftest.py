"""Two real Mosquitto brokers per test: the building's and the central one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devservices import MosquittoBroker


@pytest.fixture
def building_broker() -> Iterator[MosquittoBroker]:
    with MosquittoBroker() as broker:
        yield broker


@pytest.fixture
def central_broker() -> Iterator[MosquittoBroker]:
    # Persistent, so a collector's session survives the broker being stopped.
    with MosquittoBroker(persistence=True) as broker:
        yield broker
