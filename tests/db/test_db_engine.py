"""Every way a database URL can be wrong ends in one clear line naming it, password masked."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import text

from db.engine import DatabaseError, make_engine, session_factory


def _one_line(exc: pytest.ExceptionInfo[DatabaseError]) -> str:
    message = str(exc.value)
    assert "\n" not in message and message.strip() == message
    return message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "malformed database URL 'not a url'"),
        ("mysql://root@localhost/button", "unsupported database 'mysql'"),
        ("postgresql+nosuchdriver://u@localhost/button", "unknown database driver 'postgresql+nosuchdriver'"),
        (
            "postgresql+pg8000://u@localhost/button",
            "driver for 'postgresql+pg8000://u@localhost/button' is not",
        ),
        ("postgresql+asyncpg://u@localhost/button", "is asynchronous"),
    ],
)
def test_bad_urls_name_the_problem(url: str, expected: str) -> None:
    with pytest.raises(DatabaseError) as caught:
        make_engine(url)
    assert expected in _one_line(caught)


def test_sqlite_file_in_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "button.db"
    with pytest.raises(DatabaseError) as caught:
        make_engine(f"sqlite:///{missing}")
    message = _one_line(caught)
    assert str(missing) in message and "does not exist" in message


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


def test_unreachable_server_masks_the_password() -> None:
    port = _closed_port()
    with pytest.raises(DatabaseError) as caught:
        make_engine(f"postgresql://button:s3cret@127.0.0.1:{port}/button")
    message = _one_line(caught)
    assert message.startswith(
        f"cannot reach the database at postgresql://button:***@127.0.0.1:{port}/button: "
    )
    assert "s3cret" not in message


def test_sqlite_engine_settings(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        pragma = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert pragma == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 30000}
    engine.dispose()


def test_sqlite_transactions_are_atomic(sqlite_url: str) -> None:
    """DDL and DML roll back together (pysqlite alone would autocommit the DDL)."""
    engine = make_engine(sqlite_url)
    with pytest.raises(RuntimeError), session_factory(engine).begin() as session:
        session.execute(text("CREATE TABLE scratch (x INTEGER)"))
        session.execute(text("INSERT INTO scratch VALUES (1)"))
        raise RuntimeError("abort the episode")
    with engine.connect() as connection:
        assert (
            connection.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name = 'scratch'").scalar()
            == 0
        )
    engine.dispose()
