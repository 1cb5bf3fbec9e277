"""`button worker`: take the jobs of every open distributed run in a PostgreSQL database.

Start one on any machine that reaches the database (docs/cli.md, README: two machines). Ctrl-C (or
SIGTERM) lets the episodes in flight finish, then the worker leaves; a second Ctrl-C leaves at once, and
the jobs it had go back to the queue once its heartbeat is stale. A dead worker needs nothing: start
one again, anywhere.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from cli.app import app, cli_errors, console, err_console, fail, open_store

if TYPE_CHECKING:
    from simulator.distributed import WorkerSettings

__all__ = ["drain_on_signals", "quiet_queue_logs", "worker"]

_HARD_EXIT = 130


def quiet_queue_logs() -> None:
    """procrastinate logs every failed job and listener error with a traceback, psycopg's pool every
    reconnection attempt; the worker prints one line per job and one `error:` line when the database
    is lost instead. `BUTTON_DEBUG=1` keeps the libraries' logs."""
    if not os.environ.get("BUTTON_DEBUG"):
        for name in ("procrastinate", "psycopg.pool"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


@contextmanager
def drain_on_signals(stop: asyncio.Event, on_first: Callable[[], None]) -> Iterator[None]:
    """In the running event loop: the first Ctrl-C or SIGTERM sets `stop` (the episodes in flight
    finish), a second one leaves at once. Outside the main thread (tests in-process) signals stay
    as they are."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stop.is_set():
            err_console.print("stopped at once: the jobs in flight go back to the queue once stale")
            os._exit(_HARD_EXIT)  # jobs in flight (and their threads) are left: the queue takes them back
        stop.set()
        on_first()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal)
    try:
        yield
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _serve(db: str, settings: WorkerSettings, children: list[subprocess.Popen[bytes]]) -> None:
    from simulator.distributed import serve

    sessions = open_store(db)  # brings the schema, and so the queue's tables, to head
    stop = asyncio.Event()

    def stopping() -> None:
        err_console.print("stopping: the episodes in flight finish first (Ctrl-C again: stop at once)")
        for child in children:
            child.send_signal(signal.SIGTERM)

    with drain_on_signals(stop, stopping):
        await serve(db, sessions, settings, stop)


def _children(db: str, concurrency: int, stalled_after: float, count: int) -> list[subprocess.Popen[bytes]]:
    """`count` more worker processes on this machine, in their own session: a stop reaches them through
    this process, once (a terminal's Ctrl-C sent to them as well would count as a second one)."""
    command = [sys.executable, "-m", "cli", "worker", "--db", db, "--concurrency", str(concurrency)]
    command += ["--processes", "1", "--stalled-after", str(stalled_after)]
    return [subprocess.Popen(command, start_new_session=True) for _ in range(count)]


@app.command()
@cli_errors
def worker(
    db: Annotated[
        str, typer.Option(help="The PostgreSQL database of the runs (postgresql+psycopg://USER@HOST/DB).")
    ],
    concurrency: Annotated[
        int,
        typer.Option(
            min=1,
            max=256,
            help="Places per process, 8 LLM episodes each (twice as many jobs are held to keep them full).",
        ),
    ] = 4,
    processes: Annotated[int, typer.Option(min=1, max=64, help="Worker processes on this machine.")] = 1,
    stalled_after: Annotated[
        float,
        typer.Option(
            min=1.0, help="Seconds without a heartbeat after which a worker is dead and its jobs are retried."
        ),
    ] = 30.0,
) -> None:
    """Take episode jobs of every open distributed run (button generate/eval --distributed) and store them."""
    from evaluation.runner import SCORING
    from simulator.distributed import QueueError, WorkerSettings, require_postgresql, worker_name

    try:
        require_postgresql(db)
    except QueueError as exc:
        raise fail(f"button worker: {exc}") from None
    quiet_queue_logs()
    settings = WorkerSettings(
        concurrency=concurrency,
        stalled_after=stalled_after,
        on_job=lambda line: console.print(line),
        scoring=SCORING,
    )
    children = _children(db, concurrency, stalled_after, processes - 1) if processes > 1 else []
    console.print(
        f"worker {worker_name()}"
        + (f" and {len(children)} more process(es)" if children else "")
        + f": up to {8 * concurrency} episodes in flight; Ctrl-C stops after the episodes in flight",
        highlight=False,
    )
    try:
        asyncio.run(_serve(db, settings, children))
    except QueueError as exc:
        for child in children:
            child.send_signal(signal.SIGTERM)  # the others would lose the database too: stop them cleanly
        raise fail(str(exc)) from None
    finally:
        codes = [child.wait() for child in children]
    if any(codes):
        raise typer.Exit(1)
    console.print(f"worker {worker_name()} stopped")
