"""`button eval` (evaluate models as the Assistant over held-out tasks) and `button evals` (list or compare
stored evaluations)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.progress import Progress

from cli.app import (
    PASS_THROUGH,
    app,
    cli_errors,
    console,
    counting_bar,
    err_console,
    fail,
    open_reader,
    open_store,
    print_comparison,
    print_table,
)
from db import DEFAULT_DB_URL

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from datamodel.run_config import EvalConfig
    from db.reports import Table
    from evaluation.runner import EvalProgress, EvalReport

__all__ = ["evals", "evaluate"]


def _progress_bar(label: str) -> Progress:
    return counting_bar(label, "[green]{task.fields[succeeded]}/{task.fields[scored]} answered right")


def _check_model(model: str) -> None:
    """Fail before anything is stored when a local model is not there or is not a model."""
    from datamodel.models import parse_model
    from roles.local_models import ModelPathError, check_local_model

    try:
        spec = parse_model(model)
    except ValueError as exc:
        raise fail(f"--model: {exc}") from None
    if spec.kind != "hf":
        return
    if not Path(spec.name).exists():
        hint = " (run `make model`)" if model == "smollm2" else ""
        raise fail(f"--model {model}: no model at {spec.name}{hint}")
    try:
        check_local_model(Path(spec.name))
    except ModelPathError as exc:
        raise fail(f"--model {model}: {exc}") from None


def _run_one(sessions: sessionmaker[Session], eval_run_id: int, label: str, db: str) -> EvalReport:
    from datamodel.models import ClientSetupError
    from evaluation.runner import run_evaluation
    from roles.local_models import ModelPathError

    with _progress_bar(f"evaluating {label}") as bar:
        handle = bar.add_task("eval", total=None, succeeded=0, scored=0)

        def show(p: EvalProgress) -> None:
            bar.update(handle, total=p.total, completed=p.done, succeeded=p.succeeded, scored=p.scored)

        try:
            return run_evaluation(sessions, eval_run_id, on_progress=show)
        except (ClientSetupError, ModelPathError, FileNotFoundError, OSError) as exc:
            bar.stop()
            raise fail(f"eval run {eval_run_id} stopped: {exc}; fix it and continue with --resume") from None
        except KeyboardInterrupt:
            bar.stop()
            err_console.print(f"interrupted; continue with: button eval --resume {eval_run_id} --db {db}")
            raise typer.Exit(130) from None


def _announce(sessions: sessionmaker[Session], eval_run_id: int, config: EvalConfig) -> None:
    """What is about to be measured, and what the tasks were checked against."""
    from db.models import EvalRun

    with sessions() as session:
        run = session.get(EvalRun, eval_run_id)
        assert run is not None
        source, held = run.task_source, run.held_out
        linked = f", from training run {run.training_run_id}" if run.training_run_id is not None else ""
        console.print(
            f"eval run [bold]{run.id}[/bold]: {run.label} ({config.model}{linked}) on {source['n']} tasks"
        )
        if run.call_format != config.call_format:
            console.print(f"  calls asked for in the {run.call_format} format its training data taught")
    if held["checked_against"]:
        skipped = source.get("skipped_as_trained_on", 0)
        sources = ", ".join(held["checked_against"])
        replaced = f"; {skipped} drawn task(s) replaced" if skipped else ""
        console.print(f"  held out from {held['training_tasks']} training task(s) of {sources}{replaced}")
    else:
        console.print(
            "  [yellow]no training data given[/yellow] (--train-data): tasks not checked for overlap"
        )


def _check_plot(plot: Path | None) -> None:
    """Before any work: a chart needs matplotlib (the `train` extra)."""
    if plot is not None and importlib.util.find_spec("matplotlib") is None:
        raise fail(f"--plot {plot} needs matplotlib (the train extra): pip install -e '.[train]'")


def _outputs(reports: list[EvalReport], json_path: Path | None, plot: Path | None) -> None:
    from evaluation.report import LEGEND, comparison_table, save_chart, write_json_report

    print_comparison(comparison_table(reports), caption=LEGEND)
    if json_path is not None:
        console.print(f"JSON report: {write_json_report(reports, json_path)}")
    if plot is not None:
        console.print(f"chart: {save_chart(reports, plot)}")


def _stored_reports(sessions: sessionmaker[Session], ids: list[int]) -> list[EvalReport]:
    from evaluation.runner import load_report
    from simulator.batch import RunError

    with sessions() as session:
        try:
            return [load_report(session, i) for i in ids]
        except RunError as exc:
            raise fail(str(exc)) from None


@app.command("eval", context_settings=PASS_THROUGH, add_help_option=False)
@cli_errors
def evaluate(ctx: typer.Context) -> None:
    """Evaluate models as the Assistant over held-out tasks (no sub-task hints); store and show metrics."""
    from cli.commands import EVAL_SHORTCUTS, EvalCommand
    from cli.settings import parse_command
    from db.models import EvalRun
    from evaluation.heldout import HeldOutError
    from evaluation.runner import start_evaluation
    from roles.local_models import ModelPathError

    command = parse_command(EvalCommand, ctx.args, prog="button eval", shortcuts=EVAL_SHORTCUTS)
    if command.resume is None and not command.model:
        raise fail("give at least one --model (or --resume an eval run)")
    distributed = command.distributed or not command.work
    if distributed:
        from cli.distributed import check_distributed

        check_distributed("eval", command.db, command.distributed, command.resume)
    _check_plot(command.plot)
    for name in command.model:
        _check_model(name)
    configs = command.configs()
    sessions = open_store(command.db)
    ids = [] if command.resume is None else [command.resume]
    follow = "call_format" not in command.model_fields_set  # --call-format given: it wins
    for config in configs:
        try:
            ids.append(start_evaluation(sessions, config, follow_training_format=follow))
        except (HeldOutError, ModelPathError) as exc:
            raise fail(str(exc)) from None
        _announce(sessions, ids[-1], config)
    if not distributed:  # the distributed path has its own (cli.worker)
        from simulator.stopping import stop_on_signals

        stop_on_signals()  # Ctrl-C and SIGTERM: the run is marked interrupted and resumable, as in generate
    reports = []
    for eval_run_id in ids:
        with sessions() as session:
            run = session.get(EvalRun, eval_run_id)
            if run is None:
                raise fail(f"--resume {eval_run_id}: no such eval run; `button evals` lists them")
            run_label = run.label
        if distributed:
            from cli.distributed import evaluate_distributed

            reports.append(evaluate_distributed(sessions, eval_run_id, run_label, command))
        else:
            reports.append(_run_one(sessions, eval_run_id, run_label, command.db))
    _outputs(reports + _stored_reports(sessions, command.compare), command.json_report, command.plot)


def _eval_list(session: Session, limit: int) -> Table:
    from sqlalchemy import select

    from db.models import EvalRun
    from db.reports import Table

    rows = []
    query = select(EvalRun).order_by(EvalRun.id.desc()).limit(limit)
    for run in session.scalars(query):
        overall = (run.summary or {}).get("overall", {}).get("all", {})
        rate = overall.get("success_rate")
        rows.append(
            (
                run.id,
                run.label,
                run.model,
                run.training_run_id,
                run.task_source.get("n"),
                "–" if rate is None else f"{100 * rate:.1f}%",
                "finished" if run.finished_at is not None else "unfinished",
                run.created_at.strftime("%m-%d %H:%M"),
            )
        )
    columns = ["id", "label", "model", "training run", "tasks", "success", "status", "created"]
    return Table("evaluations (newest first)", columns, rows)


@app.command()
@cli_errors
def evals(
    ids: Annotated[list[int] | None, typer.Argument(help="Eval runs to compare; none: list them.")] = None,
    limit: Annotated[int, typer.Option("-n", help="How many to list.")] = 20,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write the PNG bar chart here.")] = None,
    db: Annotated[str, typer.Option(help="Database URL (SQLite or postgresql+psycopg).")] = DEFAULT_DB_URL,
) -> None:
    """List stored evaluations, or compare some: table, JSON report, bar chart."""
    _check_plot(plot)
    sessions = open_reader(db)
    if not ids:
        with sessions() as session:
            print_table(_eval_list(session, limit), box=box.SIMPLE_HEAD, pad_edge=False)
        return
    _outputs(_stored_reports(sessions, ids), json_path, plot)
