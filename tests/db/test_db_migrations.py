"""Alembic is the only way the schema changes: up, down and up again, with nothing left to autogenerate."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from db.engine import (
    DatabaseError,
    alembic_config,
    current_revision,
    downgrade,
    ensure_schema,
    head_revision,
    make_engine,
    migrate,
)
from db.models import Base

TABLES = {
    "runs",
    "scenarios",
    "atomic_tasks",
    "functions",
    "tasks",
    "task_functions",
    "conversations",
    "messages",
    "tool_calls",
    "checks",
}


def test_upgrade_downgrade_and_upgrade_again(db_url: str) -> None:
    engine = make_engine(db_url)
    assert current_revision(engine) is None
    migrate(engine)
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert "conversation_overview" in inspect(engine).get_view_names()

    downgrade(engine, "base")
    assert current_revision(engine) is None
    inspector = inspect(engine)
    assert set(inspector.get_table_names()) <= {"alembic_version"}
    assert inspector.get_view_names() == []

    migrate(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_nothing_left_to_autogenerate(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = connection
        command.check(cfg)  # the same through env.py; raises if a migration is missing
    engine.dispose()


def test_ensure_schema_is_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    ensure_schema(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_newer_schema_is_refused_and_left_untouched(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO runs (kind, status, seed, n_requested, config, versions) "
                "VALUES ('generate', 'finished', 1, 1, '{}', '{}')"
            )
        )
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))

    for attempt in (ensure_schema, migrate, lambda e: downgrade(e, "base")):
        with pytest.raises(DatabaseError) as caught:
            attempt(engine)
        message = str(caught.value)
        assert "\n" not in message
        if attempt is ensure_schema:
            assert "revision 9999" in message and f"head {head_revision()}" in message
            assert "upgrade button-sim" in message

    assert current_revision(engine) == "9999"
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM runs")).scalar_one() == 1
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()
