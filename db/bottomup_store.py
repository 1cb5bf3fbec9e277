"""Storing the bottom-up stages of a run: its seed conversations and one row per stage item.

Inserts are idempotent on their natural keys ((run_id, idx) for seeds, (run_id, stage, key) for stage
items) with INSERT ... ON CONFLICT DO NOTHING, so a resumed run that redoes an item finished just before
a crash cannot duplicate it. Nothing here commits: the pipeline commits once per item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from datamodel.seeds import SeedConversation, SeedTurn
from db.models import Base, SeedConversationRow, StageItem

__all__ = [
    "STAGE_STATUSES",
    "StageRecord",
    "add_seed_conversations",
    "add_stage_items",
    "load_seed_conversations",
    "load_stage_items",
    "seed_counts",
    "stage_counts",
]

STAGE_STATUSES = ("ok", "failed", "rejected")


@dataclass(frozen=True)
class StageRecord:
    """What one finished stage item stores: input, outcome, and the prompt and model that made it."""

    stage: str
    key: str
    position: int
    input: dict[str, Any]
    output: Any
    status: str
    reason: str | None = None
    raw: str | None = None
    prompt_name: str | None = None
    prompt_version: int | None = None
    model: str | None = None
    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


def _insert_ignoring_existing(
    session: Session, model: type[Base], keys: list[str], rows: Sequence[dict[str, Any]]
) -> None:
    """Insert rows, skipping those whose unique key already exists (executemany has no reliable
    rowcount, so callers that need to know read the rows back)."""
    if not rows:
        return
    dialect_insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(model).on_conflict_do_nothing(index_elements=keys)
    session.execute(statement.execution_options(render_nulls=True), list(rows))


def add_seed_conversations(session: Session, run_id: int, seeds: Sequence[SeedConversation]) -> None:
    """Store a run's seeds at idx 0, 1, ...; seeds already stored for the run are left as they are."""
    rows = [
        {
            "run_id": run_id,
            "idx": idx,
            "source": seed.source,
            "origin": seed.origin,
            "turns": [t.model_dump(mode="json") for t in seed.turns],
            "functions": seed.functions,
        }
        for idx, seed in enumerate(seeds)
    ]
    _insert_ignoring_existing(session, SeedConversationRow, ["run_id", "idx"], rows)


def load_seed_conversations(session: Session, run_id: int) -> list[SeedConversation]:
    """The run's seeds in idx order, rebuilt as stored (a resume reads these, not the seed file)."""
    rows = session.scalars(
        select(SeedConversationRow)
        .where(SeedConversationRow.run_id == run_id)
        .order_by(SeedConversationRow.idx)
    )
    return [
        SeedConversation(
            source=row.source,  # type: ignore[arg-type]
            origin=row.origin,
            turns=[SeedTurn.model_validate(t) for t in row.turns],
            functions=row.functions,
        )
        for row in rows
    ]


def add_stage_items(session: Session, run_id: int, records: Sequence[StageRecord]) -> None:
    """Store finished stage items; an item already stored under (run_id, stage, key) is kept as it is."""
    for record in records:
        if record.status not in STAGE_STATUSES:
            raise ValueError(f"unknown stage status {record.status!r}; allowed: {', '.join(STAGE_STATUSES)}")
    rows = [{"run_id": run_id, **asdict(record)} for record in records]
    _insert_ignoring_existing(session, StageItem, ["run_id", "stage", "key"], rows)


def load_stage_items(session: Session, run_id: int, stage: str) -> list[StageItem]:
    """The stored items of one stage of a run, by position."""
    statement = (
        select(StageItem)
        .where(StageItem.run_id == run_id, StageItem.stage == stage)
        .order_by(StageItem.position, StageItem.key)
    )
    return list(session.scalars(statement))


def stage_counts(session: Session, run_id: int | None = None) -> list[tuple[int, str, str, int, int]]:
    """(run_id, stage, status, items, tokens) for every stage of one run or of all, first item first."""
    statement = (
        select(
            StageItem.run_id,
            StageItem.stage,
            StageItem.status,
            func.count(),
            func.coalesce(func.sum(StageItem.prompt_tokens + StageItem.completion_tokens), 0),
        )
        .group_by(StageItem.run_id, StageItem.stage, StageItem.status)
        .order_by(StageItem.run_id, func.min(StageItem.id), StageItem.status)
    )
    if run_id is not None:
        statement = statement.where(StageItem.run_id == run_id)
    return [(r, s, st, int(n), int(t)) for r, s, st, n, t in session.execute(statement).tuples()]


def seed_counts(session: Session, run_id: int | None = None) -> list[tuple[int, int]]:
    """(run_id, seed conversations imported) for one run or all."""
    statement = (
        select(SeedConversationRow.run_id, func.count())
        .group_by(SeedConversationRow.run_id)
        .order_by(SeedConversationRow.run_id)
    )
    if run_id is not None:
        statement = statement.where(SeedConversationRow.run_id == run_id)
    return [(r, int(n)) for r, n in session.execute(statement).tuples()]
