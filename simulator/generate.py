"""The `button generate` service: create (or reopen) a run, store its tasks, simulate and store every
conversation. The CLI, benches and tests call `generate_run` with a config and a sessionmaker."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from composition.prompts import PromptError
from composition.seeds import SeedFormatError
from datamodel.models import ClientSetupError
from datamodel.run_config import GenerateConfig
from roles.ledger import TokenLedger
from simulator.batch import BatchProgress, RunError, prepare_run, simulate_pending

__all__ = ["GenerateError", "GenerateInterrupted", "GenerateResult", "generate_run"]


class GenerateError(Exception):
    """A run that could not start or had to stop; `run_id` is set when it can be resumed."""

    def __init__(self, reason: str, run_id: int | None = None) -> None:
        super().__init__(reason)
        self.run_id = run_id

    def message(self, db: str) -> str:
        """The reason, with the resume command when there is a run to resume."""
        if self.run_id is None:
            return str(self)
        return f"{self}; continue with: button generate --resume {self.run_id} --db {db}"


class GenerateInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run: the run is marked interrupted and `run_id` resumes it (None before it exists)."""

    def __init__(self, run_id: int | None) -> None:
        super().__init__()
        self.run_id = run_id


@dataclass
class GenerateResult:
    """A finished (or budget-stopped) run: its id, the settings it ran with, and the counts."""

    run_id: int
    config: GenerateConfig
    progress: BatchProgress


def generate_run(
    sessions: sessionmaker[Session],
    config: GenerateConfig,
    resume: int | None = None,
    *,
    on_start: Callable[[int, GenerateConfig], None] = lambda _id, _config: None,
    on_progress: Callable[[BatchProgress], None] = lambda _: None,
    ledger: TokenLedger | None = None,
    repeat: bool = False,
) -> GenerateResult:
    """Run `config` (or resume run `resume` with its stored settings and this config's execution ones).
    A new run with a stored run's settings is refused unless `repeat` (see `prepare_run`).

    One ledger covers both phases (bottom-up stages and simulation), so one budget does too. `on_start`
    is called once the run and its tasks are stored, `on_progress` after every stored conversation.
    """
    ledger = ledger if ledger is not None else TokenLedger()
    try:
        run_id, config = prepare_run(sessions, config, resume, ledger=ledger, repeat=repeat)
    except (RunError, SeedFormatError, PromptError, ClientSetupError) as exc:
        raise GenerateError(str(exc)) from exc
    except KeyboardInterrupt as exc:  # after the run was made, it says which (RunInterrupted)
        raise GenerateInterrupted(getattr(exc, "run_id", resume)) from None
    on_start(run_id, config)
    try:
        progress = simulate_pending(sessions, run_id, config, on_progress, ledger=ledger)
    except ClientSetupError as exc:
        raise GenerateError(str(exc)) from exc
    except RunError as exc:  # a worker process failed; the run is marked interrupted
        raise GenerateError(str(exc), run_id) from exc
    except KeyboardInterrupt:
        raise GenerateInterrupted(run_id) from None
    return GenerateResult(run_id, config, progress)
