"""Runs spread over `button worker` processes: throughput with 1 and 2 workers, and the queue's own cost.

1. Throughput. The scripted OpenAI-compatible test server (tests/llm/openai_server.py, via
   bench/concurrency.py) answers every request on 127.0.0.1 after a fixed latency (1 s); `button worker`
   subprocesses (`--concurrency J`: J places of 8 episode slots, so J x 8 episodes in flight per process,
   with 2 x J jobs of 8 tasks held to keep the slots full) take the jobs of `button generate --distributed
   --no-work` runs whose assistant (by default; `--llm-roles`) is that endpoint. Once with 1 worker
   process, once with 2, the same J each. The run's own `--concurrency` (its request limit for all workers
   together) is set high (512) so that each worker's J x 8 episodes bind, not the run's limit. The workers
   are started and warmed up (a first run of workers x J x 8 tasks: imports, the LLM stack, connections)
   before the measured run, and the time is the database's: from the first job claimed (procrastinate's
   `started` event) to the last job done (`succeeded`), which ends after the run is marked finished;
   process start-up is not in it. `steady` is the rate between the 10th and 90th percentile of the run's
   conversations' `created_at` (the pipeline's fill and drain left out); `ideal` is episodes in flight /
   (LLM requests per episode x latency), every slot always busy. Target: 2 workers >= 1.8 x 1 worker.

2. The queue's own cost per episode (claim + store), offline roles (no endpoint: the episodes cost only
   CPU, so the queue's share is as large as it gets). The same run (same seed and size) is done
   `--cost-rounds` times each way, alternating, in one database: locally, in this process
   (`prepare_run` + `simulate_pending` with `--workers 0`, what `button generate --workers 0` does; one
   transaction per episode), and distributed, by one warmed-up worker taking one job at a time
   (`--concurrency 1`, so no other job hides a claim's latency). Wall: local from the start of the
   simulation to its return; distributed from the jobs' deferral (the `deferred` event) to the last
   job's `succeeded`. CPU: local, this process during the simulation plus the database server (every
   PostgreSQL process) over the task inserts and the simulation; distributed, the worker process plus
   the database server over the whole `button generate` (its task inserts, as the local figure has
   them, the deferral, the claims, the workers' and the watcher's queries). The watcher's own CPU
   (`generate --no-work` following the run) is left out. Queue cost = (distributed - local) / episodes,
   all rounds summed. `claim wait` is the time the worker had no job: from the deferral to the first
   `started`, and from each job's `succeeded` to the next one's `started`.

    .venv/bin/python bench/distributed.py [--tasks 1024] [--jobs 4] [--latency 1] [--workers 1 2]
        [--llm-roles assistant] [--cost-tasks 800] [--cost-rounds 2] [--db postgresql+psycopg://...]

By default a throw-away PostgreSQL cluster (tests/pg.py: as the unprivileged `postgres` user when run as
root) holds one fresh database per measurement and is removed at the end; `--db URL` uses that database
for everything instead (its server's CPU is then not measured). Everything runs on this machine, whose
cores also run the endpoint (one Python process) and the database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.table import Table

from datamodel.run_config import GenerateConfig
from db.engine import ensure_schema, make_engine, session_factory
from simulator.batch import prepare_run, simulate_pending
from simulator.distributed import CHUNK_SIZE, queue_of

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.8
RUN_CONCURRENCY = 512  # the run's request limit, shared among its workers: well above J x 8 per worker
COST_SEED = 7  # the queue-cost runs' tasks (the throughput runs use seed 0: the tasks the server plays)
ROLES = ("assistant", "user", "tool")
console = Console()
if not console.is_terminal:
    console.width = 120  # a pipe or a file: rich would wrap the tables at 80 columns


class BenchError(RuntimeError):
    """A step failed; the message names it, with the failing process's last lines."""


def _load(name: str, path: Path) -> ModuleType:
    """A helper module by path (tests/ and bench/ are not packages)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before exec: dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[name]


pg = _load("bench_pg", ROOT / "tests" / "pg.py")
concurrency = _load("bench_concurrency", ROOT / "bench" / "concurrency.py")


_rows = pg.rows


def _proc_cpu(pid: int, children: bool) -> float:
    """CPU seconds of a live process (user + system), with its reaped children's when asked."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11 : 15 if children else 13])
    return ticks / os.sysconf("SC_CLK_TCK")


