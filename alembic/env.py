"""Alembic environment: migrates the schema of db/models.py, on a shared connection when given one.

`db.migrations` passes its own connection through `config.attributes["connection"]` (the cookbook's
"sharing a connection"), so migrations run inside the caller's transaction and under its lock. The
`alembic` command line, run from the repository root, connects to `-x db=URL` or $BUTTON_DB.
"""

from __future__ import annotations

import os

from alembic import context
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection

from db.migrations import is_ours
from db.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str | None:
    """The URL from `-x db=URL`, the programmatic config, or $BUTTON_DB (no alembic.ini here)."""
    given = context.get_x_argument(as_dictionary=True).get("db")
    if given:
        return given
    try:
        configured = config.get_main_option("sqlalchemy.url")
    except CommandError:  # the alembic CLI reads only pyproject.toml, which holds no URL
        configured = None
    return configured or os.environ.get("BUTTON_DB")


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTERs go through table copies
        compare_type=True,
        include_name=is_ours,  # the job queue's tables are procrastinate's (migration 0011)
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout (`alembic upgrade head --sql`) instead of running it."""
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
        include_name=is_ours,
        render_as_batch=bool(url and url.startswith("sqlite")),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the shared connection, or on a new engine for the configured URL."""
    shared = config.attributes.get("connection")
    if shared is not None:
        _configure(shared)
        with context.begin_transaction():
            context.run_migrations()
        return
    from db.engine import make_engine

    url = _url()
    if not url:
        raise SystemExit("no database URL: pass `alembic -x db=URL ...` or set the BUTTON_DB variable")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
