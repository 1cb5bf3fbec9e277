"""How Ctrl-C and SIGTERM stop a run: the run is marked interrupted and resumable, nothing stored is lost.

`stop_on_signals` makes both signals raise KeyboardInterrupt (a batch scheduler sends SIGTERM);
`interrupt_after` holds the stop until a transaction commits; `run_stoppable` runs an event loop in
which the stop becomes a cancellation of the whole work at its current await.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import TypeVar

__all__ = ["interrupt_after", "run_stoppable", "stop_on_signals"]

T = TypeVar("T")

_INTERRUPTING = (signal.SIGINT, signal.SIGTERM)
_stop_requested = threading.Event()  # set by _interrupt; outlives a KeyboardInterrupt Python swallowed


def _interrupt(signum: int, frame: object) -> None:
    _stop_requested.set()
    raise KeyboardInterrupt


def _quiet_remembered_stop(unraisable: sys.UnraisableHookArgs) -> None:
    """The unraisable hook while `stop_on_signals` is in force: a stop swallowed inside a weakref
    callback or a __del__ is remembered (acted on at the next commit), so printing its traceback would
    only alarm; anything else goes to the hook that was there before."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and _stop_requested.is_set():
        return
    _hook_before[0](unraisable)


_hook_before: list[Callable[[sys.UnraisableHookArgs], object]] = [sys.unraisablehook]


def stop_on_signals() -> None:
    """Make Ctrl-C and SIGTERM stop a run (it is then marked interrupted and resumable), also when the
    shell started the process with SIGINT ignored. Python only prints a KeyboardInterrupt raised inside
    a weakref callback or a __del__ (garbage collection can run one at any bytecode), so the request is
    also remembered and acted on after the next stored episode, and that print is left out."""
    _stop_requested.clear()
    for signum in _INTERRUPTING:
        signal.signal(signum, _interrupt)
    if sys.unraisablehook is not _quiet_remembered_stop:
        _hook_before[0] = sys.unraisablehook
        sys.unraisablehook = _quiet_remembered_stop


@contextmanager
def interrupt_after() -> Iterator[None]:
    """Hold Ctrl-C (and SIGTERM where it interrupts too, as in `button generate`) until the block ends,
    then raise it. A KeyboardInterrupt inside a SQLite write leaves the invalidated connection holding
    the write lock, so marking the run interrupted then fails with 'database is locked'; deferred, the
    episode's transaction completes and the stop is clean."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread
        return
    caught: list[int] = []
    raising = (signal.default_int_handler, _interrupt)
    held = [signum for signum in _INTERRUPTING if signal.getsignal(signum) in raising]
    previous = [signal.signal(signum, lambda signum, _frame: caught.append(signum)) for signum in held]
    try:
        yield
    finally:
        for signum, handler in zip(held, previous, strict=True):
            signal.signal(signum, handler)
    if caught or _stop_requested.is_set():
        _stop_requested.clear()  # acted on now
        raise KeyboardInterrupt


def run_stoppable(work: Coroutine[object, object, T]) -> T:
    """`asyncio.run(work)` for every event loop the main process runs while `stop_on_signals` is in
    force (the in-process simulation, the LLM clients' set-up check, the LLM bottom-up stages): a stop
    cancels `work` at its await."""
    return asyncio.run(_cancelled_by_stop(work))


async def _cancelled_by_stop(work: Awaitable[T]) -> T:
    """Await `work` in the running loop so that a stop (where `stop_on_signals` is in force) cancels it
    at the await it is waiting on, and then leaves as KeyboardInterrupt. Raised from the signal handler
    instead, the KeyboardInterrupt lands in whichever task runs at that moment, possibly one of AutoGen's
    runtime mid-step, and the episodes waiting on it can wait for good, so the run never gets marked
    interrupted. A second signal while the cancellation unwinds leaves at once."""
    held = [signum for signum in _INTERRUPTING if signal.getsignal(signum) is _interrupt]
    if not held or threading.current_thread() is not threading.main_thread():
        return await work
    loop = asyncio.get_running_loop()
    this = asyncio.current_task()
    assert this is not None
    stopping: list[bool] = []

    def stop() -> None:
        if stopping:
            raise KeyboardInterrupt  # the second: out of the event loop now
        stopping.append(True)
        this.cancel()

    for signum in held:
        loop.add_signal_handler(signum, stop)
    try:
        return await work
    except asyncio.CancelledError:
        if stopping:
            raise KeyboardInterrupt from None
        raise
    finally:
        for signum in held:
            loop.remove_signal_handler(signum)  # it leaves the default handler: put ours back
            signal.signal(signum, _interrupt)
