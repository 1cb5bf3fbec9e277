"""`button stats` and `button show`: what a run made, and one conversation read as a person would."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli.app import app, cli_errors, console, fail, open_reader, print_table
from db import DEFAULT_DB_URL
from db.errors import masked_url

__all__ = ["show", "stats"]


@app.command()
@cli_errors
def stats(
    db: Annotated[str, typer.Option(help="Database URL.")] = DEFAULT_DB_URL,
    run: Annotated[int | None, typer.Option(help="Only this run (default: every run).")] = None,
) -> None:
    """Runs, task mix, behaviours, verdicts and call figures."""
    from db import store
    from db.reports import (
        behaviour_mix,
        call_figures,
        distributed_reports,
        outcome_counts,
        run_list,
        task_mix,
    )

    sessions = open_reader(db)
    with sessions() as session:
        if run is not None and store.get_run(session, run) is None:
            where = masked_url(db)
            raise fail(f"--run {run}: no such run in {where}; `button stats` without --run lists them")
        print_table(run_list(session))
        for report in (task_mix, behaviour_mix, outcome_counts, call_figures):
            print_table(report(session, run))
        for table in distributed_reports(session, run):  # distributed runs: the queue, the workers
            print_table(table)


@app.command()
@cli_errors
def show(
    conversation_id: Annotated[
        int, typer.Argument(help="Conversation id (see `button stats` / `button sql`).")
    ],
    db: Annotated[str, typer.Option(help="Database URL.")] = DEFAULT_DB_URL,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored conversation as JSON.")] = False,
) -> None:
    """One conversation: the task, the hidden sub-task hints, every turn and every check."""
    from cli.render import conversation_renderables
    from db import store

    sessions = open_reader(db)
    with sessions() as session:
        try:
            conv = store.load_conversation(session, conversation_id)
        except LookupError:
            raise fail(f"conversation {conversation_id} does not exist in {db}") from None
    if as_json:
        console.print_json(conv.model_dump_json() if hasattr(conv, "model_dump_json") else json.dumps(conv))
        return
    for renderable in conversation_renderables(conv):
        console.print(renderable)
