"""How well LLM runs overlap endpoint latency: throughput as a share of the ideal, at realistic latencies.

Starts the scripted OpenAI-compatible test server (tests/llm/openai_server.py) in its own process, once
per latency (fixed: it answers that long after a request arrives), and runs offline-world conversations
whose assistant is an LLM role on it (user and tool offline, so the LLM calls of a conversation are
sequential) at several concurrencies, in one process and sharded over `--workers` processes as `button
generate --workers` shards them. Nothing is stored: this measures the simulator and the client stack.

The ideal is concurrency / (LLM calls per conversation x latency): every slot always has a request in
flight and nothing else takes time. It is a steady-state rate, so `share` compares it with the rate
between the 10th and the 90th percentile of finished conversations, leaving out the pipeline's fill and
drain (and the workers' start). `check` is what that estimate gives for an ideal client on the same
conversations (each slot takes the next task the moment its conversation ends, every call takes the
latency): near 100% when runs are long enough for it (8 conversations per slot: 99-101%). `whole` is
that ideal client's time for the whole run divided by the time the run took, fill, drain and the
workers' start included. Also the client CPU per LLM call (this process and the workers; not the
endpoint's).

    .venv/bin/python bench/concurrency.py [--latencies 1 0.1] [--levels 32 128 256] [--workers 1 2]
        [--per-slot 8]

The machine's cores also run the endpoint, which is one Python process.
"""

from __future__ import annotations

import argparse
import heapq
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from composition.world.offline import OfflineWorld
from datamodel.models import LLMExecution, RoleModel, Roles
from datamodel.run_config import GenerateConfig
from datamodel.trajectory import AssistantTurn
from simulator.llm_batch import make_runtime
from simulator.llm_shards import llm_processes, run_llm_episodes
from simulator.runs import EpisodeOutcome

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "llm" / "openai_server.py"
HEAD = "latency  conc procs  convs calls/conv  share  check  whole  cpu ms/call"


