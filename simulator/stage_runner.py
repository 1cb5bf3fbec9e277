"""Run one stage over its items: skip the stored ones, ask for the rest concurrently, commit each alone.

An item is finished once its row is committed (ok, failed or rejected), so after kill -9 a re-run asks
only for the items without a row; rows are keyed by (run_id, stage, key) and inserted idempotently, so
a race or a repeat cannot duplicate them. Transport errors are not items' failures: they propagate and
leave the item for the next run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from autogen_core.models import ChatCompletionClient
from pydantic import BaseModel, TypeAdapter
from sqlalchemy.orm import Session, sessionmaker

from composition.prompts import PromptTemplate, load_prompt
from composition.stages.ask import Attempt, ask_until_valid, model_name
from db.bottomup_store import StageRecord, add_stage_items, load_stage_items

__all__ = [
    "FEEDBACK_PROMPT",
    "LLMStage",
    "StageContext",
    "StageResult",
    "WorkItem",
    "load_results",
    "run_llm_stage",
]

InT = TypeVar("InT", bound=BaseModel)
OutT = TypeVar("OutT", bound=BaseModel)
FEEDBACK_PROMPT = "retry_feedback"


@dataclass(frozen=True)
class WorkItem(Generic[InT]):
    """One unit of a stage: a stable key (the resume identity), its position, and its input."""

    key: str
    position: int
    input: InT


@dataclass(frozen=True)
class StageResult(Generic[OutT]):
    """A finished item as stored: its status, its typed output (ok and rejected) and the reason."""

    key: str
    status: str
    output: OutT | None
    reason: str | None


def _always_ok(_output: Any) -> tuple[str, str | None]:
    return "ok", None


@dataclass(frozen=True)
class LLMStage(Generic[InT, OutT]):
    """A stage: its name in the database, its prompt, the role that answers, and how to render/parse.

    `verdict` maps a parsed output to (status, reason): the judge turns a 'no' into 'rejected'.
    """

    name: str
    prompt: str
    role: str
    output_type: type[OutT]
    render: Callable[[PromptTemplate, InT], str]
    parse: Callable[[str, InT], OutT]
    verdict: Callable[[OutT], tuple[str, str | None]] = _always_ok


@dataclass
class StageContext:
    """What every stage of one run shares: sessions, run, clients, retries, prompt versions, the gate."""

    sessions: sessionmaker[Session]
    run_id: int
    clients: Mapping[str, ChatCompletionClient]
    max_retries: int
    prompt_versions: Mapping[str, int]
    concurrency: int
    _gate: asyncio.Semaphore | None = field(default=None, repr=False)

    @property
    def gate(self) -> asyncio.Semaphore:
        """Created inside the running loop, on first use."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.concurrency)
        return self._gate

    def prompt(self, name: str) -> PromptTemplate:
        return load_prompt(name, self.prompt_versions.get(name, 1))

    def client(self, role: str) -> ChatCompletionClient:
        if role not in self.clients:
            raise KeyError(f"no client for the {role!r} role; give clients for: composer, judge")
        return self.clients[role]


def _record(
    stage: LLMStage[InT, OutT], item: WorkItem[InT], template: PromptTemplate, model: str, done: Attempt[OutT]
) -> StageRecord:
    if done.output is None:
        status, reason, output = "failed", done.reason, None
    else:
        status, reason = stage.verdict(done.output)
        output = done.output.model_dump(mode="json")
    return StageRecord(
        stage=stage.name,
        key=item.key,
        position=item.position,
        input=item.input.model_dump(mode="json"),
        output=output,
        status=status,
        reason=reason,
        raw=done.raw,
        prompt_name=template.name,
        prompt_version=template.version,
        model=model,
        attempts=done.attempts,
        prompt_tokens=done.prompt_tokens,
        completion_tokens=done.completion_tokens,
    )


async def _run_item(ctx: StageContext, stage: LLMStage[InT, OutT], item: WorkItem[InT]) -> None:
    template, client = ctx.prompt(stage.prompt), ctx.client(stage.role)
    async with ctx.gate:
        done = await ask_until_valid(
            client,
            stage.render(template, item.input),
            lambda text: stage.parse(text, item.input),
            feedback=ctx.prompt(FEEDBACK_PROMPT),
            max_retries=ctx.max_retries,
        )
    with ctx.sessions() as session, session.begin():
        add_stage_items(session, ctx.run_id, [_record(stage, item, template, model_name(client), done)])


def load_results(ctx: StageContext, stage_name: str, output_type: type[OutT]) -> dict[str, StageResult[OutT]]:
    """The stored items of a stage, by key, with outputs read back as their type."""
    adapter = TypeAdapter(output_type)
    with ctx.sessions() as session:
        rows = load_stage_items(session, ctx.run_id, stage_name)
        return {
            row.key: StageResult(
                key=row.key,
                status=row.status,
                output=adapter.validate_python(row.output) if row.output is not None else None,
                reason=row.reason,
            )
            for row in rows
        }


async def run_llm_stage(
    ctx: StageContext, stage: LLMStage[InT, OutT], items: Sequence[WorkItem[InT]]
) -> list[StageResult[OutT]]:
    """Every item's result, in item order; only items not stored yet are sent to the model."""
    stored = load_results(ctx, stage.name, stage.output_type)
    todo = [item for item in items if item.key not in stored]
    if todo:
        async with asyncio.TaskGroup() as group:  # one failing item cancels the rest: nothing half-done
            for item in todo:
                group.create_task(_run_item(ctx, stage, item))
        stored = load_results(ctx, stage.name, stage.output_type)
    return [stored[item.key] for item in items]
