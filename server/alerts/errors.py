"""The alert service's exceptions (one root, each also the matching builtin)."""

from __future__ import annotations


class AlertError(Exception):
    """Root of the alert service's errors."""


class AlertNotFoundError(AlertError, LookupError):
    """No such alert (or not one the caller may see)."""


class IllegalTransitionError(AlertError, ValueError):
    """The alert's status does not allow the requested change (e.g. resolving it twice)."""


class InvalidSignalError(AlertError, ValueError):
    """A signal the service cannot store (naive time, over-long id …)."""


class AlertConflictError(AlertError, RuntimeError):
    """Other workers kept opening and resolving the same alert while this one tried to."""
