"""The gateway's durable state: the uplink outbox and the dedupe marks, in one SQLite file.

:class:`GatewayOutbox` is a :class:`transport.outbox.Outbox` that also keeps
the ``(device, seq)`` pairs it accepted, written in the **same transaction**
as the messages. So after a SIGKILL the gateway knows exactly what it already
stored, and a message the building broker redelivers (it was stored but its
PUBACK to the building broker never left) is recognised as a duplicate
instead of being forwarded twice.

It uses the outbox's ``extra_schema`` and ``same_transaction`` hooks.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from transport.outbox import Message, Outbox

_SEEN_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS seen (
    device TEXT    NOT NULL,
    seq    INTEGER NOT NULL,
    PRIMARY KEY (device, seq)
) WITHOUT ROWID;
"""


class GatewayOutbox(Outbox):
    """Outbox + dedupe marks, committed together."""

    def __init__(self, path: Path, *, max_rows: int, warn_ratio: float = 0.9) -> None:
        super().__init__(path, max_rows=max_rows, warn_ratio=warn_ratio, extra_schema=_SEEN_SCHEMA)

    def put_batch(
        self,
        messages: Sequence[Message],
        seen: Sequence[tuple[str, int]],
        prune_below: Sequence[tuple[str, int]] = (),
    ) -> int:
        """Store messages and their ``(device, seq)`` marks in one transaction.

        ``prune_below`` holds ``(device, floor)``: marks of that device with a
        seq at or below ``floor`` are deleted (they left the dedupe window).
        Returns how many messages were accepted (the rest were refused: full).
        """

        def record_marks(db: sqlite3.Connection) -> None:
            # Prune first: a device whose numbering restarted has all its old
            # marks pruned, and then gets its new ones.
            db.executemany("DELETE FROM seen WHERE device = ? AND seq <= ?", prune_below)
            db.executemany("INSERT OR IGNORE INTO seen (device, seq) VALUES (?, ?)", seen)

        return self.put_many(messages, same_transaction=record_marks)

    def __enter__(self) -> GatewayOutbox:
        return self

    def load_seen(self) -> list[tuple[str, int]]:
        return [
            (str(device), int(seq)) for device, seq in self.read("SELECT device, seq FROM seen")
        ]
