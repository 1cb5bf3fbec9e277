"""`button generate`: the main job, from tasks to verified, stored conversations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import ValidationError
from rich.progress import Progress

from cli.app import app, cli_errors, console, counting_bar, err_console, fail, open_store, print_table
from cli.cost import ledger_table, stored_token_usage
from cli.run_config import from_command_line, resolve_config
from composition.prompts import PromptError
from composition.seeds import SeedFormatError
from datamodel.models import CallFormat, ClientSetupError
from datamodel.run_config import DEFAULT_DB_URL
from db.reports import call_figures, outcome_counts, task_mix
from roles.ledger import TokenLedger
from simulator.batch import BatchProgress, RunError, prepare_run, simulate_pending

__all__ = ["generate"]

_MODEL_HELP = "Model of the role: offline, openai:MODEL, hf:PATH or smollm2."
Source = Literal["world", "llm"]


def _progress_bar() -> Progress:
    counts = "[green]{task.fields[accepted]} accepted[/green] [red]{task.fields[rejected]} rejected"
    return counting_bar("simulating", counts)


def _values(ctx: typer.Context, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split the command's parameters into those given on the command line and the defaults."""
    given, defaults = {}, {}
    for name, value in params.items():
        if from_command_line(ctx.get_parameter_source(name)):
            given[name] = value
        elif value is not None:
            defaults[name] = value
    return given, defaults


