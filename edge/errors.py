"""Exceptions of the edge agents: one root, subclasses that also inherit a builtin."""

from __future__ import annotations


class EdgeError(Exception):
    """Root of every error raised by :mod:`edge`."""


class AllowlistError(EdgeError, ValueError):
    """An allowlist message that cannot be applied."""


class SnapshotNeededError(AllowlistError):
    """A delta that does not start from the version held: only a snapshot can help."""


class StateError(EdgeError, OSError):
    """The agent's state directory (allowlist cache, sequence numbers, keys) is unusable."""


class ConfigurationError(EdgeError, ValueError):
    """The device or site file is invalid (the message is siteconfig's report)."""
