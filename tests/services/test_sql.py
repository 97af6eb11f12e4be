"""SQLAlchemy 2 round trips against the harness's PostgreSQL and a SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, String, create_engine, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from devservices import PostgresCluster


class Base(DeclarativeBase):
    pass


class Visit(Base):
    __tablename__ = "harness_visit"

    id: Mapped[int] = mapped_column(primary_key=True)
    room: Mapped[str] = mapped_column(String(32))
    visited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


VISITED_AT = datetime(2024, 9, 1, 8, 30, tzinfo=UTC)


def round_trip(url: str) -> list[tuple[str, datetime]]:
    """Create the table, insert two rows in one session, read them back in another."""
    engine = create_engine(url)
    try:
        Base.metadata.create_all(engine)
        with Session(engine) as session, session.begin():
            session.add_all(
                [
                    Visit(room="b1-101", visited_at=VISITED_AT),
                    Visit(room="b1-102", visited_at=VISITED_AT),
                ]
            )
        with Session(engine) as session:
            rows = session.scalars(select(Visit).order_by(Visit.room)).all()
            return [(row.room, row.visited_at) for row in rows]
    finally:
        engine.dispose()


def test_postgres_round_trip(postgres_url: str) -> None:
    rows = round_trip(postgres_url)
    assert [room for room, _ in rows] == ["b1-101", "b1-102"]
    assert all(visited_at == VISITED_AT for _, visited_at in rows)


def test_postgres_is_version_15_or_newer(postgres: PostgresCluster) -> None:
    engine = create_engine(postgres.url)
    try:
        with engine.connect() as connection:
            version_num = connection.execute(text("SHOW server_version_num")).scalar_one()
            database = connection.execute(text("SELECT current_database()")).scalar_one()
    finally:
        engine.dispose()
    assert int(version_num) >= 150000
    assert database == postgres.database


def test_postgres_url_gives_each_test_its_own_database(
    postgres: PostgresCluster, postgres_url: str
) -> None:
    assert postgres_url != postgres.url
    assert postgres_url.startswith(f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/")
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            tables = connection.execute(
                text("SELECT count(*) FROM information_schema.tables WHERE table_schema='public'")
            ).scalar_one()
    finally:
        engine.dispose()
    assert tables == 0


def test_sqlite_round_trip_in_wal_mode(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            mode = connection.execute(text("PRAGMA journal_mode=WAL")).scalar_one()
        assert str(mode).lower() == "wal"
    finally:
        engine.dispose()
    rows = round_trip(sqlite_url)
    assert [room for room, _ in rows] == ["b1-101", "b1-102"]
    # SQLite has no time zones: the value comes back naive, in the UTC it was written in.
    assert all(visited_at.replace(tzinfo=UTC) == VISITED_AT for _, visited_at in rows)
    engine = create_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            # WAL is a property of the database file: a new connection still has it.
            assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    finally:
        engine.dispose()
