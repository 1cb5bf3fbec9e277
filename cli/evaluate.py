"""`button eval` (evaluate models as the Assistant over held-out tasks) and `button evals` (list or compare
stored evaluations)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.progress import Progress
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cli.app import app, cli_errors, console, counting_bar, err_console, fail, open_store, print_table
from datamodel.models import CallFormat, ClientSetupError, LLMExecution, RoleModel, parse_model
from datamodel.run_config import DEFAULT_DB_URL, EVAL_SEED, EvalConfig
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


@app.command("eval")
@cli_errors
def evaluate(
    model: Annotated[list[str] | None, typer.Option(help=_MODEL_HELP + " Repeat to compare.")] = None,
    label: Annotated[list[str] | None, typer.Option(help="Name per --model, in order.")] = None,
    n: Annotated[int, typer.Option(help="Held-out tasks.")] = 100,
    seed: Annotated[int, typer.Option(help="Seed of the held-out offline-world tasks.")] = EVAL_SEED,
    from_run: Annotated[int | None, typer.Option(help="Use the tasks of this stored generate run.")] = None,
    train_data: Annotated[
        list[Path] | None,
        typer.Option(help="Export the model trained on: its tasks are refused. Repeatable."),
    ] = None,
    training_run: Annotated[
        int | None, typer.Option(help="Training run the model came from (found by its folder otherwise).")
    ] = None,
    call_format: Annotated[
        CallFormat, typer.Option(help="BUTTON <call> text or native tool calls.")
    ] = "button",
    parallel: Annotated[bool, typer.Option(help="Let the model make parallel calls.")] = True,
    max_subtasks: Annotated[int, typer.Option(help="Most sub-tasks of a world task.")] = 3,
    max_turns: Annotated[int, typer.Option(help="Messages after which a conversation is cut off.")] = 12,
    max_idle: Annotated[
        int, typer.Option(help="Assistant turns in a row with neither calls nor answer that end it.")
    ] = 2,
    format_retries: Annotated[int, typer.Option(help="Times a malformed reply is sent back.")] = 0,
    max_tokens: Annotated[int, typer.Option(help="Most tokens per reply of the model.")] = 512,
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint for openai: models.")
    ] = None,
    api_key_env: Annotated[
        str, typer.Option(help="Environment variable with the API key.")
    ] = "OPENAI_API_KEY",
    concurrency: Annotated[int, typer.Option(help="Conversations in flight.")] = 4,
    cache: Annotated[bool, typer.Option(help="Reuse stored replies to identical requests.")] = True,
    cache_dir: Annotated[str, typer.Option(help="Folder of the reply cache.")] = ".button-cache",
    compare: Annotated[list[int] | None, typer.Option(help="Stored eval run to add to the table.")] = None,
    resume: Annotated[int | None, typer.Option(help="Finish an interrupted eval run.")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write the PNG bar chart here.")] = None,
    db: Annotated[str, typer.Option(help="Database URL (SQLite or postgresql+psycopg).")] = DEFAULT_DB_URL,
) -> None:
    """Evaluate models as the Assistant over held-out tasks (no sub-task hints); store and show metrics."""
    models, labels = model or [], label or []
    if resume is None and not models:
        raise fail("give at least one --model (or --resume an eval run)")
    if len(labels) > len(models):
        raise fail(f"{len(labels)} --label for {len(models)} --model; give at most one label per model")
    for name in models:
        _check_model(name)
    sessions = open_store(db)
    ids = [] if resume is None else [resume]
    for i, name in enumerate(models):
        config = EvalConfig(
            assistant=RoleModel(
                model=name,
                base_url=base_url,
                api_key_env=api_key_env,
                max_tokens=max_tokens,
                format=call_format,
            ),
            label=labels[i] if i < len(labels) else _default_label(name),
            n=n,
            seed=seed,
            from_run=from_run,
            max_subtasks=max_subtasks,
            parallel=parallel,
            max_turns=max_turns,
            max_idle=max_idle,
            format_retries=format_retries,
            train_data=train_data or [],
            training_run=training_run,
            concurrency=concurrency,
            llm=LLMExecution(cache=cache, cache_dir=cache_dir),
        )
        try:
            ids.append(start_evaluation(sessions, config))
        except HeldOutError as exc:
            raise fail(str(exc)) from None
        _announce(sessions, ids[-1], name)
    reports = []
    for eval_run_id in ids:
        with sessions() as session:
            run = session.get(EvalRun, eval_run_id)
            if run is None:
                raise fail(f"--resume {eval_run_id}: no such eval run; `button evals` lists them")
            run_label = run.label
        reports.append(_run_one(sessions, eval_run_id, run_label, db))
    _outputs(reports + _stored_reports(sessions, compare or []), json_path, plot)


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
