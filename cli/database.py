"""`button db`: schema migrations, applied explicitly (they also apply on first use)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.app import app, cli_errors, console
from db import DEFAULT_DB_URL

__all__ = ["db_app"]

db_app = typer.Typer(help="Database schema: upgrade and inspect migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
@cli_errors
def upgrade(
    db: Annotated[str, typer.Option(help="Database URL.")] = DEFAULT_DB_URL,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Apply Alembic migrations up to a revision (default: head)."""
    from db.engine import current_revision, make_engine, migrate

    engine = make_engine(db)
    before = current_revision(engine)
    migrate(engine, revision)
    console.print(f"schema at {current_revision(engine)} (was {before or 'empty'})")


@db_app.command("current")
@cli_errors
def current(db: Annotated[str, typer.Option(help="Database URL.")] = DEFAULT_DB_URL) -> None:
    """Print the database's schema revision."""
    from db.engine import current_revision, make_engine

    console.print(current_revision(make_engine(db)) or "empty (no schema yet)")
