"""`button sql`: read-only SQL over the store, as a table, CSV or JSON."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import typer

from cli.app import app, cli_errors, console, fail, print_table
from db import DEFAULT_DB_URL

__all__ = ["sql"]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


@app.command()
@cli_errors
def sql(
    query: Annotated[str, typer.Argument(help="One SELECT statement.")],
    db: Annotated[str, typer.Option(help="Database URL.")] = DEFAULT_DB_URL,
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Run one read-only query; the database itself refuses anything but reading (on PostgreSQL the
    query runs as a role that can only read)."""
    from db.readonly import run_readonly_query
    from db.reports import Table

    if output not in ("table", "csv", "json"):
        raise fail(f"invalid --format {output!r}: choose table, csv or json")
    columns, rows = run_readonly_query(db, query)
    if output == "json":
        records = [{c: _plain(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        sys.stdout.write(json.dumps(records, ensure_ascii=False, default=str) + "\n")
    elif output == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows([[_plain(v) for v in row] for row in rows])
    else:
        print_table(Table(f"{len(rows)} row(s)", columns, [tuple(row) for row in rows]))
        if not rows:
            console.print("[dim]no rows[/dim]")
