"""The exceptions of :mod:`devservices`: one root, subclasses that also inherit the builtin."""

from __future__ import annotations


class DevServiceError(RuntimeError):
    """Root of every error raised by a throwaway local service."""


class BinaryNotFoundError(DevServiceError, FileNotFoundError):
    """A service's executable is neither on PATH nor at its usual Debian location."""


class ServiceCommandError(DevServiceError):
    """A helper command (initdb, mosquitto_passwd, createdb, ...) exited with an error."""


class ServiceStartError(DevServiceError):
    """The service exited, or never became ready, while starting; the message has its log tail."""


class ServiceStartTimeoutError(ServiceStartError, TimeoutError):
    """The service was still running but did not become ready within the timeout."""


class PortInUseError(ServiceStartError):
    """The service could not bind its port because something else holds it."""