def _tail(log: Path, lines: int = 12) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


class Databases:
    """Where the measurements store: a fresh database per measurement in our own throw-away cluster, or
    the one `--db` names; and the CPU its server has used (None when it is not ours)."""

    def __init__(self, stack: ExitStack, url: str | None) -> None:
        self._stack, self._url = stack, url
        self._cluster: Any = None
        if url is None:
            console.print("starting a throw-away PostgreSQL cluster (tests/pg.py) ...")
            self._cluster = stack.enter_context(pg.start_cluster())

    @contextmanager
    def fresh(self) -> Iterator[str]:
        """A migrated database for one measurement."""
        with ExitStack() as stack:
            url = self._url or stack.enter_context(pg.fresh_database(self._cluster))
            engine = make_engine(url)
            ensure_schema(engine)  # here, once: workers started together would race to migrate it
            engine.dispose()
            yield url

    def cpu(self) -> float | None:
        """CPU seconds of every process of our cluster: the postmaster, its live children and the
        reaped ones (backends of closed connections)."""
        if self._cluster is None:
            return None
        postmaster = int((self._cluster.datadir / "postmaster.pid").read_text().split()[0])
        total = _proc_cpu(postmaster, children=True)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == postmaster:
                    total += sum(int(value) for value in fields[11:13]) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError):  # ended meanwhile
                continue
        return total


class Workers:
    """`button worker` subprocesses on one database, started and stopped (SIGINT) by us."""

    def __init__(self, url: str, count: int, jobs: int, folder: Path) -> None:
        self.url = url
        self.logs = [folder / f"worker{i}.log" for i in range(count)]
        command = [sys.executable, "-m", "cli", "worker", "--db", url, "--concurrency", str(jobs)]
        before = _rows(url, "SELECT count(*) FROM procrastinate_workers")[0][0]
        folder.mkdir(parents=True, exist_ok=True)
        self.processes: list[subprocess.Popen[bytes]] = []
        for log in self.logs:
            with log.open("wb") as out:
                self.processes.append(
                    subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
                )
        deadline = time.monotonic() + 180
        while _rows(url, "SELECT count(*) FROM procrastinate_workers")[0][0] < before + count:
            self.check()
            if time.monotonic() > deadline:
                raise BenchError("the workers did not register with the queue within 180 s")
            time.sleep(0.5)

    def check(self) -> None:
        """BenchError when a worker has exited (it should run until we stop it)."""
        for process, log in zip(self.processes, self.logs, strict=True):
            if process.poll() is not None:
                raise BenchError(f"worker {process.pid} exited with {process.returncode}:\n{_tail(log)}")

    def cpu(self) -> float:
        return sum(_proc_cpu(process.pid, children=True) for process in self.processes)

    def stop(self) -> None:
        """SIGINT: the episodes in flight finish, then each worker exits; killed after 60 s."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def workers(url: str, count: int, jobs: int, folder: Path) -> Iterator[Workers]:
    started = Workers(url, count, jobs, folder)
    try:
        yield started
    finally:
        started.stop()


def generate(url: str, n: int, seed: int, extra: Sequence[str], pool: Workers, log: Path) -> int:
    """`button generate --distributed --no-work` of n tasks, followed to its end; the run's id."""
    command = [sys.executable, "-m", "cli", "generate", "--distributed", "--no-work", "--repeat"]
    command += ["--db", url, "--n", str(n), "--seed", str(seed), *extra]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            while process.poll() is None:
                pool.check()  # a dead worker would leave the run waiting for its jobs
                time.sleep(0.5)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                process.wait()
    if process.returncode != 0:
        raise BenchError(f"button generate exited with {process.returncode}:\n{_tail(log)}")
    run_id, status = _rows(url, "SELECT id, status FROM runs WHERE kind = 'generate' ORDER BY id DESC")[0]
    if status != "finished":
        raise BenchError(f"run {run_id} ended {status}:\n{_tail(log)}")
    return int(run_id)


@dataclass(frozen=True)
class Window:
    """A run's jobs as the queue's events record them (database clock)."""

    deferred: dt.datetime
    first_started: dt.datetime
    last_succeeded: dt.datetime
    claim_wait: float  # seconds without a job: deferral to first start, each job's end to the next start
    jobs: int

    @property
    def claimed_to_done(self) -> float:
        return (self.last_succeeded - self.first_started).total_seconds()

    @property
    def deferred_to_done(self) -> float:
        return (self.last_succeeded - self.deferred).total_seconds()


