"""`button logs`: the newest conversations at a glance, filtered and searched, or as JSON (after
simonw/llm's `llm logs`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from cli.app import app, cli_errors, console, fail, open_reader
from db import DEFAULT_DB_URL

if TYPE_CHECKING:
    from db.logs_query import LogRow

__all__ = ["logs"]

STATUSES = ("accepted", "rejected")
_STRATEGY = {"atomic": "atomic", "sequential": "seq", "parallel_then_sequential": "par+seq"}


def _id_cell(row: LogRow) -> str:
    """The id, and for a fork its parent and fork turn: `31<4@1` reads 'fork of 4 from turn 1'."""
    return str(row.id) if row.forked_from_id is None else f"{row.id}<{row.forked_from_id}@{row.fork_turn}"


def _table(rows: list[LogRow]) -> Table:
    """A compact table that fits 80 columns: the instruction takes what is left and is cut."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0), expand=True)
    table.add_column("id", no_wrap=True)
    table.add_column("when", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("strat", no_wrap=True)
    table.add_column("turns", justify="right", no_wrap=True)
    table.add_column("calls", justify="right", no_wrap=True)
    table.add_column("instruction", no_wrap=True, overflow="ellipsis", ratio=1)
    for row in rows:
        when = row.created_at.strftime("%m-%d %H:%M") if row.created_at else ""
        colour = "green" if row.status == "accepted" else "red"
        table.add_row(
            _id_cell(row),
            when,
            f"[{colour}]{row.status}[/{colour}]",
            _STRATEGY.get(row.strategy, row.strategy),
            str(row.n_turns),
            str(row.n_calls),
            row.instruction,
        )
    return table


def _record(row: LogRow, conversation: Any) -> dict[str, Any]:
    """One conversation as JSON: its row's figures, the models, the turns and the checks."""
    return {
        "id": row.id,
        "run_id": row.run_id,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "status": row.status,
        "rejected_by": row.rejected_by,
        "strategy": row.strategy,
        "instruction": row.instruction,
        "models": conversation.models,
        "forked_from_id": row.forked_from_id,
        "fork_turn": row.fork_turn,
        "termination": conversation.trajectory.termination.value,
        "final_answer": conversation.trajectory.final_answer,
        "turns": [turn.model_dump(mode="json") for turn in conversation.trajectory.turns],
        "checks": [check.model_dump(mode="json") for check in conversation.checks],
    }


@app.command()
@cli_errors
def logs(
    db: Annotated[str, typer.Option(help="Database URL.")] = DEFAULT_DB_URL,
    count: Annotated[int, typer.Option("-n", "--count", help="How many, newest first (0: all).")] = 10,
    status: Annotated[str | None, typer.Option(help="Only accepted or rejected ones.")] = None,
    run: Annotated[int | None, typer.Option(help="Only this run.")] = None,
    model: Annotated[str | None, typer.Option(help="Only this assistant model.")] = None,
    query: Annotated[
        str | None, typer.Option("-q", "--query", help="Text in any turn or the task (any case).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON: one object per conversation.")] = False,
) -> None:
    """Recent conversations, newest first: `button replay ID` opens one."""
    from db.conversation_store import load_conversations
    from db.logs_query import LogFilter, recent_conversations
    from db.models import Conversation

    if status is not None and status not in STATUSES:
        raise fail(f"invalid --status {status!r}; allowed: {', '.join(STATUSES)}")
    if count < 0:
        raise fail(f"invalid -n {count}: give 0 (all) or more")
    wanted = LogFilter(
        limit=count or 1_000_000_000, status=status, run_id=run, assistant_model=model, text=query
    )
    sessions = open_reader(db)
    with sessions() as session:
        rows = recent_conversations(session, wanted)
        if as_json:
            stored = load_conversations(session, [session.get_one(Conversation, r.id) for r in rows])
            records = [_record(r, c) for r, c in zip(rows, stored, strict=True)]
            typer.echo(json.dumps(records, indent=2, ensure_ascii=False))  # plain: scripts parse it
            return
    if not rows:
        console.print("no conversations match", style="dim")
        return
    console.print(_table(rows))
