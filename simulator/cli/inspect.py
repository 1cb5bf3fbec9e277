"""`button stats` and `button show`: what a run made, and one conversation read as a person would."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table as RichTable

from db import store
from simulator.cli.app import app, cli_errors, console, fail, open_store, print_table
from simulator.config import DEFAULT_DB_URL
from simulator.report import call_figures, outcome_counts, run_list, task_mix
from simulator.trajectory import AssistantTurn, ToolTurn, UserTurn

__all__ = ["show", "stats"]


@app.command()
@cli_errors
def stats(
    db: Annotated[str, typer.Option(help="Database URL.")] = DEFAULT_DB_URL,
    run: Annotated[int | None, typer.Option(help="Only this run (default: every run).")] = None,
) -> None:
    """Runs, task mix, verdicts and call figures."""
    sessions = open_store(db)
    with sessions() as session:
        print_table(run_list(session))
        for table in (task_mix(session, run), outcome_counts(session, run), call_figures(session, run)):
            print_table(table)


def _json(value: Any) -> Syntax:
    return Syntax(json.dumps(value, indent=2, ensure_ascii=False), "json", theme="ansi_dark", word_wrap=True)


def _print_turn(index: int, turn: UserTurn | AssistantTurn | ToolTurn) -> None:
    if isinstance(turn, UserTurn):
        console.print(Panel(turn.content, title=f"[{index}] user", title_align="left", border_style="cyan"))
    elif isinstance(turn, AssistantTurn):
        parts: list[Any] = [turn.content] if turn.content else []
        if turn.tool_calls:
            parts.append(_json([{"name": c.name, "arguments": c.arguments} for c in turn.tool_calls]))
        if turn.final_answer is not None:
            parts.append(f"[bold]final:[/bold] {turn.final_answer}")
        if turn.format_error:
            parts.append(f"[red]format error:[/red] {turn.format_error}")
        console.print(
            Panel(_group(parts), title=f"[{index}] assistant", title_align="left", border_style="green")
        )
    else:
        rows = [
            {"name": r.name, "results": r.results} if r.error is None else {"name": r.name, "error": r.error}
            for r in turn.results
        ]
        console.print(Panel(_json(rows), title=f"[{index}] tool", title_align="left", border_style="yellow"))


def _group(parts: list[Any]) -> Any:
    from rich.console import Group

    return Group(*parts)


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
    sessions = open_store(db)
    with sessions() as session:
        try:
            conv = store.load_conversation(session, conversation_id)
        except LookupError:
            raise fail(f"conversation {conversation_id} does not exist in {db}") from None
    if as_json:
        console.print_json(conv.model_dump_json() if hasattr(conv, "model_dump_json") else json.dumps(conv))
        return
    task = conv.task
    console.print(
        Panel(
            f"{task.instruction}\n\n[dim]strategy {task.strategy.value} · {len(task.subtasks)} sub-tasks · "
            f"run {conv.run_id} · task {conv.task_id} · {conv.status}"
            + (f" ({conv.rejected_by})" if conv.rejected_by else "")
            + "[/dim]",
            title=f"conversation {conv.id}",
            title_align="left",
            border_style="bold",
        )
    )
    hints = "\n".join(
        f"{s.index + 1}. {s.instruction}  [dim]{', '.join(s.functions) or 'no function'}[/dim]"
        for s in task.subtasks
    )
    console.print(
        Panel(
            hints,
            title="sub-task hints (hidden from training data)",
            title_align="left",
            border_style="magenta",
        )
    )
    console.print(f"[dim]functions offered: {', '.join(f.name for f in task.functions)}[/dim]")
    for index, turn in enumerate(conv.trajectory.turns):
        _print_turn(index, turn)
    checks = RichTable(title="checks", title_justify="left")
    for column in ("check", "verdict", "reason"):
        checks.add_column(column, overflow="fold")
    for check in conv.checks:
        verdict = "n/a" if not check.applicable else ("[green]pass" if check.passed else "[red]fail")
        checks.add_row(check.name.value, verdict, check.reason)
    console.print(checks)
