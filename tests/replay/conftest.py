"""A small generated offline-world database per module, and a writable copy of it per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from cli import app
from db.engine import make_engine


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database with one run of 16 offline-world conversations (seed 3)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('replay') / 'button.db'}"
    args = ["generate", "--n", "16", "--seed", "3", "--workers", "0", "--db", url]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return url


def _scalar(url: str, sql: str) -> object:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar()
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def parallel_id(generated: str) -> int:
    """A conversation whose assistant made two calls in one turn (forking it sequentially differs)."""
    value = _scalar(
        generated,
        "SELECT conversation_id FROM tool_calls GROUP BY conversation_id, message_id "
        "HAVING COUNT(*) > 1 ORDER BY conversation_id LIMIT 1",
    )
    assert isinstance(value, int)
    return value


@pytest.fixture
def db_copy(generated: str, tmp_path: Path) -> str:
    """A copy of the generated database that a test may write to (forks)."""
    engine = make_engine(generated)
    with engine.connect() as connection:  # checkpoint the WAL so the file holds everything
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    target = tmp_path / "copy.db"
    target.write_bytes(Path(generated.removeprefix("sqlite:///")).read_bytes())
    return f"sqlite:///{target}"


@pytest.fixture
def scalar():  # type: ignore[no-untyped-def]
    """`scalar(url, sql)`: one value from a database."""
    return _scalar
