"""Close the loop: generate offline data, fine-tune SmolLM2-135M-Instruct on it, and evaluate the base and
the fine-tuned model as the Assistant on held-out tasks (not a test).

    .venv/bin/python bench/closed_loop.py [--n-train 300] [--epochs 1] [--batch-size 8] [--lr 1e-4]
                                          [--n-eval 100] [--out out/closed-loop]
    # reuse a model trained by bench/train.py (and the export it trained on):
    .venv/bin/python bench/closed_loop.py --model-dir out/bench-train --train-data out/bench-train/data.jsonl

Everything lands in OUT/closed.db: the training data's run, the training run (so the fine-tuned model's
evaluation links to it), both evaluations with every conversation and its metrics (`button evals --db
sqlite:///OUT/closed.db`, `button replay`). The held-out tasks come from another seed and are checked
against the training export's task fingerprints. The two models are evaluated at the same time in two
processes (one torch thread each): generation on a CPU is bound by memory bandwidth, not by cores, so
two single-threaded decoders finish sooner than one two-threaded decoder twice. Prints the comparison
table, the targets (fine-tuned success >= 10x base and >= 50%), data size, epochs and the time taken;
writes OUT/report.json and OUT/chart.png.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

from rich import box
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from cli.app import print_table
from datamodel.run_config import EvalConfig, GenerateConfig, read_run_config
from db import eval_store, store
from db.engine import ensure_schema, make_engine, session_factory
from db.models import EvalResult, EvalRun
from db.reports import Table
from evaluation.report import LEGEND, comparison_table, save_chart, write_json_report
from evaluation.runner import EvalReport, load_report, run_evaluation, start_evaluation
from simulator.batch import prepare_run, simulate_pending
from training.data import read_manifest
from training.export import export_conversations


def _database(out: Path) -> str:
    return f"sqlite:///{out / 'closed.db'}"


def _sessions(out: Path) -> sessionmaker[Session]:
    engine = make_engine(_database(out))
    ensure_schema(engine)
    return session_factory(engine)


def _make_data(sessions: sessionmaker[Session], out: Path, n: int, seed: int) -> Path:
    run_id, config = prepare_run(sessions, GenerateConfig(n=n, seed=seed, workers=0))
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
            same = isinstance(earlier, EvalConfig) and earlier.model == config.model
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


def _targets(base: EvalReport, tuned: EvalReport) -> Table:
    base_rate = base.breakdowns["overall"]["all"].success_rate or 0.0
    tuned_rate = tuned.breakdowns["overall"]["all"].success_rate or 0.0
    ratio = tuned_rate / base_rate if base_rate else float("inf") if tuned_rate else 0.0
    shown = f"{ratio:.1f}x" if base_rate else ("unbounded (base 0%)" if tuned_rate else "0/0")
    rows = [
        ("fine-tuned success / base success", shown, ">= 10x", "met" if ratio >= 10 else "missed"),
        (
            "fine-tuned success",
            f"{100 * tuned_rate:.1f}%",
            ">= 50%",
            "met" if tuned_rate >= 0.5 else "missed",
        ),
    ]
    return Table("targets", ["figure", "value", "target", ""], rows)


def _print(table: Table, **style: Any) -> None:
    print_table(table, box=box.SIMPLE_HEAD, pad_edge=False, **style)


def main() -> None:
    """Generate, train (or reuse a trained model), evaluate both models, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=300, help="offline conversations to train on")
    parser.add_argument("--train-seed", type=int, default=11)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--model-dir", type=Path, help="a model already fine-tuned (skips data and training)")
    parser.add_argument("--train-data", type=Path, help="the export --model-dir was trained on")
    parser.add_argument("--n-eval", type=int, default=100, help="held-out tasks per model")
    parser.add_argument("--jobs", type=int, default=2, help="evaluation processes")
    parser.add_argument("--out", type=Path, default=Path("out/closed-loop"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    sessions = _sessions(args.out)
    training_run = None
    if args.model_dir is None:
        data = _make_data(sessions, args.out, args.n_train, args.train_seed)
        model_dir, training_run = _train(sessions, args.out, data, args)
    elif args.train_data is None:
        parser.error("--model-dir needs --train-data (the export it was trained on), to hold tasks out")
    else:
        model_dir, data = args.model_dir, args.train_data
    trained_at = time.perf_counter()
    ids = []
    for label, model, run in (
        ("base", "smollm2", None),
        ("fine-tuned", f"hf:{model_dir}", training_run),
    ):
        config = EvalConfig(
            model=model,
            label=label,
            n=args.n_eval,
            train_data=[data],
            training_run=run,
            concurrency=1,
        )
        ids.append(_earlier_evaluation(sessions, config) or start_evaluation(sessions, config))
    print(f"evaluating base (eval {ids[0]}) and fine-tuned (eval {ids[1]}) on {args.n_eval} held-out tasks")
    _evaluate_all(sessions, args.out, ids, args.jobs)
    with sessions() as session:
        reports = [load_report(session, i) for i in ids]
    finished = time.perf_counter()
    _print(comparison_table(reports), caption=LEGEND)
    _print(_targets(*reports))
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
    report = write_json_report(reports, args.out / "report.json")
    print(f"report {report}, chart {save_chart(reports, args.out / 'chart.png')}")


if __name__ == "__main__":
    main()
