"""`button eval` (evaluate models as the Assistant over held-out tasks) and `button evals` (list or compare
stored evaluations)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import Field
from rich import box
from rich.progress import Progress
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

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
from cli.settings import parse_command
from datamodel.models import ClientSetupError, parse_model
from datamodel.run_config import DEFAULT_DB_URL, EvalConfig, EvalSettings
from db.models import EvalRun
from db.reports import Table
from evaluation.heldout import HeldOutError
from evaluation.report import LEGEND, comparison_table, save_chart, write_json_report
from evaluation.runner import EvalProgress, EvalReport, load_report, run_evaluation, start_evaluation
from simulator.batch import RunError

__all__ = ["evals", "evaluate"]

_MODEL_HELP = "Model under test: hf:PATH (e.g. a `button train` folder), smollm2, openai:MODEL, offline."


def _progress_bar(label: str) -> Progress:
    return counting_bar(label, "[green]{task.fields[succeeded]} succeeded")


def _default_label(model: str) -> str:
    spec = parse_model(model)
    return Path(spec.name).name or spec.name if spec.kind == "hf" else model


def _check_model(model: str) -> None:
    """Fail before anything is stored when a local model is not there."""
    try:
        spec = parse_model(model)
    except ValueError as exc:
        raise fail(f"--model: {exc}") from None
    if spec.kind == "hf" and not Path(spec.name).exists():
        hint = " (run `make model`)" if model == "smollm2" else ""
        raise fail(f"--model {model}: no model at {spec.name}{hint}")


def _run_one(sessions: sessionmaker[Session], eval_run_id: int, label: str, db: str) -> EvalReport:
    with _progress_bar(f"evaluating {label}") as bar:
        handle = bar.add_task("eval", total=None, succeeded=0)

        def show(p: EvalProgress) -> None:
            bar.update(handle, total=p.total, completed=p.done, succeeded=p.succeeded)

        try:
            return run_evaluation(sessions, eval_run_id, on_progress=show)
        except (ClientSetupError, FileNotFoundError, OSError) as exc:
            bar.stop()
            raise fail(f"eval run {eval_run_id} stopped: {exc}; fix it and continue with --resume") from None
        except KeyboardInterrupt:
            bar.stop()
            err_console.print(f"interrupted; continue with: button eval --resume {eval_run_id} --db {db}")
            raise typer.Exit(130) from None


def _announce(sessions: sessionmaker[Session], eval_run_id: int, model: str) -> None:
    """What is about to be measured, and what the tasks were checked against."""
    with sessions() as session:
        run = session.get(EvalRun, eval_run_id)
        assert run is not None
        source, held = run.task_source, run.held_out
        linked = f", from training run {run.training_run_id}" if run.training_run_id is not None else ""
        console.print(f"eval run [bold]{run.id}[/bold]: {run.label} ({model}{linked}) on {source['n']} tasks")
    if held["checked_against"]:
        skipped = source.get("skipped_as_trained_on", 0)
        sources = ", ".join(held["checked_against"])
        replaced = f"; {skipped} drawn task(s) replaced" if skipped else ""
        console.print(f"  held out from {held['training_tasks']} training task(s) of {sources}{replaced}")
    else:
        console.print(
            "  [yellow]no training data given[/yellow] (--train-data): tasks not checked for overlap"
        )


def _outputs(reports: list[EvalReport], json_path: Path | None, plot: Path | None) -> None:
    print_table(comparison_table(reports), box=box.SIMPLE_HEAD, pad_edge=False, caption=LEGEND)
    if json_path is not None:
        console.print(f"JSON report: {write_json_report(reports, json_path)}")
    if plot is not None:
        console.print(f"chart: {save_chart(reports, plot)}")


def _stored_reports(sessions: sessionmaker[Session], ids: list[int]) -> list[EvalReport]:
    with sessions() as session:
        try:
            return [load_report(session, i) for i in ids]
        except RunError as exc:
            raise fail(str(exc)) from None


EVAL_SHORTCUTS: dict[str, str | list[str]] = {
    **{
        f"endpoint.{name}": name
        for name in ("base-url", "api-key-env", "max-tokens", "temperature", "timeout")
    },
    **{f"llm.{name}": name for name in ("cache", "cache-dir", "max-retries")},
    "json-report": "json",
}


class EvalCommand(EvalSettings):
    """`button eval`: the settings shared by every model evaluated, the models, and where results go."""

    model: list[str] = Field(default_factory=list, description=_MODEL_HELP + " Repeat to compare.")
    label: list[str] = Field(default_factory=list, description="Name per --model, in order.")
    compare: list[int] = Field(default_factory=list, description="Stored eval run to add to the table.")
    resume: int | None = Field(default=None, description="Finish an interrupted eval run.")
    json_report: Path | None = Field(default=None, description="Write the JSON report here.")
    plot: Path | None = Field(default=None, description="Write the PNG bar chart here.")
    db: str = Field(default=DEFAULT_DB_URL, description="Database URL (SQLite or postgresql+psycopg).")

    def configs(self) -> list[EvalConfig]:
        """One evaluation per --model, with its label (the model's name when not given)."""
        if len(self.label) > len(self.model):
            raise fail(
                f"{len(self.label)} --label for {len(self.model)} --model; give at most one label per model"
            )
        shared = self.model_dump(include=set(EvalSettings.model_fields))
        labels = self.label + [_default_label(name) for name in self.model[len(self.label) :]]
        return [
            EvalConfig(**shared, model=name, label=label)
            for name, label in zip(self.model, labels, strict=True)
        ]


@app.command("eval", context_settings=PASS_THROUGH, add_help_option=False)
@cli_errors
def evaluate(ctx: typer.Context) -> None:
    """Evaluate models as the Assistant over held-out tasks (no sub-task hints); store and show metrics."""
    command = parse_command(EvalCommand, ctx.args, prog="button eval", shortcuts=EVAL_SHORTCUTS)
    if command.resume is None and not command.model:
        raise fail("give at least one --model (or --resume an eval run)")
    for name in command.model:
        _check_model(name)
    configs = command.configs()
    sessions = open_store(command.db)
    ids = [] if command.resume is None else [command.resume]
    for config in configs:
        try:
            ids.append(start_evaluation(sessions, config))
        except HeldOutError as exc:
            raise fail(str(exc)) from None
        _announce(sessions, ids[-1], config.model)
    reports = []
    for eval_run_id in ids:
        with sessions() as session:
            run = session.get(EvalRun, eval_run_id)
            if run is None:
                raise fail(f"--resume {eval_run_id}: no such eval run; `button evals` lists them")
            run_label = run.label
        reports.append(_run_one(sessions, eval_run_id, run_label, command.db))
    _outputs(reports + _stored_reports(sessions, command.compare), command.json_report, command.plot)


def _eval_list(session: Session, limit: int) -> Table:
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
    sessions = open_store(db)
    if not ids:
        with sessions() as session:
            print_table(_eval_list(session, limit), box=box.SIMPLE_HEAD, pad_edge=False)
        return
    _outputs(_stored_reports(sessions, ids), json_path, plot)