def window(url: str, run_id: int) -> Window:
    rows = _rows(
        url,
        "SELECT j.id, min(e.at) FILTER (WHERE e.type = 'deferred'), min(e.at) FILTER (WHERE e.type = "
        "'started'), max(e.at) FILTER (WHERE e.type = 'succeeded') FROM procrastinate_jobs j JOIN "
        "procrastinate_events e ON e.job_id = j.id WHERE j.queue_name = :queue GROUP BY j.id",
        queue=queue_of(run_id),
    )
    if not rows or any(row[2] is None or row[3] is None for row in rows):
        raise BenchError(f"run {run_id}: a job has no started or succeeded event")
    deferred = min(row[1] for row in rows)
    spans = sorted((row[2], row[3]) for row in rows)
    wait, free = 0.0, deferred  # with one job at a time: when the worker was last without a job
    for started, succeeded in spans:
        wait += max(0.0, (started - free).total_seconds())
        free = max(free, succeeded)
    return Window(deferred, spans[0][0], max(end for _, end in spans), wait, len(rows))


@dataclass(frozen=True)
class Throughput:
    """One measured distributed run against the endpoint."""

    workers: int
    in_flight: int  # workers x jobs x 8 episodes
    episodes: int
    requests: int  # messages of the LLM roles: one request each (the scripted server never fails)
    seconds: float  # first job claimed to last job done
    steady: float  # episodes/s between the 10th and 90th percentile of stored conversations
    by_worker: list[int]

    @property
    def rate(self) -> float:
        return self.episodes / self.seconds

    def ideal(self, latency: float) -> float:
        """Episodes/s with every slot always waiting on the endpoint."""
        return self.in_flight / (self.requests / self.episodes * latency)


def measure_throughput(
    databases: Databases, count: int, args: argparse.Namespace, url_of_endpoint: str, folder: Path
) -> Throughput:
    extra = [f"--{role}-model" for role in args.llm_roles]
    extra = [item for flag in extra for item in (flag, "openai:scripted")]
    extra += ["--base-url", url_of_endpoint, "--no-cache", "--timeout", "60"]
    extra += ["--concurrency", str(RUN_CONCURRENCY), "--cache-dir", str(folder / "cache")]
    in_flight = count * args.jobs * CHUNK_SIZE
    with databases.fresh() as url, workers(url, count, args.jobs, folder / f"w{count}") as pool:
        warm = generate(url, in_flight, 0, extra, pool, folder / f"w{count}-warmup.log")
        warmed = _rows(url, "SELECT count(DISTINCT worker) FROM conversations WHERE run_id = :r", r=warm)
        if warmed[0][0] < count:
            console.print(f"  note: the warm-up run reached {warmed[0][0]} of {count} workers")
        console.print(
            f"  {count} worker(s) warmed up; measuring {args.tasks} tasks, {in_flight} in flight ..."
        )
        run_id = generate(url, args.tasks, 0, extra, pool, folder / f"w{count}-run.log")
        span = window(url, run_id)
        stored = _rows(url, "SELECT created_at FROM conversations WHERE run_id = :r", r=run_id)
        requests = _rows(
            url,
            "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            "WHERE c.run_id = :r AND m.model LIKE 'openai:%'",
            r=run_id,
        )[0][0]
        shares = _rows(
            url,
            "SELECT count(*) FROM conversations WHERE run_id = :r GROUP BY worker ORDER BY 1 DESC",
            r=run_id,
        )
    return Throughput(
        workers=count,
        in_flight=in_flight,
        episodes=len(stored),
        requests=int(requests),
        seconds=span.claimed_to_done,
        steady=float(concurrency.steady_rate([row[0].timestamp() for row in stored])),
        by_worker=[int(row[0]) for row in shares],
    )


@dataclass
class Side:
    """One way of doing the queue-cost runs, summed over the rounds (seconds)."""

    wall: float = 0.0
    process_cpu: float = 0.0  # this process (local) or the worker (distributed)
    database_cpu: float | None = 0.0  # None: not our server, not measured
    claim_wait: float = 0.0  # distributed: the worker without a job
    jobs: int = 0

    def add_database(self, seconds: float | None) -> None:
        self.database_cpu = (
            None if seconds is None or self.database_cpu is None else self.database_cpu + seconds
        )

    @property
    def cpu(self) -> float | None:
        return None if self.database_cpu is None else self.process_cpu + self.database_cpu


