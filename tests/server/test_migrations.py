"""The Alembic migrations build exactly the schema the ORM models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from server.db import Base


def test_migrated_schema_equals_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_personal_data_stays_in_its_own_tables() -> None:
    personal_columns = {"full_name", "username", "password_hash"}
    holders = {
        table.name
        for table in Base.metadata.tables.values()
        if personal_columns.intersection(table.c.keys())
    }
    assert holders == {"person_private", "user_account"}
