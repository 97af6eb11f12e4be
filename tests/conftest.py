"""Fixtures shared by every test: the real services the harness starts, and helpers.

Session fixtures start a private Mosquitto, PostgreSQL and VictoriaMetrics on
free ports (see :mod:`devservices`) and close them when the session ends. They
never assume a service is already running; a missing binary or a service that
does not start FAILS the tests that need it, with the reason, and never skips
them. Tests that use one of these fixtures, and the harness's own tests in
``tests/services/``, get the ``services`` marker, so ``pytest -m "not services"``
runs the rest alone.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Final, TypeVar

import pytest

from devservices import (
    AclRule,
    DevService,
    DevServiceError,
    MosquittoBroker,
    MqttCredentials,
    PostgresCluster,
    VictoriaMetrics,
)

SERVICE_FIXTURES: Final = frozenset({"mosquitto", "postgres", "postgres_url", "victoria"})

#: The device the broker's ACL confines (see the ``mosquitto`` fixture).
DEVICE_USERNAME: Final = "dev-a"
#: A user the ACL lets read and write every topic.
ADMIN_USERNAME: Final = "test-admin"

_S = TypeVar("_S", bound=DevService)


#: Tests of the harness itself; most start services of their own.
HARNESS_TESTS_DIR: Final = Path(__file__).resolve().parent / "services"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        uses_service = SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if uses_service or item.path.is_relative_to(HARNESS_TESTS_DIR):
            item.add_marker(pytest.mark.services)


def _start_or_fail(service: _S) -> _S:
    """Start ``service``; on any harness error FAIL (never skip) with the reason."""
    try:
        return service.start()
    except DevServiceError as exc:
        reason = str(exc)
    # Outside the except block, so the report shows the reason once, unchained.
    pytest.fail(f"could not start {service.service_name} for the tests: {reason}", pytrace=False)


@pytest.fixture(scope="session")
def mqtt_device_credentials() -> MqttCredentials:
    """Credentials of ``dev-a``, confined by the ACL to ``dorm/v1/b1/dev/dev-a/``."""
    return MqttCredentials(DEVICE_USERNAME, secrets.token_urlsafe(16))


@pytest.fixture(scope="session")
def mqtt_admin_credentials() -> MqttCredentials:
    """Credentials of a user allowed to read and write every (non-``$SYS``) topic."""
    return MqttCredentials(ADMIN_USERNAME, secrets.token_urlsafe(16))


def _device_acl(device: str, building: str = "b1") -> list[AclRule]:
    """A device may publish under its own subtree and read only its own commands."""
    base = f"dorm/v1/{building}/dev/{device}"
    return [
        AclRule(f"{base}/#", "write", username=device),
        AclRule(f"{base}/cmd/#", "read", username=device),
    ]


@pytest.fixture(scope="session")
def mosquitto(
    mqtt_device_credentials: MqttCredentials, mqtt_admin_credentials: MqttCredentials
) -> Iterator[MosquittoBroker]:
    """One broker for the session: ``.port`` anonymous, ``.auth_port`` password + ACL.

    On ``.auth_port``: ``dev-a`` (``mqtt_device_credentials``) may write
    ``dorm/v1/b1/dev/dev-a/#`` and read ``dorm/v1/b1/dev/dev-a/cmd/#``;
    ``test-admin`` (``mqtt_admin_credentials``) may read and write ``#``.
    Tests share it: use ``topic_prefix`` (or a unique suffix) for your topics.
    """
    broker = MosquittoBroker(
        users={
            mqtt_device_credentials.username: mqtt_device_credentials.password,
            mqtt_admin_credentials.username: mqtt_admin_credentials.password,
        },
        acl=[
            *_device_acl(mqtt_device_credentials.username),
            AclRule("#", "readwrite", username=mqtt_admin_credentials.username),
        ],
    )
    try:
        yield _start_or_fail(broker)
    finally:
        broker.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """One PostgreSQL cluster for the session; ``.url`` is a SQLAlchemy URL (psycopg 3)."""
    cluster = PostgresCluster()
    try:
        yield _start_or_fail(cluster)
    finally:
        cluster.close()


@pytest.fixture
def postgres_url(postgres: PostgresCluster) -> str:
    """A fresh, empty PostgreSQL database for one test (SQLAlchemy URL, psycopg 3)."""
    return postgres.create_database(f"t_{uuid.uuid4().hex}")


@pytest.fixture(scope="session")
def victoria() -> Iterator[VictoriaMetrics]:
    """One VictoriaMetrics for the session; ``.url`` takes InfluxDB ``/api/v2/write``."""
    server = VictoriaMetrics()
    try:
        yield _start_or_fail(server)
    finally:
        server.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLAlchemy URL of a new SQLite file in the test's own temp dir."""
    return f"sqlite+pysqlite:///{tmp_path / 'dorm.db'}"


_TOPIC_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@pytest.fixture
def topic_prefix(request: pytest.FixtureRequest) -> str:
    """A topic prefix no other test (or run) uses: ``test/<test name>/<random hex>``."""
    name = _TOPIC_UNSAFE.sub("-", request.node.name).strip("-")[:60] or "test"
    return f"test/{name}/{uuid.uuid4().hex[:12]}"
