"""`button generate --distributed` and `button eval --distributed`: the run and its tasks are made here as
in a local run; its episodes go to the job queue in the same PostgreSQL database, for this process and
any `button worker` (simulator/distributed.py). The bar shows the whole run, whoever stores its
conversations."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING

import typer

from cli.app import console, counting_bar, err_console, fail, open_store, print_table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from cli.commands import EvalCommand, GenerateCommand
    from evaluation.runner import EvalReport
    from simulator.distributed import RunProgress, WorkerSettings
    from simulator.evaluation_runs import Scoring

__all__ = ["check_distributed", "evaluate_distributed", "generate_distributed"]

_COUNTS = "[green]{task.fields[accepted]} accepted[/green] [red]{task.fields[rejected]} rejected"


def _failed(line: str) -> None:
    """A job of this process's own worker failed: said above the bar (procrastinate retries it)."""
    err_console.print(line, highlight=False, soft_wrap=True)


def check_distributed(name: str, db: str, distributed: bool, resume: int | None) -> None:
    """Before anything is stored (`button NAME`, generate or eval): the flags go together and the
    database is PostgreSQL, or one line says why not."""
    from simulator.distributed import QueueError, require_postgresql

    if not distributed:
        raise fail("--no-work goes with --distributed (it leaves the episodes to `button worker`s)")
    if resume is not None:
        run = "eval run" if name == "eval" else "run"
        raise fail(
            f"--distributed starts a new {run}; {run} {resume}'s jobs stay in the queue: start "
            f"`button worker --db {db}` to finish it, or finish it on this machine with "
            f"button {name} --resume {resume} --db {db}"
        )
    try:
        require_postgresql(db)
    except QueueError as exc:
        raise fail(f"--distributed: {exc}") from None


def _prepared(sessions: sessionmaker[Session], command: GenerateCommand) -> tuple[int, list[int], int]:
    """Create the run and store its tasks; its id, its task ids and its episode concurrency."""
    from composition.prompts import PromptError
    from composition.seeds import SeedFormatError
    from datamodel.models import ClientSetupError
    from db import store
    from simulator.batch import RunError, prepare_run

    config = command.run_config()
    try:
        run_id, config = prepare_run(sessions, config, repeat=command.repeat)
    except (RunError, SeedFormatError, PromptError, ClientSetupError) as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt as exc:
        made = getattr(exc, "run_id", None)  # RunInterrupted: the run exists, marked interrupted
        err_console.print(
            "interrupted while storing the tasks"
            + (f"; finish it with: button generate --resume {made} --db {command.db}" if made else "")
        )
        raise typer.Exit(130) from None
    with sessions() as session:
        task_ids = store.task_ids(session, run_id)
    return run_id, task_ids, config.concurrency


def generate_distributed(command: GenerateCommand) -> None:
    """Create the run, defer its jobs, work on them here unless --no-work, and follow the whole run."""
    check_distributed("generate", command.db, command.distributed, command.resume)
    from simulator.distributed import CHUNK_SIZE

    db = command.db
    sessions = open_store(db)
    run_id, task_ids, concurrency = _prepared(sessions, command)
    here = "this process works on it too" if command.work else "this process only watches (--no-work)"
    console.print(
        f"run [bold]{run_id}[/bold]: {len(task_ids)} tasks in {-(-len(task_ids) // CHUNK_SIZE)} jobs of "
        f"up to {CHUNK_SIZE} episodes; {here}. More workers, on any machine that reaches the database:\n"
        f"  button worker --db {db}",
        highlight=False,
        soft_wrap=True,
    )
    progress, stopped = _distribute(
        sessions, db, f"run {run_id}", run_id, task_ids, "simulating", concurrency if command.work else None
    )
    _closing(sessions, progress, stopped, run_id, db)


