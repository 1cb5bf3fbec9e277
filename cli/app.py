"""The Typer application, its consoles, and the one place where errors become a clean line.

Start-up: every command module imports only this module, typer and rich at its top, and the stack it runs
(pydantic models, SQLAlchemy's ORM, AutoGen, torch) inside the command, so `button --help` and the
read-only commands load only what they use (bench/startup.py measures it).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer
import typer.core
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table as RichTable

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from db.reports import Table

__all__ = [
    "PASS_THROUGH",
    "app",
    "cli_errors",
    "console",
    "counting_bar",
    "err_console",
    "fail",
    "open_reader",
    "open_store",
    "print_table",
]


class _OneLineErrors(typer.core.TyperGroup):
    """Usage errors (a value that is not a number, an unknown option or command) as one `error:` line,
    like every other error of the CLI, instead of a boxed usage block."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        def run(standalone: bool) -> Any:
            return super(_OneLineErrors, self).main(
                args, prog_name, complete_var, standalone, windows_expand_args, **extra
            )

        if not standalone_mode:
            return run(False)
        try:
            result = run(False)
        except typer.TyperException as exc:
            ctx = getattr(exc, "ctx", None)
            if ctx is None or type(exc).__name__ == "NoArgsIsHelpError":  # `button` alone: its help
                return run(True)
            line = f"{ctx.command_path}: {exc.format_message()} (see {ctx.command_path} --help)"
            err_console.print(f"[red]error:[/red] {line}", highlight=False, soft_wrap=True)
            raise SystemExit(exc.exit_code) from None
        except typer.Abort:  # end of input at a prompt
            err_console.print("Aborted.")
            raise SystemExit(1) from None
        raise SystemExit(result if isinstance(result, int) else 0)


app = typer.Typer(
    cls=_OneLineErrors,
    name="button",
    help="Compositional multi-turn function-calling data: generate, verify, store, query and export.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def _quiet_libraries() -> None:
    """AutoGen logs every failing agent with a traceback, while the episode already records the error as
    data (termination `error`, with its text); the traceback would only garble the progress bar.
    `BUTTON_DEBUG=1` keeps the libraries' logs."""
    if not os.environ.get("BUTTON_DEBUG"):
        # asyncio: on Ctrl-C, the episodes' tasks in flight fail while the loop shuts down and asyncio
        # logs each with a traceback; the run is already marked interrupted and says how to resume.
        for name in ("autogen_core", "autogen_agentchat", "asyncio"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


P = ParamSpec("P")
R = TypeVar("R")


# Commands whose flags come from a config class (cli/settings.py) take their arguments unparsed by click.
PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


class UsageProblem(Exception):
    """Input the command cannot work with; the message names the value and what is allowed."""


def fail(message: str) -> UsageProblem:
    """An error for the user: printed as one line, exit status 1."""
    return UsageProblem(message)


def _user_error(exc: Exception) -> tuple[str, int] | None:
    """The line and exit status for an error a user caused; None for a bug (it keeps its traceback).
    The exception classes are imported here, when one is raised: their modules are loaded by then."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from cli.settings import ConfigFileError, describe_validation_error
    from db.errors import DatabaseError

    if isinstance(exc, (DatabaseError, UsageProblem, ConfigFileError)):
        return str(exc), 1
    if isinstance(exc, ValidationError):
        return describe_validation_error(exc), 1
    if isinstance(exc, SettingsError):  # argparse refused the arguments
        return str(exc).removeprefix("error parsing CLI: "), 2
    return None


def cli_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the errors a user can cause into one red line and a non-zero exit, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except Exception as exc:
            known = _user_error(exc)
            if known is None:
                raise
            err_console.print(f"[red]error:[/red] {known[0]}", highlight=False, soft_wrap=True)
            raise typer.Exit(known[1]) from None

    return wrapper


def open_store(url: str) -> sessionmaker[Session]:
    """Connect, bring the schema to head (first use creates it), and hand out sessions."""
    from db.engine import ensure_schema, make_engine, session_factory

    engine = make_engine(url)
    ensure_schema(engine)
    return session_factory(engine)


def open_reader(url: str) -> sessionmaker[Session]:
    """Sessions for a command that only reads: the database must exist with its schema at head; nothing
    is created or migrated (a mistyped path is an error, not a new empty database)."""
    from db.engine import make_engine, require_schema, session_factory

    engine = make_engine(url, create=False)
    require_schema(engine)
    return session_factory(engine)


def counting_bar(label: str, counts: str) -> Progress:
    """The progress bar of a long command: label, bar, done/total, `counts` (a format string over the
    task's fields, e.g. "{task.fields[accepted]} accepted"), elapsed and remaining time."""
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(counts),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def print_comparison(table: Table, caption: str | None = None) -> None:
    """Print a wide table of figures (the evaluation's) in the fewest columns: no outer edge, one
    padding between columns, so ten columns of figures fit an 80-column terminal."""
    from rich import box

    print_table(
        table, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True, caption=caption
    )


def print_table(table: Table, **style: Any) -> None:
    """Print a report table with Rich."""
    rich = RichTable(title=table.title, title_justify="left", **style)
    for column in table.columns:
        rich.add_column(column, overflow="fold")
    for row in table.rows:
        rich.add_row(*("" if v is None else str(v) for v in row))
    console.print(rich)
