"""What LLM requests cost: a token ledger per role and stage, and a budget that stops a run cleanly.

The ledger counts every request a managed client makes (format retries and cache hits included), so its
figures are what the endpoint billed; the per-turn usage stored with messages is the same money seen
from the conversation. The budget is checked before a request is sent: a run stops between requests,
never in the middle of one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Budget", "BudgetExceeded", "LedgerEntry", "SharedLedger", "TokenLedger"]


class BudgetExceeded(RuntimeError):
    """The run's token or dollar budget is spent; no further request may be sent."""


@dataclass
class LedgerEntry:
    """Tokens and requests of one (role, stage, model)."""

    requests: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class TokenLedger:
    """Counts per (role, stage, model); one ledger is shared by every client of a run."""

    entries: dict[tuple[str, str, str], LedgerEntry] = field(default_factory=dict)

    def record(self, role: str, stage: str, model: str, prompt: int, completion: int, cached: bool) -> None:
        entry = self.entries.setdefault((role, stage, model), LedgerEntry())
        entry.requests += 1
        entry.cache_hits += int(cached)
        entry.prompt_tokens += prompt
        entry.completion_tokens += completion

    def merge(self, entries: dict[tuple[str, str, str], LedgerEntry]) -> None:
        """Add another ledger's entries (a worker process's, sent with its episodes)."""
        for key, other in entries.items():
            entry = self.entries.setdefault(key, LedgerEntry())
            entry.requests += other.requests
            entry.cache_hits += other.cache_hits
            entry.prompt_tokens += other.prompt_tokens
            entry.completion_tokens += other.completion_tokens

    @property
    def prompt_tokens(self) -> int:
        return sum(e.prompt_tokens for e in self.entries.values())

    @property
    def completion_tokens(self) -> int:
        return sum(e.completion_tokens for e in self.entries.values())

    def rows(self, price_in: float = 0.0, price_out: float = 0.0) -> list[tuple[object, ...]]:
        """(role, stage, model, requests, cache hits, prompt, completion, usd) per entry, sorted."""
        return [
            (*key, e.requests, e.cache_hits, e.prompt_tokens, e.completion_tokens,
             round(_usd(e.prompt_tokens, e.completion_tokens, price_in, price_out), 4))
            for key, e in sorted(self.entries.items())
        ]  # fmt: skip

    def as_dict(self) -> list[dict[str, object]]:
        """JSON-ready rows, for storing with the run."""
        return [
            {"role": r, "stage": s, "model": m, **e.__dict__} for (r, s, m), e in sorted(self.entries.items())
        ]


@dataclass
class SharedLedger(TokenLedger):
    """A worker process's ledger. Its entries are what this process recorded since the last `take`
    (sent to the parent, which keeps the run's ledger); the totals a budget reads are the whole run's,
    summed across processes in `totals`, a shared `multiprocessing.Array("q", 2)` of prompt and
    completion tokens, so every process checks the same budget before every request."""

    totals: Any = None

    def record(self, role: str, stage: str, model: str, prompt: int, completion: int, cached: bool) -> None:
        super().record(role, stage, model, prompt, completion, cached)
        if prompt or completion:
            with self.totals.get_lock():
                self.totals[0] += prompt
                self.totals[1] += completion

    @property
    def prompt_tokens(self) -> int:
        return int(self.totals[0])

    @property
    def completion_tokens(self) -> int:
        return int(self.totals[1])

    def take(self) -> dict[tuple[str, str, str], LedgerEntry]:
        """The entries recorded since the last call, handed over and cleared."""
        taken, self.entries = self.entries, {}
        return taken


def _usd(prompt: int, completion: int, price_in: float, price_out: float) -> float:
    return (prompt * price_in + completion * price_out) / 1_000_000


@dataclass
class Budget:
    """Optional limits in tokens and dollars (prices per 1M tokens); None means no limit."""

    tokens: int | None = None
    usd: float | None = None
    price_in: float = 0.0
    price_out: float = 0.0

    def spent_usd(self, ledger: TokenLedger) -> float:
        return _usd(ledger.prompt_tokens, ledger.completion_tokens, self.price_in, self.price_out)

    def exhausted(self, ledger: TokenLedger) -> bool:
        """True once either limit is reached."""
        if self.tokens is not None and ledger.prompt_tokens + ledger.completion_tokens >= self.tokens:
            return True
        return self.usd is not None and self.spent_usd(ledger) >= self.usd

    def check(self, ledger: TokenLedger) -> None:
        """Raise BudgetExceeded when the budget is spent (called before every request)."""
        if self.exhausted(ledger):
            used = ledger.prompt_tokens + ledger.completion_tokens
            raise BudgetExceeded(
                f"budget reached: {used} tokens, ${self.spent_usd(ledger):.4f} "
                f"(limits: tokens {self.tokens}, usd {self.usd})"
            )
