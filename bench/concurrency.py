"""How well in-process asyncio overlaps LLM latency: conversations per second at several concurrencies.

Starts the scripted OpenAI-compatible test server (tests/llm/openai_server.py) in its own process with
a fixed latency per request, runs offline-world conversations whose assistant is an LLM role on it
(user and tool offline, so every LLM call of a conversation is sequential), and prints the throughput
next to the ideal: concurrency / (LLM calls per conversation x latency), and the client CPU spent per
LLM call (openai SDK + AgentChat + roles), which caps one process at about 1000 / (cpu ms per call)
calls per second. Nothing is stored: this measures the simulator and client stack, not the database.

    .venv/bin/python bench/concurrency.py [--latency 0.1] [--levels 1 8 32 64]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

from composition.world import OfflineWorld
from roles.model_config import LLMExecution, RoleModel
from simulator.config import GenerateConfig
from simulator.llm_batch import make_runtime, simulate_llm

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "tests" / "llm" / "openai_server.py"


def start_server(latency: float, n: int) -> tuple[subprocess.Popen[str], str]:
    """The server process and its base URL (its first line of output)."""
    command = [sys.executable, str(SERVER), "--latency", str(latency), "--n", str(n)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def measure(url: str, world: OfflineWorld, n: int, concurrency: int) -> tuple[float, float, float]:
    """(conversations per second, LLM calls per conversation, client CPU ms per call) for n conversations."""
    assistant = RoleModel(model="openai:scripted", base_url=url, timeout=30)
    config = GenerateConfig(
        n=n, workers=0, concurrency=concurrency, roles={"assistant": assistant}, llm=LLMExecution(cache=False)
    )
    pending = [(i, world.generate_task(config.seed, i, max_subtasks=config.max_subtasks)) for i in range(n)]
    runtime = make_runtime(config)
    start, cpu = time.perf_counter(), time.process_time()
    asyncio.run(simulate_llm(pending, config, world, runtime, lambda _: None))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    requests = sum(e.requests for e in runtime.ledger.entries.values())
    return n / seconds, requests / n, cpu * 1000 / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1, help="Seconds the server waits per request.")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--per-slot", type=int, default=8, help="Conversations per concurrency slot.")
    args = parser.parse_args()
    sizes = {c: max(16, args.per_slot * c) for c in args.levels}
    world = OfflineWorld(world_seed=0)
    server, url = start_server(args.latency, max(sizes.values()))
    try:
        measure(url, world, 8, 8)  # warm-up: imports, connections
        print(f"latency {args.latency * 1000:.0f} ms per request, endpoint {url}")
        head = ("concurrency", "conversations", "calls/conv", "conv/s", "ideal", "share", "cpu ms/call")
        print("{:>11} {:>13} {:>10} {:>8} {:>8} {:>6} {:>11}".format(*head))
        for concurrency, n in sizes.items():
            rate, calls, cpu = measure(url, world, n, concurrency)
            ideal = concurrency / (calls * args.latency)
            row = f"{concurrency:>11} {n:>13} {calls:>10.2f} {rate:>8.1f} {ideal:>8.1f}"
            print(f"{row} {rate / ideal:>6.0%} {cpu:>11.1f}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
