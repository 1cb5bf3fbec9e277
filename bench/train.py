"""Fine-tune SmolLM2-135M-Instruct on offline conversations and report the figures (not a test).

    .venv/bin/python bench/train.py [--n 300] [--conversation-seed 11] [any `button train` setting,
                                    e.g. --epochs 1 --max-steps -1 --lr 2e-5 --out out/bench-train]

Generates N conversations of the offline world into OUT/bench.db, exports them in the button format to
OUT/data.jsonl (with its manifest, so `button eval --train-data` can keep the model's training tasks out
of an evaluation), trains with `button train`'s code path, and prints tokens/s (input tokens, padding
excluded, per second of training), peak memory (process RSS; CUDA allocations on a GPU), and the loss curve's
first and last values. The loss plot is written beside the model.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trl import TrlParser

from datamodel.run_config import GenerateConfig
from db.engine import ensure_schema, make_engine, session_factory
from simulator.batch import prepare_run, simulate_pending
from training.config import TrainConfig
from training.export import export_conversations
from training.train import prepare, train


def _export(n: int, seed: int, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench.db").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
    ensure_schema(engine)
    sessions = session_factory(engine)
    run_id, config = prepare_run(sessions, GenerateConfig(n=n, seed=seed, workers=0))
    simulate_pending(sessions, run_id, config)
    out = folder / "data.jsonl"
    export_conversations(sessions, "button", out)
    return out


def _peak_memory() -> str:
    import torch

    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    text = f"peak RSS {rss_mib:,.0f} MiB"
    if torch.cuda.is_available():
        text += f", peak CUDA {torch.cuda.max_memory_allocated() / 2**20:,.0f} MiB"
    return text


@dataclass
class BenchArgs:
    """What the bench adds to `button train`'s settings."""

    n: int = field(default=300, metadata={"help": "Conversations to generate."})
    conversation_seed: int = field(default=11, metadata={"help": "Seed of the generated conversations."})


def main() -> None:
    """Parse the flags (every `button train` setting, plus the bench's), build the data, train, report."""
    dataclasses: list[Any] = [TrainConfig, BenchArgs]
    parser = TrlParser(dataclasses, description=__doc__.splitlines()[0])
    parser.set_defaults_with_config(data="(generated)", output_dir="out/bench-train", logging_steps=1)
    config, bench = parser.parse_args_and_config()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    config.data = str(_export(bench.n, bench.conversation_seed, Path(config.output_dir)))
    started = time.perf_counter()
    prepared = prepare(config)
    print(f"prepared {len(prepared[2].examples)} examples in {time.perf_counter() - started:.1f} s")
    result = train(config, prepared)
    losses = [row["loss"] for row in result.loss_history if "loss" in row]
    print(
        f"examples {result.n_examples} (dropped {result.n_dropped}, cut {result.n_truncated}), "
        f"tokens {result.n_tokens:,} ({result.n_trained_tokens:,} trained), steps {result.steps}"
    )
    speed = f"{result.tokens_per_second:,.0f} tokens/s"
    print(f"train time {result.train_seconds:.0f} s, {speed}, {_peak_memory()}")
    if losses:
        print(f"loss first {losses[0]:.4f}, last {losses[-1]:.4f} over {len(losses)} logged steps")
    print(f"model {result.output_dir}, loss plot {result.plot}")


if __name__ == "__main__":
    main()
