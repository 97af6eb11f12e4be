"""Exceptions of the contract: one root, subclasses that are also ``ValueError``."""

from __future__ import annotations

import enum


class ProtocolError(Exception):
    """Root of every error raised by :mod:`protocol`."""


class RejectReason(enum.StrEnum):
    """Why a message was refused; counted per reason at every hop."""

    TOO_LARGE = "too_large"
    MALFORMED = "malformed"  # not JSON at all, or not an object
    UNKNOWN_FIELD = "unknown_field"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    OUT_OF_RANGE = "out_of_range"
    BAD_VALUE = "bad_value"  # pattern, length or enum value
    BAD_TIMESTAMP = "bad_timestamp"
    UNKNOWN_TOPIC = "unknown_topic"
    TOPIC_MISMATCH = "topic_mismatch"  # payload names another device/building than its topic


class InvalidMessageError(ProtocolError, ValueError):
    """A payload that does not satisfy the contract.

    ``reason`` is the machine-readable category (for counters), ``detail`` the
    human-readable explanation (for logs), ``path`` the offending field.
    """

    def __init__(self, reason: RejectReason, detail: str, path: str | None = None) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
        self.path = path
