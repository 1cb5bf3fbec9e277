"""Schema migrations, run programmatically: Alembic is the only way the schema is created or changed.

Migrations run on the caller's engine through a shared connection, inside one transaction (atomic on
PostgreSQL, and on SQLite thanks to the engine's explicit BEGIN) and, on PostgreSQL, under an advisory
lock so two processes starting at once do not both create the schema.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from db.errors import DatabaseError, first_line, masked_url

__all__ = [
    "ALEMBIC_DIR",
    "alembic_config",
    "current_revision",
    "downgrade",
    "ensure_schema",
    "head_revision",
    "is_ours",
    "migrate",
    "require_schema",
]

ALEMBIC_DIR = Path(__file__).resolve().parents[1] / "alembic"
_PG_LOCK_KEY = 0x42_55_54_54  # "BUTT": any fixed number shared by every button-sim process
QUEUE_PREFIX = "procrastinate_"  # the job queue's own objects (migration 0011), not in db/models.py


def is_ours(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's `include_name` hook: compare only button-sim's own tables, not the job queue's, whose
    schema is procrastinate's (created from its SQL by migration 0011)."""
    return not (type_ == "table" and (name or "").startswith(QUEUE_PREFIX))


def alembic_config(url_or_engine: str | Engine) -> Config:
    """An Alembic config for this repository's migrations, built in code (no alembic.ini)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    if isinstance(url_or_engine, Engine):
        url = url_or_engine.url.render_as_string(hide_password=False)
    else:
        url = url_or_engine
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # ConfigParser interpolation
    return cfg


def head_revision() -> str:
    """The newest revision this version of button-sim knows."""
    head = ScriptDirectory(str(ALEMBIC_DIR)).get_current_head()
    if head is None:
        raise DatabaseError(f"no migrations found in {ALEMBIC_DIR}; the installation is incomplete")
    return head


def _revision_of(connection: Connection) -> str | None:
    heads = MigrationContext.configure(connection).get_current_heads()
    if len(heads) > 1:
        raise DatabaseError(
            f"the schema version table of {masked_url(connection.engine.url)} holds {len(heads)} revisions "
            f"({', '.join(sorted(heads))}) where it should hold one: it was edited by hand or by another "
            "tool; delete the rows that are not the schema's (button sql cannot write: use the database's "
            "own shell, e.g. DELETE FROM alembic_version WHERE version_num = '...')"
        )
    return heads[0] if heads else None


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at; None for a database without a schema."""
    try:
        with engine.connect() as connection:
            return _revision_of(connection)
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"cannot read the schema revision of {masked_url(engine.url)}: {first_line(exc)}"
        ) from exc


def _lock(connection: Connection) -> None:
    """Serialize schema changes between processes: an advisory lock on PostgreSQL (on SQLite the
    engine's BEGIN IMMEDIATE does it); a process that waited then finds the schema already done."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


def _check_known(engine: Engine, revision: str | None) -> None:
    """Refuse a database whose schema is newer than this code: touching it could lose data."""
    if revision is None:
        return
    try:
        ScriptDirectory(str(ALEMBIC_DIR)).get_revision(revision)
    except CommandError as exc:
        raise DatabaseError(
            f"the database schema (revision {revision}) at {masked_url(engine.url)} is newer than this "
            f"version of button-sim (head {head_revision()}); upgrade button-sim"
        ) from exc


def _run(engine: Engine, action: str, target: str) -> None:
    cfg = alembic_config(engine)
    try:
        with engine.connect().execution_options(sqlite_immediate=True) as connection, connection.begin():
            _lock(connection)
            _check_known(engine, _revision_of(connection))
            cfg.attributes["connection"] = connection
            if action == "upgrade":
                command.upgrade(cfg, target)
            else:
                command.downgrade(cfg, target)
    except (SQLAlchemyError, CommandError) as exc:
        raise DatabaseError(
            f"cannot {action} the schema of {masked_url(engine.url)} to {target!r}: {first_line(exc)}"
        ) from exc


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to `revision` (default: the newest), in one transaction."""
    _run(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade the schema to `revision` ("base" removes every table), in one transaction."""
    _run(engine, "downgrade", revision)


def ensure_schema(engine: Engine) -> None:
    """Bring the schema to head on first use; refuse a schema newer than this code, untouched."""
    current = current_revision(engine)
    _check_known(engine, current)
    if current != head_revision():
        migrate(engine, "head")


def require_schema(engine: Engine) -> None:
    """For commands that only read: the schema must be there and at head; create and migrate nothing."""
    current = current_revision(engine)
    where = masked_url(engine.url)
    if current is None:
        raise DatabaseError(
            f"{where} has no button-sim schema (an empty or another application's database): check --db"
        )
    _check_known(engine, current)
    head = head_revision()
    if current != head:
        raise DatabaseError(
            f"the schema of {where} is at revision {current}, older than this button-sim's ({head}); "
            f"this command only reads: upgrade it first with button db upgrade --db {where}"
        )