def _distribute(
    sessions: sessionmaker[Session],
    db: str,
    name: str,
    run_id: int,
    task_ids: list[int],
    label: str,
    concurrency: int | None,
    scoring: Scoring | None = None,
) -> tuple[RunProgress, bool]:
    """Defer the run's jobs and follow the whole run under a bar labelled `label`; with a `concurrency`
    (the run's), this process works on them too, `scoring` its eval episodes. Returns the progress last
    read and whether Ctrl-C stopped the following; a lost database is one line naming the run (`name`)."""
    from cli.worker import quiet_queue_logs
    from simulator.distributed import CHUNK_SIZE, QueueError, WorkerSettings, queue_of

    quiet_queue_logs()
    work = None
    if concurrency is not None:
        places = max(1, concurrency // CHUNK_SIZE)
        work = WorkerSettings(
            concurrency=places, queues=[queue_of(run_id)], scoring=scoring, on_failure=_failed
        )
    try:
        return asyncio.run(_follow(db, sessions, run_id, task_ids, work, label))
    except QueueError as exc:
        raise fail(f"{exc}; {name} goes on with the other workers") from None


async def _follow(
    db: str,
    sessions: sessionmaker[Session],
    run_id: int,
    task_ids: list[int],
    work: WorkerSettings | None,
    label: str,
) -> tuple[RunProgress, bool]:
    from cli.worker import drain_on_signals
    from simulator.distributed import distribute

    stop = asyncio.Event()

    def stopping() -> None:
        err_console.print("stopping: the episodes in flight here finish first (Ctrl-C again: stop at once)")

    with counting_bar(label, _COUNTS) as bar, drain_on_signals(stop, stopping):
        handle = bar.add_task("simulate", total=len(task_ids), accepted=0, rejected=0)

        def show(p: RunProgress) -> None:
            done, accepted = p.counts.conversations, p.counts.accepted
            bar.update(handle, completed=done, accepted=accepted, rejected=done - accepted)

        progress = await distribute(db, sessions, run_id, task_ids, work=work, stop=stop, on_progress=show)
    return progress, stop.is_set()


def _closing(
    sessions: sessionmaker[Session], progress: RunProgress, stopped: bool, run_id: int, db: str
) -> None:
    """The run's tables and one closing line, as a local run ends; a stop or a stuck run says how to
    go on."""
    from db.reports import behaviour_mix, call_figures, outcome_counts, task_mix, worker_shares
    from simulator.distributed_jobs import finish_if_complete

    counts = progress.counts
    if counts.status == "running" and stopped:
        err_console.print(
            f"stopped following run {run_id}: it goes on with its workers (button stats --run {run_id} "
            f"--db {db}); start more with button worker --db {db}"
        )
        raise typer.Exit(130)
    if counts.status == "running" and counts.pending == 0 and finish_if_complete(sessions, run_id):
        counts = replace(counts, status="finished")  # every task stored; its last job could not mark it
    with sessions() as session:
        for report in (task_mix, behaviour_mix, outcome_counts, call_figures, worker_shares):
            print_table(report(session, run_id))
    if counts.status == "finished":
        console.print(
            f"run {run_id} finished: {counts.conversations} conversations, {counts.accepted} accepted. "
            f"Next: button export --format button --db {db} --out out/button_instruct.jsonl"
        )
        return
    if counts.status == "interrupted":
        console.print(
            f"[yellow]budget reached[/yellow]: {counts.pending} task(s) left pending; continue with "
            f"button generate --resume {run_id} --db {db} (and a new --budget-tokens/--budget-usd)"
        )
        return
    raise fail(
        f"run {run_id}: {progress.failed} job(s) failed after their retries and {counts.pending} task(s) "
        f"have no conversation (the workers' output says why); finish it with button generate --resume "
        f"{run_id} --db {db}"
    )


def evaluate_distributed(
    sessions: sessionmaker[Session], eval_run_id: int, label: str, command: EvalCommand
) -> EvalReport:
    """Defer one stored eval run's episodes, work on them here unless --no-work, follow the whole run and
    return its report once every episode is scored (by whichever worker)."""
    from db import eval_store, store
    from evaluation.runner import SCORING, finish_evaluation, load_report
    from simulator.distributed import CHUNK_SIZE
    from simulator.evaluation_runs import stored_eval_config

    db = command.db
    with sessions() as session:
        eval_run = eval_store.get_eval_run(session, eval_run_id)
        assert eval_run is not None  # stored just now
        run_id = eval_run.run_id
        task_ids = store.task_ids(session, run_id)
        concurrency = stored_eval_config(session, eval_run).concurrency
    console.print(
        f"  {len(task_ids)} episodes in {-(-len(task_ids) // CHUNK_SIZE)} jobs on the queue; more workers: "
        f"button worker --db {db}",
        highlight=False,
        soft_wrap=True,
    )
    progress, stopped = _distribute(
        sessions,
        db,
        f"eval run {eval_run_id}",
        run_id,
        task_ids,
        f"evaluating {label}",
        concurrency if command.work else None,
        SCORING,
    )
    counts = progress.counts
    if counts.status == "running" and stopped:
        err_console.print(
            f"stopped following eval run {eval_run_id}: it goes on with its workers; `button evals --db "
            f"{db}` shows it once finished"
        )
        raise typer.Exit(130)
    if counts.pending > 0 and counts.status != "interrupted":
        raise fail(
            f"eval run {eval_run_id}: {progress.failed} job(s) failed after their retries and "
            f"{counts.pending} episode(s) are not scored (the lines above say why); finish it with "
            f"button eval --resume {eval_run_id} --db {db}"
        )
    if counts.status == "interrupted":  # as a local evaluation does: the report of what was scored
        console.print(
            f"[yellow]budget reached[/yellow]: {counts.pending} episode(s) not run; the report covers "
            f"the {counts.conversations} scored"
        )
    with sessions() as session:
        eval_run = eval_store.get_eval_run(session, eval_run_id)
        if eval_run is not None and eval_run.finished_at is not None:  # its last job stored the summary
            return load_report(session, eval_run_id)
    return finish_evaluation(sessions, eval_run_id)
