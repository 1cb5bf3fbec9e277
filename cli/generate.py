"""`button generate`: the main job, from tasks to verified, stored conversations.

Its flags are GenerateConfig's fields (datamodel/run_config.py), derived by cli/settings.py; this module
only adds where to store, what to resume and which file to read, then prints progress and tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

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

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from cli.commands import GenerateCommand
    from datamodel.run_config import GenerateConfig
    from simulator.generate import GenerateResult

__all__ = ["generate"]

_COUNTS = "[green]{task.fields[accepted]} accepted[/green] [red]{task.fields[rejected]} rejected"


@app.command(context_settings=PASS_THROUGH, add_help_option=False)
@cli_errors
def generate(ctx: typer.Context) -> None:
    """Generate compositional tasks, simulate a conversation for each, verify and store everything."""
    from cli.commands import read_generate
    from cli.cost import ledger_table, stored_token_usage
    from db.reports import behaviour_mix, call_figures, outcome_counts, task_mix
    from simulator.batch import BatchProgress
    from simulator.generate import GenerateError, GenerateInterrupted, generate_run
    from simulator.stopping import stop_on_signals

    stop_on_signals()  # Ctrl-C and SIGTERM stop the run cleanly (marked interrupted, resumable)
    command = read_generate(ctx.args)
    config, db = command.run_config(), command.db
    missing = config.missing_llm_roles()
    if missing and command.resume is None:
        flags = ", ".join(f"--{role}-model" for role in missing)
        raise fail(
            f"--source llm needs an LLM for the {', '.join(missing)} role(s): give {flags} openai:MODEL "
            "(only the user may stay offline: the offline assistant needs a ground-truth reference and "
            "the offline tool runs only world functions)"
        )
    if command.distributed or not command.work:  # the episodes go to `button worker`s (cli/distributed.py)
        from cli.distributed import generate_distributed

        return generate_distributed(command)
    sessions = open_store(db)
    if command.resume is not None:
        _check_resume(sessions, command)
    elif not command.repeat:
        _check_not_a_repeat(sessions, config)
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
            result = generate_run(
                sessions, config, command.resume, on_start=announce, on_progress=show, repeat=command.repeat
            )
        except GenerateError as exc:
            bar.stop()
            raise fail(exc.message(db)) from None
        except GenerateInterrupted as exc:
            bar.stop()
            err_console.print(
                f"interrupted; finish it with: button generate --resume {exc.run_id} --db {db}"
                if exc.run_id is not None
                else "interrupted before the run was created: nothing was stored"
            )
            raise typer.Exit(130) from None
    with sessions() as session:
        for report in (task_mix, behaviour_mix, outcome_counts, call_figures):
            print_table(report(session, result.run_id))
        if result.config.uses_llm:
            print_table(stored_token_usage(session, result.run_id))
    if result.progress.ledger is not None:
        print_table(
            ledger_table(result.progress.ledger, result.config.llm.price_in, result.config.llm.price_out)
        )
    _closing_line(result, db)


def _check_resume(sessions: sessionmaker[Session], command: GenerateCommand) -> None:
    """Before any work: the run can be resumed (else one line why), and each flag given that would
    change its data is named as ignored (a resumed run keeps the settings it was started with)."""
    from pydantic import BaseModel

    from datamodel.run_config import EXECUTION_FIELDS
    from simulator.batch import RunError, resumable_config

    assert command.resume is not None
    with sessions() as session:
        try:
            stored = resumable_config(session, command.resume)
        except RunError as exc:
            raise fail(str(exc)) from None
    changed = []
    given = command.model_fields_set - {"db", "resume", "config", "kind", "repeat"} - EXECUTION_FIELDS
    for name in sorted(given):
        mine, theirs = getattr(command, name), getattr(stored, name)
        if mine != theirs:
            flag = "--" + name.replace("_", "-")
            changed.append(flag if isinstance(mine, BaseModel) else f"{flag} {mine} (stored: {theirs})")
    if changed:
        err_console.print(
            f"[yellow]note:[/yellow] run {command.resume} resumes with the settings it was started with; "
            f"ignored: {', '.join(changed)} (only --workers, --concurrency and the endpoint settings change "
            "on resume)",
            highlight=False,
            soft_wrap=True,
        )


def _check_not_a_repeat(sessions: sessionmaker[Session], config: GenerateConfig) -> None:
    """Before any work: a new run must not store again what a stored run with its settings holds."""
    from simulator.batch import RunError, check_not_a_repeat

    with sessions() as session:
        try:
            check_not_a_repeat(session, config)
        except RunError as exc:
            raise fail(str(exc)) from None


def _announce(run_id: int, config: GenerateConfig, db: str) -> None:
    if config.uses_llm:
        models = ", ".join(f"{r} {config.role(r).model}" for r in ("user", "assistant", "tool"))
        console.print(f"LLM roles: {models}; {config.concurrency} requests in flight at most")
    console.print(
        f"run [bold]{run_id}[/bold]: {config.n} tasks, seed {config.seed}, "
        f"parallel {'on' if config.parallel else 'off'}, {config.workers} worker(s), db {db}"
    )


def _closing_line(result: GenerateResult, db: str) -> None:
    done = result.progress
    if done.left_pending:
        console.print(
            f"[yellow]budget reached[/yellow]: {done.left_pending} task(s) left pending; continue with "
            f"button generate --resume {result.run_id} --db {db} (and a new --budget-tokens/--budget-usd)"
        )
        return
    if done.done and done.errors == done.done:  # every episode failed: no data, whatever was stored
        raise fail(
            f"run {result.run_id}: nothing could be simulated; every one of its {done.done} conversation(s) "
            f"ended in an error, the first: {done.first_error} (each is stored with its error: "
            f"button logs --db {db})"
        )
    over = f" over {done.processes} processes" if done.processes > 1 else ""
    console.print(
        f"run {result.run_id} finished: {done.done} conversations simulated now{over}, {done.accepted} "
        f"accepted. Next: button export --format button --db {db} --out out/button_instruct.jsonl"
    )