@dataclass
class Cost:
    """The same offline runs done locally and by one worker."""

    episodes: int = 0
    local: Side = field(default_factory=Side)
    distributed: Side = field(default_factory=Side)


def _difference(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


def _local_run(databases: Databases, url: str, n: int, side: Side) -> None:
    """`button generate --workers 0` in this process: the simulation timed, the task inserts not."""
    engine = make_engine(url)
    sessions = session_factory(engine)
    try:
        db_before = databases.cpu()
        run_id, config = prepare_run(sessions, GenerateConfig(n=n, seed=COST_SEED, workers=0), repeat=True)
        start, cpu = time.perf_counter(), time.process_time()
        progress = simulate_pending(sessions, run_id, config)
        side.wall += time.perf_counter() - start
        side.process_cpu += time.process_time() - cpu
        side.add_database(_difference(databases.cpu(), db_before))
    finally:
        engine.dispose()
    if progress.done != n:
        raise BenchError(f"the local run stored {progress.done} of {n} conversations")


def _distributed_run(databases: Databases, url: str, n: int, pool: Workers, log: Path, side: Side) -> None:
    """`button generate --distributed --no-work` of the same tasks, done by the warm worker."""
    db_before, worker_before = databases.cpu(), pool.cpu()
    run_id = generate(url, n, COST_SEED, [], pool, log)
    side.process_cpu += pool.cpu() - worker_before
    side.add_database(_difference(databases.cpu(), db_before))
    span = window(url, run_id)
    side.wall += span.deferred_to_done
    side.claim_wait += span.claim_wait
    side.jobs += span.jobs
    stored = _rows(url, "SELECT count(*) FROM conversations WHERE run_id = :r", r=run_id)[0][0]
    if stored != n:
        raise BenchError(f"the distributed run stored {stored} of {n} conversations")


def measure_cost(databases: Databases, n: int, rounds: int, folder: Path) -> Cost:
    """`rounds` pairs of runs, local then distributed, in one database, by one warm worker."""
    cost = Cost()
    with databases.fresh() as url, workers(url, 1, 1, folder / "cost") as pool:
        generate(url, 2 * CHUNK_SIZE, COST_SEED + 1, [], pool, folder / "cost-warmup.log")
        for round_ in range(rounds):
            local, distributed = Side(), Side()
            _local_run(databases, url, n, local)
            _distributed_run(databases, url, n, pool, folder / f"cost-run{round_}.log", distributed)
            cost.episodes += n
            for total, part in ((cost.local, local), (cost.distributed, distributed)):
                total.wall += part.wall
                total.process_cpu += part.process_cpu
                total.add_database(part.database_cpu)
                total.claim_wait += part.claim_wait
                total.jobs += part.jobs
            extra = (distributed.wall - local.wall) * 1000 / n
            console.print(
                f"  round {round_ + 1}: {n} episodes, local {local.wall:.1f} s, distributed "
                f"{distributed.wall:.1f} s: {extra:.2f} ms per episode more"
            )
    return cost


def throughput_table(rows: list[Throughput], latency: float) -> Table:
    table = Table(title=f"Throughput, endpoint latency {latency:g} s", title_justify="left")
    for column in ("workers", "in flight", "episodes", "req/episode", "seconds", "episodes/s", "req/s"):
        table.add_column(column, justify="right")
    for column in ("steady ep/s", "ideal ep/s", "of ideal", "episodes by worker"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            str(row.workers),
            str(row.in_flight),
            str(row.episodes),
            f"{row.requests / row.episodes:.2f}",
            f"{row.seconds:.1f}",
            f"{row.rate:.2f}",
            f"{row.requests / row.seconds:.1f}",
            f"{row.steady:.2f}",
            f"{row.ideal(latency):.2f}",
            f"{row.rate / row.ideal(latency):.0%}",
            " / ".join(str(count) for count in row.by_worker),
        )
    return table


def cost_table(cost: Cost) -> Table:
    def ms(seconds: float | None) -> str:
        return "–" if seconds is None else f"{seconds * 1000 / cost.episodes:.2f}"

    local, distributed = cost.local, cost.distributed
    table = Table(title=f"Queue cost, offline roles, {cost.episodes} episodes", title_justify="left")
    for column in ("ms per episode", "wall", "CPU process", "CPU database", "CPU total"):
        table.add_column(column, justify="right")
    table.add_row(
        "local, in-process (--workers 0)",
        ms(local.wall),
        ms(local.process_cpu),
        ms(local.database_cpu),
        ms(local.cpu),
    )
    table.add_row(
        f"distributed, 1 worker, 1 job at a time ({distributed.jobs} jobs)",
        ms(distributed.wall),
        ms(distributed.process_cpu),
        ms(distributed.database_cpu),
        ms(distributed.cpu),
    )
    table.add_row(
        "queue cost (distributed - local)",
        ms(distributed.wall - local.wall),
        ms(distributed.process_cpu - local.process_cpu),
        ms(_difference(distributed.database_cpu, local.database_cpu)),
        ms(_difference(distributed.cpu, local.cpu)),
    )
    table.add_row("  of it: claim wait (worker without a job)", ms(distributed.claim_wait), "", "", "")
    return table


def measure_all(
    stack: ExitStack, databases: Databases, args: argparse.Namespace, folder: Path
) -> list[Throughput]:
    """The endpoint, then one throughput run per worker count."""
    warmup = max(args.workers) * args.jobs * CHUNK_SIZE
    server, url = concurrency.start_server(args.latency, max(args.tasks, warmup))
    stack.callback(server.wait)
    stack.callback(server.terminate)
    console.print(f"endpoint {url}: {args.latency:g} s per request")
    results = []
    for count in args.workers:
        console.print(f"{count} worker process(es), --concurrency {args.jobs} each ...")
        row = measure_throughput(databases, count, args, url, folder)
        console.print(f"  {row.episodes} episodes in {row.seconds:.1f} s: {row.rate:.2f} episodes/s")
        results.append(row)
    return results


def report_throughput(results: list[Throughput], latency: float) -> None:
    """The table, what its seconds are, and each worker count against 1 worker."""
    console.print(throughput_table(results, latency))
    console.print(
        "seconds: first job claimed (procrastinate's `started` event) to last job done (`succeeded`), "
        "database clock; worker start-up and warm-up not in it",
        highlight=False,
    )
    base = next((r for r in results if r.workers == 1), None)
    for row in results:
        if base is not None and row.workers > 1:
            ratio = row.rate / base.rate
            target = TARGET_RATIO * row.workers / 2
            verdict = "met" if ratio >= target else "missed"
            console.print(
                f"{row.workers} workers / 1 worker: {ratio:.2f}x (steady {row.steady / base.steady:.2f}x); "
                f"target >= {target:.1f}x: {verdict}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tasks",
        type=int,
        default=1024,
        help="tasks of each throughput run (0: skip); fewer make the last jobs' tail weigh more",
    )
    parser.add_argument(
        "--jobs", type=int, default=4, help="`button worker --concurrency`: places of 8 episodes"
    )
    parser.add_argument("--latency", type=float, default=1.0, help="seconds the endpoint takes per request")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker process counts")
    parser.add_argument(
        "--llm-roles", nargs="+", choices=ROLES, default=["assistant"], help="roles played by the endpoint"
    )
    parser.add_argument("--cost-tasks", type=int, default=800, help="tasks of each queue-cost run (0: skip)")
    parser.add_argument("--cost-rounds", type=int, default=2, help="pairs of queue-cost runs, summed")
    parser.add_argument(
        "--db", default=None, help="an existing PostgreSQL database (default: a throw-away one)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    results: list[Throughput] = []
    cost: Cost | None = None
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="button-bench-") as temp:
        folder = Path(temp)
        databases = Databases(stack, args.db)
        try:
            if args.tasks:
                results = measure_all(stack, databases, args, folder)
            if args.cost_tasks:
                console.print("queue cost: offline roles ...")
                cost = measure_cost(databases, args.cost_tasks, args.cost_rounds, folder)
        except BenchError as exc:
            console.print(f"[red]error:[/red] {exc}", highlight=False)
            return 1
    if results:
        report_throughput(results, args.latency)
    if cost is not None:
        console.print(cost_table(cost))
        console.print(
            "wall: local, simulation start to return; distributed, jobs deferred to last job done. CPU: "
            "this process or the worker, and every PostgreSQL process (- when --db is not ours)",
            highlight=False,
        )
    console.print(f"bench wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