def start_server(latency: float, n: int) -> tuple[subprocess.Popen[str], str]:
    """The server process and its base URL (its first line of output)."""
    command = [sys.executable, str(SERVER), "--latency", str(latency), "--n", str(n)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def cpu_seconds(server: int) -> float:
    """CPU of this process and of its children, living or reaped (the spawned workers), but the server."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = time.process_time() + children.ru_utime + children.ru_stime
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == os.getpid() and int(stat.parent.name) != server:
            total += sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def ideal_finishes(calls: list[int], concurrency: int, latency: float) -> list[float]:
    """When an ideal client finishes conversations of these LLM calls, in this order: `concurrency`
    slots, each starting the next conversation the moment its last one ends, every call `latency`."""
    slots, finishes = [0.0] * min(concurrency, len(calls)), []
    for count in calls:
        finishes.append(slots[0] + count * latency)
        heapq.heapreplace(slots, finishes[-1])
    return finishes


def steady_rate(finishes: list[float]) -> float:
    """Conversations per second between the 10th and the 90th percentile of finishes."""
    ordered = sorted(finishes)
    low, high = len(ordered) // 10, len(ordered) - 1 - len(ordered) // 10
    return (high - low) / (ordered[high] - ordered[low])


@dataclass
class Row:
    """What one run measured."""

    latency: float
    concurrency: int
    processes: int
    conversations: int
    calls: float  # LLM calls per conversation
    share: float  # steady rate (10th to 90th percentile of finishes) / ideal rate
    check: float  # the same for an ideal client on the same conversations
    whole: float  # ideal client's time / wall time
    cpu_ms: float  # client CPU per LLM call, workers included

    def line(self) -> str:
        """The row as the progress lines print it (HEAD names the columns)."""
        ms, convs = self.latency * 1000, self.conversations
        run = f"{ms:>5.0f}ms {self.concurrency:>5} {self.processes:>5} {convs:>6} {self.calls:>10.2f}"
        shares = f"{self.share:>6.0%} {self.check:>6.0%} {self.whole:>6.0%}"
        return f"{run} {shares}  {self.cpu_ms:>11.1f}"


def measure(server: subprocess.Popen[str], url: str, world: OfflineWorld, args: Run) -> Row:
    """Simulate per_slot x concurrency conversations over up to `workers` processes."""
    n = args.per_slot * args.concurrency
    assistant = RoleModel(model="openai:scripted", base_url=url, timeout=60)
    config = GenerateConfig(
        n=n,
        workers=args.workers,
        concurrency=args.concurrency,
        roles=Roles(assistant=assistant),
        llm=LLMExecution(cache=False),
    )
    pending = [(i, world.generate_task(config.seed, i, max_subtasks=config.max_subtasks)) for i in range(n)]
    runtime = make_runtime(config)
    finished: list[float] = []
    calls: dict[int, int] = {}

    def keep(outcome: EpisodeOutcome) -> None:
        finished.append(time.perf_counter())
        calls[outcome.task_id] = sum(isinstance(turn, AssistantTurn) for turn in outcome.trajectory.turns)

    start, cpu = time.perf_counter(), cpu_seconds(server.pid)
    run_llm_episodes(pending, config, runtime, keep)
    seconds, cpu = time.perf_counter() - start, cpu_seconds(server.pid) - cpu
    requests = sum(e.requests for e in runtime.ledger.entries.values())
    assert requests == sum(calls.values()), "every LLM call is an assistant turn (no retries)"
    per_conversation = requests / n
    ideal_rate = args.concurrency / (per_conversation * args.latency)
    ideal = ideal_finishes([calls[i] for i in range(n)], args.concurrency, args.latency)
    return Row(
        latency=args.latency,
        concurrency=args.concurrency,
        processes=llm_processes(config, n),
        conversations=n,
        calls=per_conversation,
        share=steady_rate(finished) / ideal_rate,
        check=steady_rate(ideal) / ideal_rate,
        whole=max(ideal) / seconds,
        cpu_ms=cpu * 1000 / requests,
    )


@dataclass
class Run:
    latency: float
    concurrency: int
    workers: int
    per_slot: int


def summary(rows: list[Row], workers: list[int]) -> str:
    """The table: one line per latency and concurrency, share (whole run) per process count."""
    head = "| latency | concurrency | calls/conv | " + " | ".join(
        f"{w} process{'es' if w > 1 else ''}: share (whole run)" for w in workers
    )
    lines = [head + " |", "|---|---|---|" + "---|" * len(workers)]
    for latency in dict.fromkeys(r.latency for r in rows):
        for concurrency in dict.fromkeys(r.concurrency for r in rows):
            cells = [r for r in rows if r.latency == latency and r.concurrency == concurrency]
            if not cells:
                continue
            line = f"| {latency * 1000:.0f} ms | {concurrency} | {cells[0].calls:.2f} | "
            line += " | ".join(f"{r.share:.0%} ({r.whole:.0%})" for r in cells)
            lines.append(line + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latencies", type=float, nargs="+", default=[1.0, 0.1], help="Seconds per call.")
    parser.add_argument("--levels", type=int, nargs="+", default=[32, 128, 256], help="Concurrencies.")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Process counts to compare.")
    parser.add_argument(
        "--per-slot", type=int, default=8, help="Conversations per slot: each run has per-slot x concurrency."
    )
    args = parser.parse_args()
    world = OfflineWorld(world_seed=0)
    rows: list[Row] = []
    print(HEAD)
    for latency in args.latencies:
        server, url = start_server(latency, args.per_slot * max(args.levels))
        try:
            # Warm-up: this process's imports and first connections, paid once per process, not per run.
            measure(server, url, world, Run(latency, 8, 1, 1))
            for concurrency in args.levels:
                for workers in args.workers:
                    row = measure(server, url, world, Run(latency, concurrency, workers, args.per_slot))
                    rows.append(row)
                    print(row.line(), flush=True)
        finally:
            server.terminate()
            server.wait()
    print()
    print(summary(rows, args.workers))


if __name__ == "__main__":
    main()
