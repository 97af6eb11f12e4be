"""The building's current allowlist, kept as the retained snapshot on the building broker.

A snapshot replaces it. A delta from the current version is applied
(upserts, removals, keys) and the result is published again as the retained
snapshot at the delta's version, so a gate that connects later gets the
current version at once. A delta that does not follow the current version
is relayed as it is, but cannot be applied (counted as a gap) until the next
snapshot arrives.
"""

from __future__ import annotations

import logging

from protocol.messages import AllowlistDelta, AllowlistSnapshot

log = logging.getLogger(__name__)


class AllowlistState:
    def __init__(self) -> None:
        self.current: AllowlistSnapshot | None = None
        self.gaps = 0

    @property
    def version(self) -> int | None:
        return None if self.current is None else self.current.version

    def snapshot(self, snapshot: AllowlistSnapshot) -> None:
        self.current = snapshot

    def apply(self, delta: AllowlistDelta) -> AllowlistSnapshot | None:
        """The snapshot after ``delta``, or None when it does not follow the current version."""
        current = self.current
        if current is None or delta.from_version != current.version:
            self.gaps += 1
            log.warning(
                "allowlist delta %d->%d does not follow the current version %s",
                delta.from_version,
                delta.version,
                self.version,
            )
            return None
        removed = set(delta.removals)
        entries = {e.person: e for e in current.entries if e.person not in removed}
        for entry in delta.upserts:
            entries[entry.person] = entry
        updated = AllowlistSnapshot(
            building=current.building,
            version=delta.version,
            issued_at=delta.issued_at,
            entries=list(entries.values()),
            schedules=current.schedules,
            keys=current.keys if delta.keys is None else delta.keys,
        )
        self.current = updated
        return updated
