"""Close the loop: generate offline data, fine-tune SmolLM2-135M-Instruct on it, and evaluate the base and
the fine-tuned model as the Assistant on held-out tasks (not a test).

    .venv/bin/python bench/closed_loop.py [--n-train 300] [--train-mix clarify=0.2,...] [--epochs 1]
                                          [--batch-size 8] [--lr 1e-4] [--n-eval 100]
                                          [--n-behaviour-eval 100] [--behaviour-seeds 2002,2003]
                                          [--skip-base] [--jobs 2] [--out out/closed-loop]
    # reuse a model trained by bench/train.py (and the export it trained on):
    .venv/bin/python bench/closed_loop.py --model-dir out/bench-train --train-data out/bench-train/data.jsonl

Everything lands in OUT/closed.db: the training data's run, the training run (so the fine-tuned model's
evaluation links to it), both evaluations with every conversation and its metrics (`button evals --db
sqlite:///OUT/closed.db`, `button replay`). Two held-out sets, each from another seed and checked against
the training export's task fingerprints: plain tasks (what success has always been measured on) and
tasks drawn with every behaviour (asking for a left-out value, follow-ups, unanswerable requests, failing
calls, look-alikes), scored by each behaviour's check. The two models are evaluated at the same time in two
processes (one torch thread each): generation on a CPU is bound by memory bandwidth, not by cores, so
two single-threaded decoders finish sooner than one two-threaded decoder twice. Prints the comparison
tables, the targets (fine-tuned success >= 40% and >= 10x base on plain tasks; its behaviour check
passed on >= 60% of the irrelevant and of the clarify tasks, over every behaviour set together), data
size, epochs and the time taken. `--behaviour-seeds` draws one behaviour set per seed (more tasks per
behaviour, less noise); `--skip-base` evaluates only the fine-tuned model (the base's figures do not
change between runs);
writes OUT/report.json, OUT/chart.png (plain tasks) and OUT/chart-behaviours.png.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cli.app import print_comparison
from cli.settings import describe_validation_error, parse_command
from datamodel.behaviours import BehaviourMix
from datamodel.run_config import EVAL_SEED, EvalConfig, GenerateConfig, read_run_config
from db import eval_store, store
from db.engine import ensure_schema, make_engine, session_factory
from db.models import EvalResult, EvalRun
from db.reports import Table
from evaluation.report import LEGEND, comparison_table, save_chart, write_json_report
from evaluation.runner import EvalReport, load_report, run_evaluation, start_evaluation
from simulator.batch import prepare_run, simulate_pending
from training.data import read_manifest
from training.export import export_conversations

# The behaviour set: every task asked for one of the four behaviours (those that cannot take the one drawn
# stay plain), half of them with look-alikes besides.
BEHAVIOUR_MIX = BehaviourMix(clarify=0.25, follow_up=0.25, irrelevant=0.25, tool_error=0.25, look_alike=0.5)
BEHAVIOUR_SEED = 2002


def _database(out: Path) -> str:
    return f"sqlite:///{out / 'closed.db'}"


def _sessions(out: Path) -> sessionmaker[Session]:
    engine = make_engine(_database(out))
    ensure_schema(engine)
    return session_factory(engine)


def _train_mix(text: str | None) -> BehaviourMix:
    """`clarify=0.2,irrelevant=0.12,...`, read by `button generate`'s own parser of `--mix`; none given:
    its default mix."""
    try:
        return parse_command(GenerateConfig, ["--mix", text] if text else [], prog="closed_loop.py").mix
    except ValidationError as exc:
        raise SystemExit(f"--train-mix {text!r}: {describe_validation_error(exc)}") from None
    except SettingsError as exc:
        raise SystemExit(f"--train-mix {text!r}: {str(exc).splitlines()[0]}") from None


def _make_data(sessions: sessionmaker[Session], out: Path, n: int, seed: int, mix: BehaviourMix) -> Path:
    settings = GenerateConfig(n=n, seed=seed, workers=0, mix=mix)
    run_id, config = prepare_run(sessions, settings)
    simulate_pending(sessions, run_id, config)
    data = out / "train.jsonl"
    export_conversations(sessions, "button", data, run_id=run_id)
    return data


def _train(
    sessions: sessionmaker[Session], out: Path, data: Path, args: argparse.Namespace
) -> tuple[Path, int]:
    """Fine-tune with `button train`'s service, so the run is recorded in closed.db as a user's would be."""
    from training.config import TrainConfig
    from training.service import prepare_training, train_recorded

    model = out / "model"
    config = TrainConfig(
        data=str(data),
        output_dir=str(model),
        num_train_epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
    )
    train_recorded(sessions, config, prepare_training(config))
    with sessions() as session:
        run = eval_store.training_run_for_model(session, model)
    assert run is not None  # button train just recorded it
    return model, run.id


def _earlier_evaluation(sessions: sessionmaker[Session], config: EvalConfig) -> int | None:
    """An evaluation of this model on the same tasks already in closed.db (finished, or stopped part way:
    running it again only simulates what it lacks), so a re-run of the benchmark resumes."""
    with sessions() as session:
        for run in session.scalars(select(EvalRun).where(EvalRun.label == config.label)):
            stored = store.get_run(session, run.run_id)
            earlier = read_run_config(stored.config) if stored is not None else None
            same = (
                isinstance(earlier, EvalConfig)
                and earlier.model == config.model
                and earlier.mix == config.mix
            )
            if same and run.task_source.get("n") == config.n and run.task_source.get("seed") == config.seed:
                return run.id
    return None


def _evaluate_in_process(out: Path, eval_run_id: int) -> None:
    import torch

    torch.set_num_threads(1)
    run_evaluation(_sessions(out), eval_run_id)


def _evaluate_all(sessions: sessionmaker[Session], out: Path, ids: list[int], jobs: int) -> None:
    """Run the evaluations in `jobs` processes, printing how many conversations each has stored."""
    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    with context.Pool(jobs) as pool:
        pending = pool.starmap_async(_evaluate_in_process, [(out, i) for i in ids])
        while not pending.ready():
            pending.wait(30)
            with sessions() as session:
                counts = dict(
                    session.execute(
                        select(EvalResult.eval_run_id, func.count()).group_by(EvalResult.eval_run_id)
                    ).all()
                )
            done = ", ".join(f"eval {i}: {counts.get(i, 0)}" for i in ids)
            print(f"  {time.perf_counter() - started:6.0f} s  {done}", flush=True)
        pending.get()


def _rate(report: EvalReport, cut: str, key: str, metric: str) -> float | None:
    summary = report.breakdowns.get(cut, {}).get(key)
    value = getattr(summary, metric) if summary is not None else None
    return value if value is None else float(value)


def _target(figure: str, value: float | None, target: float) -> tuple[str, str, str, str]:
    shown = "–" if value is None else f"{100 * value:.1f}%"
    return (
        figure,
        shown,
        f">= {100 * target:.0f}%",
        "met" if value is not None and value >= target else "missed",
    )


def _passed(sessions: sessionmaker[Session], ids: list[int]) -> dict[str, tuple[int, int]]:
    """Per behaviour, over the evaluations `ids` together: tasks whose behaviour check passed, and tasks
    of that behaviour (a tool-error task where the failing call was never made counts as not passed)."""
    passed = func.count().filter(EvalResult.behaviour_passed.is_(True))
    query = (
        select(EvalResult.behaviour, passed, func.count())
        .where(EvalResult.eval_run_id.in_(ids))
        .group_by(EvalResult.behaviour)
    )
    with sessions() as session:
        return {behaviour: (int(p), int(n)) for behaviour, p, n in session.execute(query).all()}


def _targets(base: EvalReport | None, tuned: EvalReport, behaviours: dict[str, tuple[int, int]]) -> Table:
    tuned_rate = _rate(tuned, "overall", "all", "success_rate") or 0.0
    rows = [_target("fine-tuned success, plain tasks", tuned_rate, 0.4)]
    if base is not None:
        base_rate = _rate(base, "overall", "all", "success_rate") or 0.0
        ratio = tuned_rate / base_rate if base_rate else float("inf") if tuned_rate else 0.0
        shown = f"{ratio:.1f}x" if base_rate else ("unbounded (base 0%)" if tuned_rate else "0/0")
        rows.append(
            ("fine-tuned success / base success", shown, ">= 10x", "met" if ratio >= 10 else "missed")
        )
    for behaviour in ("irrelevant", "clarify"):
        if behaviour in behaviours:
            p, n = behaviours[behaviour]
            row = _target(f"fine-tuned {behaviour}: behaviour check passed", p / n, 0.6)
            rows.append((row[0], f"{p}/{n} ({row[1]})", row[2], row[3]))
    return Table("targets", ["figure", "value", "target", ""], rows)


def _print(table: Table, caption: str | None = None) -> None:
    print_comparison(table, caption=caption)


def main() -> None:
    """Generate, train (or reuse a trained model), evaluate both models, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=300, help="offline conversations to train on")
    parser.add_argument("--train-seed", type=int, default=11)
    parser.add_argument(
        "--train-mix",
        help="behaviour shares of the training data, as `button generate --mix` takes them (e.g. "
        "clarify=0.2,irrelevant=0.12,follow_up=0.1,tool_error=0.1,look_alike=0.3); default: its default",
    )
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--model-dir", type=Path, help="a model already fine-tuned (skips data and training)")
    parser.add_argument("--train-data", type=Path, help="the export --model-dir was trained on")
    parser.add_argument("--n-eval", type=int, default=100, help="held-out plain tasks per model")
    parser.add_argument(
        "--n-behaviour-eval", type=int, default=100, help="held-out tasks with behaviours per model (0: none)"
    )
    parser.add_argument(
        "--behaviour-seeds",
        default=str(BEHAVIOUR_SEED),
        help="one behaviour set per seed, comma-separated (e.g. 2002,2003)",
    )
    parser.add_argument(
        "--skip-base", action="store_true", help="evaluate only the fine-tuned model (base: 0%% so far)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="evaluation processes")
    parser.add_argument("--out", type=Path, default=Path("out/closed-loop"))
    args = parser.parse_args()
    try:
        seeds = [int(seed) for seed in args.behaviour_seeds.split(",") if seed.strip()]
    except ValueError:
        parser.error(f"--behaviour-seeds {args.behaviour_seeds!r}: give whole numbers separated by commas")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    sessions = _sessions(args.out)
    training_run = None
    if args.model_dir is None:
        data = _make_data(sessions, args.out, args.n_train, args.train_seed, _train_mix(args.train_mix))
        model_dir, training_run = _train(sessions, args.out, data, args)
    elif args.train_data is None:
        parser.error("--model-dir needs --train-data (the export it was trained on), to hold tasks out")
    else:
        model_dir, data = args.model_dir, args.train_data
    trained_at = time.perf_counter()
    sets = [("plain", args.n_eval, EVAL_SEED, BehaviourMix.none())]
    if args.n_behaviour_eval:
        sets += [(f"behaviours {seed}", args.n_behaviour_eval, seed, BEHAVIOUR_MIX) for seed in seeds]
    models = [("base", "smollm2", None), ("fine-tuned", f"hf:{model_dir}", training_run)]
    if args.skip_base:
        models = models[1:]
    ids: dict[tuple[str, str], int] = {}
    for name, n, seed, mix in sets:
        for label, model, run in models:
            config = EvalConfig(
                model=model,
                label=label,
                n=n,
                seed=seed,
                mix=mix,
                train_data=[data],
                training_run=run,
                concurrency=1,
            )
            ids[name, label] = _earlier_evaluation(sessions, config) or start_evaluation(sessions, config)
    print(
        "evaluating " + ", ".join(f"{label} on {name} tasks (eval {i})" for (name, label), i in ids.items())
    )
    _evaluate_all(sessions, args.out, list(ids.values()), args.jobs)
    with sessions() as session:
        reports = {key: load_report(session, i) for key, i in ids.items()}
    finished = time.perf_counter()
    plain = [reports[key] for key in reports if key[0] == "plain"]
    _print(comparison_table(plain, "held-out plain tasks"), caption=LEGEND)
    # each behaviour set's reports (one per model), by its seed
    behaviour_sets = {
        seed: [reports[key] for key in reports if key[0] == name] for name, _n, seed, _mix in sets[1:]
    }
    for seed, shown in behaviour_sets.items():
        _print(comparison_table(shown, f"held-out tasks with behaviours, seed {seed}"), caption=LEGEND)
    tuned_sets = [i for (name, label), i in ids.items() if name != "plain" and label == "fine-tuned"]
    base = None if args.skip_base else reports["plain", "base"]
    _print(_targets(base, reports["plain", "fine-tuned"], _passed(sessions, tuned_sets)))
    manifest = read_manifest(data) or {}
    training = (
        f"data + training {trained_at - started:.0f} s"
        if args.model_dir is None
        else f"model reused from {args.model_dir} (its data and training ran before; see bench/train.py)"
    )
    epochs = f"epochs {args.epochs}" if args.model_dir is None else "epochs: as that model was trained"
    print(
        f"data: {manifest.get('count', '?')} conversations ({data}); {epochs}; {training}; "
        f"evaluation {finished - trained_at:.0f} s"
    )
    report = write_json_report(list(reports.values()), args.out / "report.json")
    charts = [save_chart(plain, args.out / "chart.png")]
    for seed, shown in behaviour_sets.items():
        suffix = "" if len(behaviour_sets) == 1 else f"-{seed}"
        charts.append(save_chart(shown, args.out / f"chart-behaviours{suffix}.png"))
    print(f"report {report}, charts {', '.join(str(c) for c in charts)}")


if __name__ == "__main__":
    main()
