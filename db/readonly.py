"""`button sql`: run one query on a connection the database itself keeps read-only.

No SQL parsing decides what is allowed: SQLite is opened with `mode=ro` (plus `query_only` and an
authorizer that refuses ATTACH). PostgreSQL runs the query in a `default_transaction_read_only=on`
session as a role that can only read, which the query cannot leave (db/pg_reader.py), and takes it as a
prepared statement, so the server refuses a second statement smuggled after a `;`. The transaction is
always rolled back.
"""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from db.engine import parse_url
from db.errors import DatabaseError, ReadOnlyError, first_line, masked_url
from db.pg_reader import read_as_reader

__all__ = ["run_readonly_query"]

_WRITE_REFUSED = "the query tried to change the database, and `button sql` is read-only"
_PG_READ_ONLY_STATES = {"25006", "25001"}  # read_only_sql_transaction; active_sql_transaction (VACUUM, ...)
_PG_NOT_ALLOWED = "42501"  # insufficient_privilege: the reader role may not do it
_SQLITE_READ_ONLY_TEXT = ("readonly database", "not authorized", "read-only")


def _sqlite_authorizer(action: int, *_args: Any) -> int:
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY  # ATTACH could create or write another file
    return sqlite3.SQLITE_OK


def _sqlite_readonly_engine(parsed: URL) -> Engine:
    database = parsed.database or ""
    path = Path(database).expanduser()
    if database in ("", ":memory:") or not path.is_file():
        raise DatabaseError(
            f"no SQLite database at {database or ':memory:'!r} (from {masked_url(parsed)}); "
            "run `button generate` first or check the path"
        )
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
        connection.execute("PRAGMA query_only=ON")
        connection.set_authorizer(_sqlite_authorizer)
        return connection

    return create_engine("sqlite://", creator=connect, poolclass=NullPool)


def _postgresql_readonly_engine(parsed: URL) -> Engine:
    given = parsed.query.get("options")
    given_text = " ".join(given) if isinstance(given, tuple) else (given or "")
    options = f"{given_text} -c default_transaction_read_only=on".strip()
    connect_args: dict[str, Any] = {"options": options, "connect_timeout": 10}
    return create_engine(
        parsed.difference_update_query(["options"]), connect_args=connect_args, poolclass=NullPool
    )


def _classify(error: Exception, url: URL) -> DatabaseError:
    """A write refusal becomes ReadOnlyError; anything else carries the database's own message."""
    message = first_line(error)
    if getattr(error, "sqlstate", None) in _PG_READ_ONLY_STATES or (
        isinstance(error, sqlite3.Error) and any(text in message for text in _SQLITE_READ_ONLY_TEXT)
    ):
        return ReadOnlyError(f"{_WRITE_REFUSED} ({message})")
    if getattr(error, "sqlstate", None) == _PG_NOT_ALLOWED:
        return DatabaseError(
            "`button sql` runs queries as a role that may only read button-sim's tables, and the "
            f"database refused this one: {message}"
        )
    if "multiple commands" in message or "one statement at a time" in message:
        return DatabaseError(f"`button sql` runs one statement at a time; send them separately ({message})")
    return DatabaseError(f"the query failed on {masked_url(url)}: {message}")


def _execute(engine: Engine, sql: str, url: URL) -> tuple[list[str], list[tuple[Any, ...]]]:
    try:
        connection = engine.connect()
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot reach the database at {masked_url(url)}: {first_line(exc)}") from exc
    with connection:
        raw = connection.connection.dbapi_connection
        try:
            if isinstance(raw, psycopg.Connection):
                columns, rows = read_as_reader(raw, sql, masked_url(url))
            else:
                columns, rows = _sqlite_rows(raw, sql)
        except (sqlite3.Error, psycopg.Error) as exc:
            raise _classify(exc, url) from exc
        finally:
            with suppress(sqlite3.Error, psycopg.Error):  # a connection the query broke rolls back on close
                raw.rollback()  # type: ignore[union-attr]
    return columns, [tuple(row) for row in rows]


def _sqlite_rows(raw: Any, sql: str) -> tuple[list[str], list[Any]]:
    cursor = raw.cursor()
    try:
        cursor.execute(sql)
        columns = [column[0] for column in cursor.description or []]
        return columns, cursor.fetchall() if cursor.description else []
    finally:
        cursor.close()


def run_readonly_query(url: str, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one statement read-only; returns column names and rows (empty for a statement without rows)."""
    if not sql.strip().strip(";").strip():
        raise DatabaseError(
            "the query is empty; give one SQL statement, e.g. SELECT * FROM conversation_overview"
        )
    parsed = parse_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    engine = _sqlite_readonly_engine(parsed) if sqlite else _postgresql_readonly_engine(parsed)
    try:
        return _execute(engine, sql, parsed)
    finally:
        engine.dispose()
