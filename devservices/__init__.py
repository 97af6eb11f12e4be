"""Throwaway local services for tests, ``dorm demo`` and benchmarks.

Each launcher starts a real server on free 127.0.0.1 ports in a private temp
dir, waits until it answers, and stops and deletes it afterwards::

    with MosquittoBroker(users={"dev-a": "pw"}, acl=rules) as broker:
        ...  # broker.host, broker.port (anonymous), broker.auth_port

Binaries are found on PATH, then at their Debian locations. Every error is a
:class:`DevServiceError`; a service that fails to start raises one carrying
the tail of its log. :mod:`devservices.mqttprobe` (a paho client for tests)
is not imported here, so this package needs no MQTT library.
"""

from devservices.base import DevService
from devservices.errors import (
    BinaryNotFoundError,
    DevServiceError,
    PortInUseError,
    ServiceCommandError,
    ServiceStartError,
    ServiceStartTimeoutError,
)
from devservices.mosquitto import (
    BROKER_LIMITS,
    MOSQUITTO_DEFAULT_LIMITS,
    AclRule,
    BrokerLimits,
    Listener,
    MosquittoBroker,
    MqttCredentials,
    render_acl,
    render_mosquitto_config,
)
from devservices.postgres import PostgresCluster
from devservices.victoriametrics import (
    ExportedSeries,
    VictoriaMetrics,
    VictoriaMetricsHttpError,
    VictoriaMetricsTimeoutError,
)

__all__ = [
    "BROKER_LIMITS",
    "MOSQUITTO_DEFAULT_LIMITS",
    "AclRule",
    "BinaryNotFoundError",
    "BrokerLimits",
    "DevService",
    "DevServiceError",
    "ExportedSeries",
    "Listener",
    "MosquittoBroker",
    "MqttCredentials",
    "PortInUseError",
    "PostgresCluster",
    "ServiceCommandError",
    "ServiceStartError",
    "ServiceStartTimeoutError",
    "VictoriaMetrics",
    "VictoriaMetricsHttpError",
    "VictoriaMetricsTimeoutError",
    "render_acl",
    "render_mosquitto_config",
]
