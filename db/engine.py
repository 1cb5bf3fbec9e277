"""Engines and sessions: URL checks with clear errors, SQLite tuned for one writer and many readers.

Every way a database URL can be wrong (malformed, unsupported, missing driver, missing directory,
unreachable server) becomes a `DatabaseError` naming the URL (password masked) and what to do, because
the CLI prints exactly that line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from db.errors import DatabaseError, ReadOnlyError, first_line, masked_url
from db.migrations import (
    alembic_config,
    current_revision,
    downgrade,
    ensure_schema,
    head_revision,
    migrate,
    require_schema,
)

__all__ = [  # the migration API is re-exported: callers open an engine and migrate it from one place
    "SUPPORTED_BACKENDS",
    "DatabaseError",
    "ReadOnlyError",
    "alembic_config",
    "current_revision",
    "downgrade",
    "ensure_schema",
    "head_revision",
    "make_engine",
    "migrate",
    "parse_url",
    "require_schema",
    "session_factory",
]

SUPPORTED_BACKENDS = ("sqlite", "postgresql")
_EXAMPLES = "sqlite:///path/to/button.db or postgresql://USER:PASSWORD@HOST:5432/DBNAME"
_SQLITE_BUSY_TIMEOUT_S = 30
_PG_CONNECT_TIMEOUT_S = 10


def parse_url(url: str) -> URL:
    """Parse a database URL and check it names a backend and driver we support."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(
            f"malformed database URL {masked_url(url)!r}: {first_line(exc)}; expected e.g. {_EXAMPLES}"
        ) from exc
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise DatabaseError(
            f"unsupported database {parsed.get_backend_name()!r} in URL "
            f"{masked_url(parsed)!r}; use {_EXAMPLES}"
        )
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError as exc:
        raise DatabaseError(
            f"unknown database driver {parsed.drivername!r} in URL {masked_url(parsed)!r}; use {_EXAMPLES}"
        ) from exc
    if getattr(dialect, "is_async", False):
        raise DatabaseError(
            f"the driver {parsed.drivername!r} in URL {masked_url(parsed)!r} is asynchronous; "
            f"button-sim uses synchronous drivers: {_EXAMPLES}"
        )
    return parsed


def _sqlite_engine(parsed: URL, create: bool) -> Engine:
    """A SQLite engine: WAL, synchronous=NORMAL, foreign keys on, 30 s busy timeout, real transactions."""
    database = parsed.database or ""
    in_memory = database in ("", ":memory:")
    if not in_memory and not database.startswith("file:"):
        path = Path(database).expanduser()
        if not create and not path.is_file():
            raise DatabaseError(
                f"no database at {database!r}: check --db (button generate creates one, this command "
                "only reads)"
            )
        folder = path.resolve().parent
        if not folder.is_dir():
            raise DatabaseError(
                f"the folder of the SQLite database {database!r} does not exist ({folder}); "
                "create it first or choose another path"
            )
    kwargs: dict[str, Any] = {"connect_args": {"timeout": _SQLITE_BUSY_TIMEOUT_S}}
    if in_memory:
        kwargs["poolclass"] = StaticPool  # one shared connection, else each checkout is a new empty db
    engine = create_engine(parsed, **kwargs)
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling skips BEGIN for SELECT and DDL; take it over so a transaction
    # (an episode, a migration) is atomic. See SQLAlchemy's pysqlite "serializable isolation" notes.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        f"busy_timeout={_SQLITE_BUSY_TIMEOUT_S * 1000}",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _on_sqlite_begin(connection: Any) -> None:
    # A connection marked `sqlite_immediate` takes the write lock up front (migrations): a deferred
    # transaction that reads first and writes later fails at once, without waiting, if another
    # process wrote in between.
    immediate = connection.get_execution_options().get("sqlite_immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _postgresql_engine(parsed: URL) -> Engine:
    """A PostgreSQL engine through psycopg 3 (a plain postgresql:// URL maps to it in SQLAlchemy 2.1)."""
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = _PG_CONNECT_TIMEOUT_S
    return create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)


def make_engine(url: str, *, create: bool = True) -> Engine:
    """Build an engine for `url` and connect once, so a bad URL fails here with a clear message.
    `create=False` (commands that only read) refuses a SQLite file that does not exist instead of
    creating an empty one."""
    parsed = parse_url(url)
    try:
        sqlite = parsed.get_backend_name() == "sqlite"
        engine = _sqlite_engine(parsed, create) if sqlite else _postgresql_engine(parsed)
    except ImportError as exc:
        raise DatabaseError(
            f"the database driver for {masked_url(parsed)!r} is not installed "
            f"({first_line(exc)}); install it or use {_EXAMPLES}"
        ) from exc
    except ArgumentError as exc:
        raise DatabaseError(f"invalid database URL {masked_url(parsed)!r}: {first_line(exc)}") from exc
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        engine.dispose()
        raise DatabaseError(
            f"cannot reach the database at {masked_url(parsed)}: {first_line(exc)}; "
            "check the URL and that the server is running"
        ) from exc
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for the store functions; objects stay readable after the caller commits."""
    return sessionmaker(bind=engine, expire_on_commit=False)
