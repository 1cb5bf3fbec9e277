"""`button stages`: how far the bottom-up stages of a run got, item counts per stage and status.

Read-only: it answers "where did my seeds go?" (how many scenarios were extracted, deduplicated away,
composed, rejected by the judge, turned into tasks) without writing SQL; `button sql` gives the rows.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.app import app, cli_errors, console, fail, open_reader, print_table
from db import DEFAULT_DB_URL

__all__ = ["stages"]


@app.command()
@cli_errors
def stages(
    db: Annotated[str, typer.Option(help="Database URL.")] = DEFAULT_DB_URL,
    run: Annotated[int | None, typer.Option(help="Only this run (default: every run).")] = None,
) -> None:
    """Bottom-up stage items per run, stage and status (ok, failed, rejected), with tokens spent."""
    from db import store
    from db.reports import Table

    sessions = open_reader(db)
    with sessions() as session:
        if run is not None and store.get_run(session, run) is None:
            raise fail(f"no run with id {run}; see `button stats` for the runs")
        seeds = store.seed_counts(session, run)
        counts = store.stage_counts(session, run)
    if not seeds and not counts:
        where = f"run {run}" if run is not None else "this database"
        console.print(f"No bottom-up stages recorded for {where} (offline-world runs have none).")
        return
    rows: list[tuple[object, ...]] = [(run_id, "seeds", "imported", n, 0) for run_id, n in seeds]
    rows += list(counts)
    rows.sort(key=lambda row: int(str(row[0])))  # stable: seeds first, then stages in the order they ran
    print_table(Table("Bottom-up stages", ["run", "stage", "status", "items", "tokens"], rows))
