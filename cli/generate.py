"""`button generate`: the main job, from tasks to verified, stored conversations.

Its flags are GenerateConfig's fields (datamodel/run_config.py), derived by cli/settings.py; this module
only adds where to store, what to resume and which file to read, then prints progress and tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import typer
from pydantic import Field
from pydantic_settings import CliSuppress

from cli.app import (
    PASS_THROUGH,
    app,
    cli_errors,
    console,
    counting_bar,
    err_console,
    fail,
    open_store,
    print_table,
)
from cli.settings import load_config_file, parse_command
from datamodel.run_config import DEFAULT_DB_URL, GenerateConfig

__all__ = ["GenerateCommand", "generate"]

# Short flags for the settings people set most; the long nested ones (`--roles.assistant.model`) work too.
SHORTCUTS: dict[str, str | list[str]] = {
    **{f"roles.{role}.model": f"{role}-model" for role in ("user", "assistant", "tool", "composer", "judge")},
    "roles.assistant.format": "call-format",
    **{
        f"endpoint.{name}": name
        for name in ("base-url", "api-key-env", "temperature", "max-tokens", "timeout")
    },
    **{f"llm.{name}": name for name in ("max-retries", "cache", "cache-dir", "budget-tokens", "budget-usd")},
    **{f"llm.{name}": name for name in ("price-in", "price-out")},
    **{f"bottom-up.{name}": name for name in ("seeds", "n-expansions", "dedup-threshold")},
}


_COUNTS = "[green]{task.fields[accepted]} accepted[/green] [red]{task.fields[rejected]} rejected"


class GenerateCommand(GenerateConfig):
    """`button generate`: the run's settings, plus where to store it and what to resume."""

    kind: CliSuppress[Literal["generate"]] = "generate"
    db: str = Field(default=DEFAULT_DB_URL, description="Database URL (SQLite or postgresql+psycopg).")
    resume: int | None = Field(
        default=None, description="Finish an interrupted run, with its stored settings."
    )
    config: Path | None = Field(
        default=None, description="YAML file with any of these settings (docs/cli.md)."
    )

    def run_config(self) -> GenerateConfig:
        return GenerateConfig.model_validate(self.model_dump(exclude={"db", "resume", "config"}))


def read_command(args: list[str]) -> GenerateCommand:
    """The command's settings: defaults, then the `--config` file, then the flags given."""
    command = parse_command(GenerateCommand, args, prog="button generate", shortcuts=SHORTCUTS)
    if command.config is None:
        return command
    from_file = load_config_file(command.config, GenerateConfig)
    return parse_command(
        GenerateCommand, args, prog="button generate", shortcuts=SHORTCUTS, file_settings=from_file
    )


@app.command(context_settings=PASS_THROUGH, add_help_option=False)
@cli_errors
def generate(ctx: typer.Context) -> None:
    """Generate compositional tasks, simulate a conversation for each, verify and store everything."""
    from cli.cost import ledger_table, stored_token_usage
    from db.reports import call_figures, outcome_counts, task_mix
    from simulator.batch import BatchProgress
    from simulator.generate import GenerateError, GenerateInterrupted, generate_run

    command = read_command(ctx.args)
    config, db = command.run_config(), command.db
    missing = config.missing_llm_roles()
    if missing and command.resume is None:
        flags = ", ".join(f"--{role}-model" for role in missing)
        raise fail(
            f"--source llm needs an LLM for the {', '.join(missing)} role(s): give {flags} openai:MODEL "
            "(only the user may stay offline: the offline assistant needs a ground-truth reference and "
            "the offline tool runs only world functions)"
        )
    sessions = open_store(db)
    if config.source == "llm" and command.resume is None:
        seeds = config.bottom_up.seeds or "the shipped examples"
        console.print(
            f"bottom-up stages: composer {config.role('composer').model}, judge "
            f"{config.role('judge').model}, seeds {seeds}"
        )
    with counting_bar("simulating", _COUNTS) as bar:
        handle = bar.add_task("simulate", total=None, accepted=0, rejected=0)

        def show(p: BatchProgress) -> None:
            bar.update(
                handle, total=p.total, completed=p.done, accepted=p.accepted, rejected=p.done - p.accepted
            )

        def announce(run_id: int, ran: GenerateConfig) -> None:
            _announce(run_id, ran, db)

        try:
            result = generate_run(sessions, config, command.resume, on_start=announce, on_progress=show)
        except GenerateError as exc:
            bar.stop()
            raise fail(exc.message(db)) from None
        except GenerateInterrupted as exc:
            bar.stop()
            err_console.print(
                f"interrupted; finish it with: button generate --resume {exc.run_id or 'RUN'} --db {db}"
            )
            raise typer.Exit(130) from None
    with sessions() as session:
        for table in (task_mix(session, result.run_id), outcome_counts(session, result.run_id)):
            print_table(table)
        print_table(call_figures(session, result.run_id))
        if result.config.uses_llm:
            print_table(stored_token_usage(session, result.run_id))
    if result.progress.ledger is not None:
        print_table(
            ledger_table(result.progress.ledger, result.config.llm.price_in, result.config.llm.price_out)
        )
    _closing_line(result, db)


def _announce(run_id: int, config: GenerateConfig, db: str) -> None:
    if config.uses_llm:
        models = ", ".join(f"{r} {config.role(r).model}" for r in ("user", "assistant", "tool"))
        console.print(f"LLM roles: {models}; {config.concurrency} requests in flight at most")
    console.print(
        f"run [bold]{run_id}[/bold]: {config.n} tasks, seed {config.seed}, "
        f"parallel {'on' if config.parallel else 'off'}, {config.workers} worker(s), db {db}"
    )


def _closing_line(result: Any, db: str) -> None:
    done = result.progress
    if done.left_pending:
        console.print(
            f"[yellow]budget reached[/yellow]: {done.left_pending} task(s) left pending; continue with "
            f"button generate --resume {result.run_id} --db {db} (and a new --budget-tokens/--budget-usd)"
        )
        return
    over = f" over {done.processes} processes" if done.processes > 1 else ""
    console.print(
        f"run {result.run_id} finished: {done.done} conversations simulated now{over}, {done.accepted} "
        f"accepted. Next: button export --format button --db {db} --out out/button_instruct.jsonl"
    )
