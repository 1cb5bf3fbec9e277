"""A stop signal inside an event loop cancels the simulation at its awaits, never in the middle of a step."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator

import pytest

from simulator.stopping import run_stoppable, stop_on_signals


@pytest.fixture
def stopping_signals() -> Iterator[None]:
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    stop_on_signals()
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_another_tasks_step_cancels_at_the_next_await(
    stopping_signals: None, signum: signal.Signals
) -> None:
    """The signal comes while a helper task (as AutoGen's runtime) is mid-step: that step completes, every
    task is cancelled where it waits, the cleanup in `finally` runs, and the stop leaves as
    KeyboardInterrupt with the run's handler back in place."""
    log: list[str] = []

    async def runtime_step() -> None:
        os.kill(os.getpid(), signum)  # delivered while this step still runs
        log.append("step completed")
        await asyncio.sleep(60)

    async def simulation() -> None:
        helper = asyncio.ensure_future(runtime_step())
        try:
            await asyncio.sleep(60)
        finally:
            log.append("simulation cleaned up")
            helper.cancel()

    installed = signal.getsignal(signum)
    with pytest.raises(KeyboardInterrupt):
        run_stoppable(simulation())
    assert log == ["step completed", "simulation cleaned up"]  # raised in the step, it would never complete
    assert signal.getsignal(signum) is installed


def test_work_that_ends_on_its_own_returns_its_value(stopping_signals: None) -> None:
    async def work() -> int:
        await asyncio.sleep(0)
        return 7

    assert run_stoppable(work()) == 7
