"""How well LLM runs overlap endpoint latency: conversations per second at several concurrencies.

Starts the scripted OpenAI-compatible test server (tests/llm/openai_server.py) in its own process with
a fixed latency per request, runs offline-world conversations whose assistant is an LLM role on it
(user and tool offline, so every LLM call of a conversation is sequential), and prints the throughput
next to the ideal, concurrency / (LLM calls per conversation x latency): as a share of it over the whole
run (`share`, worker start-up included) and in steady state (`steady`: between the 10th and the 90th
percentile of finished conversations, where the ideal, a steady-state figure, applies). Also the client
CPU per LLM call (openai SDK, agents, roles; worker processes included), which caps one process at
about 1000 / (cpu ms per call) calls per second, and the endpoint's. `--workers` shards the episodes
over up to that many processes as `button generate --workers` does (fewer when a level has too few
slots or tasks per process; `procs` says how many ran). Nothing is stored: this measures the simulator
and client stack, not the database.

    .venv/bin/python bench/concurrency.py [--latency 0.1] [--levels 1 8 32 64] [--workers 2] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from composition.world import OfflineWorld
from datamodel.models import LLMExecution, RoleModel
from datamodel.run_config import GenerateConfig, default_workers
from simulator.llm_batch import make_runtime
from simulator.llm_shards import llm_processes, run_llm_episodes

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "llm" / "openai_server.py"


def start_server(latency: float, n: int) -> tuple[subprocess.Popen[str], str]:
    """The server process and its base URL (its first line of output)."""
    command = [sys.executable, str(SERVER), "--latency", str(latency), "--n", str(n)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def cpu_seconds(server: int) -> float:
    """CPU of this process and of its other children, living or ended, with what they reaped: worker
    processes are forks of the fork server (simulator/processes.py), which reaps them, so their CPU
    shows in its children's time. The endpoint server's is not included."""
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


def process_cpu(pid: int) -> float:
    """CPU seconds a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Level:
    """What one concurrency level measured."""

    processes: int
    rate: float  # conversations per second, start to finish (worker start-up included)
    steady: float  # conversations per second between the 10th and 90th percentile of finishes
    calls: float  # LLM calls per conversation
    cpu_ms: float  # client CPU per call, worker processes included
    server_ms: float  # endpoint CPU per call


def measure(
    server: subprocess.Popen[str], url: str, world: OfflineWorld, n: int, concurrency: int, workers: int
) -> Level:
    """Simulate n conversations at `concurrency` over up to `workers` processes."""
    assistant = RoleModel(model="openai:scripted", base_url=url, timeout=30)
    config = GenerateConfig(
        n=n,
        workers=workers,
        concurrency=concurrency,
        roles={"assistant": assistant},
        llm=LLMExecution(cache=False),
    )
    pending = [(i, world.generate_task(config.seed, i, max_subtasks=config.max_subtasks)) for i in range(n)]
    runtime = make_runtime(config)
    finished: list[float] = []
    start, cpu, served = time.perf_counter(), cpu_seconds(server.pid), process_cpu(server.pid)
    run_llm_episodes(pending, config, runtime, lambda _: finished.append(time.perf_counter()))
    seconds, cpu = time.perf_counter() - start, cpu_seconds(server.pid) - cpu
    served = process_cpu(server.pid) - served
    requests = sum(e.requests for e in runtime.ledger.entries.values())
    low, high = n // 10, n - 1 - n // 10
    steady = (high - low) / (finished[high] - finished[low])
    per_call = 1000 / requests
    return Level(
        llm_processes(config, n), n / seconds, steady, requests / n, cpu * per_call, served * per_call
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1, help="Seconds the server waits per request.")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument(
        "--per-slot",
        type=int,
        default=32,
        help="Conversations per slot (runs long enough to amortize worker start-up).",
    )
    parser.add_argument(
        "--workers", type=int, default=default_workers(), help="Most worker processes (0 or 1: in-process)."
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="Runs per level; the row is the run with the median steady share, `range` spans all runs "
        "(a shared machine's speed varies from run to run).",
    )
    args = parser.parse_args()
    sizes = {c: max(16, args.per_slot * c) for c in args.levels}
    world = OfflineWorld(world_seed=0)
    server, url = start_server(args.latency, max(sizes.values()))
    try:
        started = time.perf_counter()
        # Warm-up: this process's imports and, with workers, the fork server's (simulator/processes.py);
        # both are paid once per process, not per run.
        measure(server, url, world, 16 * max(1, args.workers), 8 * max(1, args.workers), args.workers)
        print(f"latency {args.latency * 1000:.0f} ms per request, endpoint {url}, workers {args.workers}")
        print(f"one-time start-up (warm-up run, not in the rows): {time.perf_counter() - started:.1f} s")
        head = ("concurrency", "procs", "convs", "calls/conv", "ideal", "conv/s", "share", "steady")
        print("{:>11} {:>5} {:>6} {:>10} {:>7} {:>7} {:>6} {:>6}  cpu ms/call  server  range".format(*head))
        for concurrency, n in sizes.items():
            runs = [measure(server, url, world, n, concurrency, args.workers) for _ in range(args.repeat)]
            runs.sort(key=lambda run: run.steady)
            level = runs[len(runs) // 2]
            ideal = concurrency / (level.calls * args.latency)
            row = f"{concurrency:>11} {level.processes:>5} {n:>6} {level.calls:>10.2f} {ideal:>7.1f}"
            row += f" {level.rate:>7.1f} {level.rate / ideal:>6.0%} {level.steady / ideal:>6.0%}"
            row += f"  {level.cpu_ms:>11.1f} {level.server_ms:>7.1f}"
            if len(runs) > 1:
                shares = sorted(run.rate / ideal for run in runs)
                row += f"  share {shares[0]:.0%}-{shares[-1]:.0%}, "
                row += f"steady {runs[0].steady / ideal:.0%}-{runs[-1].steady / ideal:.0%} ({len(runs)} runs)"
            print(row)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
