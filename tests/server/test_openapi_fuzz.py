"""Schemathesis over the OpenAPI document, authenticated as admin: no request makes a 5xx.

Every operation of the document gets valid (positive) and invalid (negative)
generated requests. Examples are derandomized, so a run is repeatable; the
count per operation is small to keep the suite fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from devservices import MosquittoBroker
from tests.server.apiclient import SeededApi, make_settings, seeded_api

EXAMPLES_PER_OPERATION = 12


@pytest.fixture
def api(database_url: str, tmp_path: Path, mosquitto: MosquittoBroker) -> Iterator[SeededApi]:
    config = make_settings(
        database_url,
        tmp_path,
        mqtt_enabled=True,
        mqtt_host=mosquitto.host,
        mqtt_port=mosquitto.port,
        mqtt_topic_filter="dorm/v1/fuzz-nobody/#",
        # The alert stream ends after this (it would otherwise never end).
        alert_sse_max_s=0.2,
    )
    with seeded_api(config) as seeded:
        yield seeded


def test_no_generated_request_makes_a_server_error(api: SeededApi) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document itself is valid
        operations.append(result.ok())
    assert len(operations) >= 25
    admin = api.headers("admin")
    failures: list[str] = []

    for operation in operations:
        strategy = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case[Any]) -> None:
            response = case.call(headers=admin)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")

        check()
    assert failures == []
