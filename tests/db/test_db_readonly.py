"""`button sql` cannot change the database: the connection refuses, whatever the SQL says."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from db import store
from db.engine import DatabaseError, ReadOnlyError
from db.readonly import run_readonly_query

WRITES = [
    "INSERT INTO runs (kind, status, seed, n_requested, config, versions) "
    "VALUES ('x', 'running', 1, 1, '{}', '{}')",
    "UPDATE runs SET status = 'failed'",
    "DELETE FROM runs",
    "DROP TABLE checks",
    "CREATE TABLE scratch (x INTEGER)",
    "CREATE VIEW scratch_view AS SELECT 1 AS one",
]


def _snapshot(engine: Engine) -> tuple[object, ...]:
    with engine.connect() as connection:
        return tuple(
            connection.execute(text(sql)).all()
            for sql in (
                "SELECT id, status FROM runs ORDER BY id",
                "SELECT count(*) FROM tasks",
                "SELECT count(*) FROM checks",
            )
        )


@pytest.fixture
def filled(engine: Engine, sessions: sessionmaker[Session], samples: ModuleType) -> Engine:
    with sessions.begin() as session:
        run_id = store.create_run(session, kind="generate", seed=1, n_requested=1, config={}, versions={})
        [task_id] = store.add_tasks(session, run_id, [samples.sample_task()])
        store.add_conversation(
            session,
            run_id=run_id,
            task_id=task_id,
            trajectory=samples.sample_trajectory(),
            checks=samples.all_passed(),
            models={},
        )
    return engine


def test_select_works(db_url: str, filled: Engine) -> None:
    columns, rows = run_readonly_query(db_url, "SELECT status, n_calls FROM conversation_overview;")
    assert columns == ["status", "n_calls"] and rows == [("accepted", 3)]


@pytest.mark.parametrize("sql", WRITES)
def test_writes_are_refused(db_url: str, filled: Engine, sql: str) -> None:
    before = _snapshot(filled)
    with pytest.raises(ReadOnlyError) as caught:
        run_readonly_query(db_url, sql)
    message = str(caught.value)
    assert "tried to change the database" in message and "`button sql` is read-only" in message
    assert "\n" not in message
    assert _snapshot(filled) == before


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1; DELETE FROM runs",
        "SET TRANSACTION READ WRITE; DELETE FROM runs; COMMIT",
        "PRAGMA query_only = OFF; DELETE FROM runs",
    ],
)
def test_a_second_statement_is_refused(db_url: str, filled: Engine, sql: str) -> None:
    """Whichever error comes first (a dialect's syntax error, or the second statement), nothing runs."""
    before = _snapshot(filled)
    with pytest.raises(DatabaseError) as caught:
        run_readonly_query(db_url, sql)
    if sql.startswith("SELECT 1;"):
        assert "one statement at a time" in str(caught.value)
    assert _snapshot(filled) == before


def test_syntax_error_carries_the_database_message(db_url: str, filled: Engine) -> None:
    with pytest.raises(DatabaseError) as caught:
        run_readonly_query(db_url, "SELEC * FROM runs")
    assert not isinstance(caught.value, ReadOnlyError)
    assert "the query failed on" in str(caught.value) and "SELEC" in str(caught.value)


def test_empty_query_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="the query is empty"):
        run_readonly_query(f"sqlite:///{tmp_path / 'x.db'}", " ; ")
    with pytest.raises(DatabaseError, match="no SQLite database at"):
        run_readonly_query(f"sqlite:///{tmp_path / 'missing.db'}", "SELECT 1")
    assert not (tmp_path / "missing.db").exists()


def test_sqlite_attach_is_refused(db_url: str, filled: Engine, tmp_path: Path) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("ATTACH is SQLite's")
    with pytest.raises(ReadOnlyError):
        run_readonly_query(db_url, f"ATTACH DATABASE '{tmp_path / 'other.db'}' AS other")
    assert not (tmp_path / "other.db").exists()
