"""`button export`: stored conversations to training files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from simulator.cli.app import app, cli_errors, console, fail, open_store
from simulator.config import DEFAULT_DB_URL
from training.export import EXPORTERS, ExportError, export_conversations

__all__ = ["export"]


@app.command()
@cli_errors
def export(
    out: Annotated[Path, typer.Option(help="Output file (JSON Lines).")],
    fmt: Annotated[str, typer.Option("--format", help=f"One of: {', '.join(sorted(EXPORTERS))}.")] = "button",
    db: Annotated[str, typer.Option(help="Database URL.")] = DEFAULT_DB_URL,
    run: Annotated[int | None, typer.Option(help="Only this run (default: every run).")] = None,
    include_rejected: Annotated[
        bool, typer.Option("--all", help="Export rejected conversations too.")
    ] = False,
) -> None:
    """Export conversations (accepted only, by default) without the hidden sub-task hints."""
    sessions = open_store(db)
    progress = Progress(
        SpinnerColumn(), TextColumn("exporting"), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
    with progress:
        handle = progress.add_task("export", total=None)
        try:
            count = export_conversations(
                sessions,
                fmt,
                out,
                run_id=run,
                status=None if include_rejected else "accepted",
                on_record=lambda n: progress.update(handle, completed=n),
            )
        except ExportError as exc:
            raise fail(str(exc)) from None
    console.print(f"wrote {count} conversation(s) in {fmt} format to {out}")
