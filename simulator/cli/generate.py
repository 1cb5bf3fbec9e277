"""`button generate`: the main job, from tasks to verified, stored conversations."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from simulator.batch import BatchProgress, RunError, prepare_run, simulate_pending
from simulator.cli.app import app, cli_errors, console, err_console, fail, open_store, print_table
from simulator.config import DEFAULT_DB_URL, GenerateConfig, default_workers
from simulator.report import call_figures, outcome_counts, task_mix

__all__ = ["generate"]


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[green]{task.fields[accepted]} accepted[/green] [red]{task.fields[rejected]} rejected"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


@app.command()
@cli_errors
def generate(
    n: Annotated[int, typer.Option(help="Number of compositional tasks to simulate.")] = 600,
    seed: Annotated[int, typer.Option(help="Seed of task generation: same seed, same dataset.")] = 0,
    parallel: Annotated[
        bool, typer.Option(help="Let the assistant make independent calls in one turn.")
    ] = True,
    max_subtasks: Annotated[int, typer.Option(help="Most sub-tasks in a composed task (paper: 3).")] = 3,
    max_turns: Annotated[int, typer.Option(help="Messages after which an episode is cut off.")] = 24,
    policy: Annotated[str, typer.Option(help="Offline assistant policy: plan or sequential.")] = "plan",
    world_seed: Annotated[int, typer.Option(help="Seed of the offline world's knowledge base.")] = 0,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (0: in-process). Default: cores.")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Episodes in flight per worker.")] = 32,
    db: Annotated[str, typer.Option(help="Database URL (SQLite or postgresql+psycopg).")] = DEFAULT_DB_URL,
    resume: Annotated[
        int | None, typer.Option(help="Finish an interrupted run, with its stored settings.")
    ] = None,
) -> None:
    """Generate compositional tasks, simulate a conversation for each, verify and store everything."""
    if policy not in ("plan", "sequential"):
        raise fail(f"invalid --policy {policy!r}: choose 'plan' or 'sequential'")
    config = GenerateConfig(
        n=n,
        seed=seed,
        parallel=parallel,
        max_subtasks=max_subtasks,
        max_turns=max_turns,
        policy=policy,
        world_seed=world_seed,
        workers=default_workers() if workers is None else workers,
        concurrency=concurrency,
    )
    sessions = open_store(db)
    try:
        run_id, config = prepare_run(sessions, config, resume)
    except RunError as exc:
        raise fail(str(exc)) from None
    console.print(
        f"run [bold]{run_id}[/bold]: {config.n} tasks, seed {config.seed}, "
        f"parallel {'on' if config.parallel else 'off'}, {config.workers} worker(s), db {db}"
    )
    with _progress_bar() as bar:
        handle = bar.add_task("simulate", total=None, accepted=0, rejected=0)

        def show(p: BatchProgress) -> None:
            bar.update(
                handle, total=p.total, completed=p.done, accepted=p.accepted, rejected=p.done - p.accepted
            )

        try:
            done = simulate_pending(sessions, run_id, config, show)
        except KeyboardInterrupt:
            bar.stop()
            err_console.print(f"interrupted; finish it with: button generate --resume {run_id} --db {db}")
            raise typer.Exit(130) from None
    with sessions() as session:
        for table in (
            task_mix(session, run_id),
            outcome_counts(session, run_id),
            call_figures(session, run_id),
        ):
            print_table(table)
    console.print(
        f"run {run_id} finished: {done.done} conversations simulated now, {done.accepted} accepted. "
        f"Next: button export --format button --db {db} --out out/button_instruct.jsonl"
    )
