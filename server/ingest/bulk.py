"""Bulk statements run through the driver's own ``executemany``.

SQLAlchemy builds and compiles each statement once; only the per-row work that
dominated a profile of ingest — SQLAlchemy building bind parameters row by
row and converting every datetime — is done here once per batch, in the form
each driver takes. On the development machine this roughly doubled the events
per second a 1,000-event batch is written with on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, Final

from sqlalchemy import Connection, Dialect, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from server.db.base import UTCDateTime
from server.ingest.rows import Row

_NAIVE_ISO_LEN: Final = len("2026-09-01 08:00:00.000000")
#: Ids per ``IN (?, ...)`` lookup: below SQLite's oldest default limit of 999 variables.
_SQLITE_IDS_PER_QUERY: Final = 900


def _sqlite_datetime(value: datetime | None) -> str | None:
    """SQLAlchemy's storage format of a DateTime on SQLite, in naive UTC (see UTCDateTime)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # "YYYY-MM-DD HH:MM:SS.ffffff+00:00" without its offset.
    return value.isoformat(" ", "microseconds")[:_NAIVE_ISO_LEN]


#: Set once on each SQLite connection the ingest writer uses (``Connection.info`` marks it).
#: A bigger page cache (64 MiB instead of 2 MiB) keeps the randomly hit index pages
#: (person, presence, event id) in memory, where SQLite re-read them from the file for
#: every batch; a checkpoint every ~40 MB of WAL instead of ~4 MB copies index pages
#: that every batch rewrites fewer times. Together about a third of the writer's
#: system time on the ingest benchmark (bench/server_ingest.py).
SQLITE_INGEST_PRAGMAS: Final = ("PRAGMA cache_size=-65536", "PRAGMA wal_autocheckpoint=10000")
_TUNED_KEY: Final = "dorm_ingest_pragmas"


def prepare_connection(conn: Connection) -> None:
    """Apply :data:`SQLITE_INGEST_PRAGMAS` to an SQLite connection, once per connection."""
    if conn.dialect.name != "sqlite" or conn.info.get(_TUNED_KEY):
        return
    for pragma in SQLITE_INGEST_PRAGMAS:
        conn.exec_driver_sql(pragma)
    conn.info[_TUNED_KEY] = True


def dialect_insert(table: Table, dialect: Dialect) -> sqlite.Insert | postgresql.Insert:
    """``INSERT`` with the dialect's ``ON CONFLICT`` support (SQLite or PostgreSQL)."""
    if dialect.name == "sqlite":
        return sqlite.insert(table)
    return postgresql.insert(table)


@dataclass(frozen=True)
class BulkStatement:
    """One compiled insert (plain, ignore or upsert) for one table and dialect."""

    table: Table
    sql: str
    #: Parameter order for positional drivers (SQLite); None for named ones (psycopg).
    positions: tuple[str, ...] | None
    sqlite: bool
    datetime_keys: tuple[str, ...]

    @classmethod
    def compile(cls, statement: Insert, table: Table, dialect: Dialect) -> BulkStatement:
        keys = [c.key for c in table.columns]
        compiled = statement.compile(dialect=dialect, column_keys=keys)
        return cls(
            table=table,
            sql=compiled.string,
            positions=tuple(compiled.positiontup) if compiled.positiontup else None,
            sqlite=dialect.name == "sqlite",
            datetime_keys=tuple(c.key for c in table.columns if isinstance(c.type, UTCDateTime)),
        )

    @classmethod
    def insert_or_ignore(cls, table: Table, dialect: Dialect) -> BulkStatement:
        """``INSERT ... ON CONFLICT (event_id) DO NOTHING``."""
        statement = dialect_insert(table, dialect).on_conflict_do_nothing(
            index_elements=["event_id"]
        )
        return cls.compile(statement, table, dialect)

    def _params(self, rows: Sequence[Row]) -> list[Any]:
        """Rows must carry every column; for SQLite their datetimes are converted in
        place to SQLAlchemy's text form."""
        if self.sqlite:
            for row in rows:
                for key in self.datetime_keys:
                    row[key] = _sqlite_datetime(row[key])
        if self.positions is not None:
            pick = itemgetter(*self.positions)
            return [pick(row) for row in rows]
        return list(rows)

    def existing(self, conn: Connection, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are already stored (tables keyed by ``event_id``).

        A plain driver query: SQLAlchemy's expanding ``IN`` rendered a bound
        parameter per id, which cost more than the lookup itself.
        """
        if not ids:
            return set()
        table = self.table.name
        if not self.sqlite:
            sql = f"SELECT event_id FROM {table} WHERE event_id = ANY(%(ids)s)"
            return {row[0] for row in conn.exec_driver_sql(sql, {"ids": list(ids)})}
        found: set[str] = set()
        for start in range(0, len(ids), _SQLITE_IDS_PER_QUERY):
            chunk = tuple(ids[start : start + _SQLITE_IDS_PER_QUERY])
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT event_id FROM {table} WHERE event_id IN ({marks})"
            found.update(row[0] for row in conn.exec_driver_sql(sql, chunk))
        return found

    def execute(self, conn: Connection, rows: Sequence[Row]) -> int:
        """Run the statement for every row; return the rows the database changed."""
        if not rows:
            return 0
        result = conn.exec_driver_sql(self.sql, self._params(rows))
        return max(result.rowcount, 0)
