"""The alert service: rules-engine signals become alerts with a lifecycle, escalated and delivered.

See docs/alerts.md. The engine's side of the contract is :mod:`rules.signals`.
"""

from server.alerts.errors import (
    AlertConflictError,
    AlertError,
    AlertNotFoundError,
    IllegalTransitionError,
    InvalidSignalError,
)
from server.alerts.events import AlertEvent, AlertEventSink, Change
from server.alerts.service import AlertService, EscalationPolicy, fingerprint
from server.alerts.stats import AlertStats

__all__ = [
    "AlertConflictError",
    "AlertError",
    "AlertEvent",
    "AlertEventSink",
    "AlertNotFoundError",
    "AlertService",
    "AlertStats",
    "Change",
    "EscalationPolicy",
    "IllegalTransitionError",
    "InvalidSignalError",
    "fingerprint",
]