@app.command()
@cli_errors
def generate(
    ctx: typer.Context,
    n: Annotated[
        int, typer.Option(help="Number of compositional tasks to simulate (source llm: at most).")
    ] = 600,
    source: Annotated[
        Source, typer.Option(help="Tasks from the offline world, or from the LLM bottom-up stages.")
    ] = "world",
    seed: Annotated[int, typer.Option(help="Seed of task generation: same seed, same dataset.")] = 0,
    parallel: Annotated[
        bool, typer.Option(help="Let the assistant make independent calls in one turn.")
    ] = True,
    max_subtasks: Annotated[int, typer.Option(help="Most sub-tasks in a composed task (paper: 3).")] = 3,
    max_turns: Annotated[int, typer.Option(help="Messages after which an episode is cut off.")] = 24,
    policy: Annotated[str, typer.Option(help="Offline assistant policy: plan or sequential.")] = "plan",
    world_seed: Annotated[int, typer.Option(help="Seed of the offline world's knowledge base.")] = 0,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (0: in-process). Default: cores, at most 8.")
    ] = None,
    concurrency: Annotated[
        int, typer.Option(help="Episodes in flight per worker; LLM runs: requests in flight, the whole run.")
    ] = 32,
    db: Annotated[str, typer.Option(help="Database URL (SQLite or postgresql+psycopg).")] = DEFAULT_DB_URL,
    resume: Annotated[
        int | None, typer.Option(help="Finish an interrupted run, with its stored settings.")
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option("--config", help="YAML file with any of these settings and per-role models."),
    ] = None,
    user_model: Annotated[str, typer.Option(help=_MODEL_HELP)] = "offline",
    assistant_model: Annotated[str, typer.Option(help=_MODEL_HELP)] = "offline",
    tool_model: Annotated[str, typer.Option(help=_MODEL_HELP)] = "offline",
    composer_model: Annotated[str, typer.Option(help=_MODEL_HELP + " Source llm: makes the tasks.")] = (
        "offline"
    ),
    judge_model: Annotated[str, typer.Option(help=_MODEL_HELP + " Source llm: filters them.")] = "offline",
    seeds: Annotated[
        Path | None, typer.Option(help="Seed conversations (.jsonl or .json). Default: the shipped examples.")
    ] = None,
    n_expansions: Annotated[
        int | None, typer.Option(help="New scenarios per seed scenario (default 2).")
    ] = None,
    dedup_threshold: Annotated[
        float | None, typer.Option(help="Cosine similarity at which scenarios are duplicates (0.85).")
    ] = None,
    call_format: Annotated[
        CallFormat, typer.Option(help="LLM assistant calls: BUTTON <call> text, or native tool calls.")
    ] = "button",
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1.")
    ] = None,
    api_key_env: Annotated[
        str, typer.Option(help="Environment variable holding the API key.")
    ] = "OPENAI_API_KEY",
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature of LLM roles.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Most tokens per LLM reply.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds before one HTTP attempt times out.")] = 60.0,
    max_retries: Annotated[int, typer.Option(help="HTTP retries per request (429, 5xx, timeouts).")] = 4,
    max_format_retries: Annotated[
        int, typer.Option(help="Times a malformed LLM reply is sent back with the problem.")
    ] = 2,
    cache: Annotated[bool, typer.Option(help="Reuse stored LLM replies to identical requests.")] = True,
    cache_dir: Annotated[str, typer.Option(help="Folder of the LLM reply cache.")] = ".button-cache",
    budget_tokens: Annotated[int | None, typer.Option(help="Stop cleanly after this many tokens.")] = None,
    budget_usd: Annotated[float | None, typer.Option(help="Stop cleanly after this many dollars.")] = None,
    price_in: Annotated[float, typer.Option(help="USD per 1M prompt tokens (for --budget-usd).")] = 0.0,
    price_out: Annotated[float, typer.Option(help="USD per 1M completion tokens.")] = 0.0,
) -> None:
    """Generate compositional tasks, simulate a conversation for each, verify and store everything."""
    params = dict(ctx.params)
    if policy not in ("plan", "sequential"):
        raise fail(f"invalid --policy {policy!r}: choose 'plan' or 'sequential'")
    given, defaults = _values(
        ctx, {k: v for k, v in params.items() if k not in ("db", "resume", "config_file")}
    )
    try:
        config = resolve_config(config_file, given, defaults)
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            raise
        raise fail(str(exc)) from None
    sessions = open_store(db)
    ledger = TokenLedger()  # both phases of this invocation: one ledger, one budget
    if config.source == "llm":
        console.print(
            f"bottom-up stages: composer {config.role('composer').model}, judge "
            f"{config.role('judge').model}, seeds {config.bottom_up.seeds or 'the shipped examples'}"
        )
    try:
        run_id, config = prepare_run(sessions, config, resume, ledger=ledger)
    except (RunError, SeedFormatError, PromptError, ClientSetupError) as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        err_console.print(
            "interrupted; `button stats` lists the run; continue with: button generate --resume RUN"
        )
        raise typer.Exit(130) from None
    if config.uses_llm:
        models = ", ".join(f"{r} {config.role(r).model}" for r in ("user", "assistant", "tool"))
        console.print(f"LLM roles: {models}; {config.concurrency} requests in flight at most")
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
            done = simulate_pending(sessions, run_id, config, show, ledger=ledger)
        except ClientSetupError as exc:
            bar.stop()
            raise fail(str(exc)) from None
        except RunError as exc:  # a worker process of an LLM run failed; the run is marked interrupted
            bar.stop()
            raise fail(f"{exc}; continue with: button generate --resume {run_id} --db {db}") from None
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
        if config.uses_llm:
            print_table(stored_token_usage(session, run_id))
    if done.ledger is not None:
        print_table(ledger_table(done.ledger, config.llm.price_in, config.llm.price_out))
    if done.left_pending:
        console.print(
            f"[yellow]budget reached[/yellow]: {done.left_pending} task(s) left pending; continue with "
            f"button generate --resume {run_id} --db {db} (and a new --budget-tokens/--budget-usd)"
        )
        return
    console.print(
        f"run {run_id} finished: {done.done} conversations simulated now{_over(done.processes)}, "
        f"{done.accepted} accepted. "
        f"Next: button export --format button --db {db} --out out/button_instruct.jsonl"
    )


def _over(processes: int) -> str:
    return f" over {processes} processes" if processes > 1 else ""
