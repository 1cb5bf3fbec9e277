"""`button export`: stored conversations to training files, with a manifest beside each."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from cli.app import PASS_THROUGH, app, cli_errors, console, fail, open_reader

if TYPE_CHECKING:
    from training.export import ExportResult

__all__ = ["export"]


def _report(result: ExportResult, fmt: str) -> None:
    for split, path in result.files.items():
        count = result.stats.split_count(split) if split else result.count
        console.print(
            f"wrote {count} conversation(s) in {fmt} format to {path} (+ .manifest.json)", soft_wrap=True
        )
    if result.stats.duplicates_skipped:
        console.print(
            f"skipped {result.stats.duplicates_skipped} conversation(s) whose record repeats one already "
            "written (--duplicates keeps them)",
            soft_wrap=True,
        )
    if result.hub_dir is not None:
        console.print(f"saved the Hugging Face dataset (with README.md) to {result.hub_dir}", soft_wrap=True)


@app.command(context_settings=PASS_THROUGH, add_help_option=False)
@cli_errors
def export(ctx: typer.Context) -> None:
    """Export conversations (accepted only, by default) without the hidden sub-task hints."""
    from cli.commands import ExportCommand
    from cli.settings import parse_command
    from training.export import ExportError, export_dataset

    command = parse_command(
        ExportCommand, ctx.args, prog="button export", shortcuts={"include-rejected": "all"}
    )
    config, db = command.export_config(), command.db
    sessions = open_reader(db)
    progress = Progress(
        SpinnerColumn(), TextColumn("exporting"), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
    with progress:
        handle = progress.add_task("export", total=None)
        try:
            result = export_dataset(
                sessions, config, on_record=lambda n: progress.update(handle, completed=n)
            )
        except ExportError as exc:
            raise fail(str(exc)) from None
    _report(result, config.format)
