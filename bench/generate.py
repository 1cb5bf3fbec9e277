"""Offline generation throughput: conversations/s, the share of time inside AutoGen, time for 8,000.

Usage: python bench/generate.py [--n 8000] [--workers N] [--profile-n 300]

1. Profiles a sample of episodes in-process (one core) and reports which share of the CPU time is spent
   in AutoGen's own code (autogen_agentchat + autogen_core), by self time of their frames.
2. Runs the real main job (tasks stored, episodes in worker processes, one transaction per episode) into a
   throw-away SQLite file and reports end-to-end throughput and the time for 8,000 conversations
   (BUTTONInstruct's size). Target: under 3 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from composition.world.offline import OfflineWorld
from datamodel.run_config import GenerateConfig, default_workers
from db.engine import ensure_schema, make_engine, session_factory
from simulator.batch import prepare_run, simulate_chunk, simulate_pending

BUTTON_INSTRUCT_SIZE = 8_000
TARGET_SECONDS = 180.0


def autogen_share(n: int) -> tuple[float, float]:
    """(conversations/s in-process without the profiler, share of CPU time in AutoGen's code) over n
    episodes. The share is the self time of frames in autogen_agentchat/autogen_core over all self time."""
    world = OfflineWorld(world_seed=0)
    chunk = [(i, world.generate_task(123, i)) for i in range(n)]
    config = GenerateConfig(n=n, seed=123, workers=0)
    start = time.perf_counter()
    simulate_chunk(chunk, config)
    elapsed = time.perf_counter() - start
    profiler = cProfile.Profile()
    profiler.enable()
    simulate_chunk(chunk, config)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = inside = 0.0
    for (filename, _, _), (_, _, self_time, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        total += self_time
        if "autogen_agentchat" in filename or "autogen_core" in filename:
            inside += self_time
    return n / elapsed, inside / total if total else 0.0


def end_to_end(n: int, workers: int) -> tuple[float, int, int]:
    """(seconds, conversations stored, accepted) for the real main job into a temporary SQLite file."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        ensure_schema(engine)
        sessions = session_factory(engine)
        config = GenerateConfig(n=n, seed=2024, workers=workers)
        start = time.perf_counter()
        run_id, config = prepare_run(sessions, config)
        progress = simulate_pending(sessions, run_id, config)
        elapsed = time.perf_counter() - start
        engine.dispose()
    return elapsed, progress.done, progress.accepted


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=BUTTON_INSTRUCT_SIZE, help="conversations in the full run")
    parser.add_argument("--workers", type=int, default=default_workers(), help="worker processes")
    parser.add_argument("--profile-n", type=int, default=300, help="episodes in the in-process profile")
    args = parser.parse_args()
    console = Console()
    console.print(f"profiling {args.profile_n} episodes in-process ...")
    single_rate, share = autogen_share(args.profile_n)
    console.print(f"running the main job: {args.n} conversations, {args.workers} worker(s) ...")
    seconds, stored, accepted = end_to_end(args.n, args.workers)
    rate = stored / seconds
    projected = BUTTON_INSTRUCT_SIZE / rate
    table = Table(title="Offline generation benchmark", title_justify="left")
    for column in ("figure", "value"):
        table.add_column(column)
    table.add_row("episodes/s, in-process, one core (simulate + verify)", f"{single_rate:.1f}")
    table.add_row("share of CPU time in AutoGen code (self time)", f"{share:.1%}")
    table.add_row(f"main job: {stored} conversations stored", f"{seconds:.1f} s")
    table.add_row("main job throughput", f"{rate:.1f} conversations/s")
    table.add_row("accepted by verification", f"{accepted / max(stored, 1):.2%}")
    table.add_row(f"time for {BUTTON_INSTRUCT_SIZE:,} conversations", f"{projected:.1f} s")
    table.add_row("target", f"< {TARGET_SECONDS:.0f} s: {'met' if projected < TARGET_SECONDS else 'missed'}")
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
