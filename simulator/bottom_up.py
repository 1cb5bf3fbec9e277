"""The LLM-driven bottom-up phase, stage by stage, persisted and resumable.

seeds → scenario_extract → dedup_seed → scenario_expand → dedup_expanded → atomic_task → compose →
filter → functions → CompositionalTasks. Every item of every stage is one row of `stage_items`,
committed on its own with the prompt version and model that made it; a re-run of the same run id skips
what is stored and produces the same final list. Each stage finishes before the next starts, so which
items a stage gets never depends on timing.

How `button generate` calls it (the caller owns the run and stores the tasks, as for offline tasks)::

    config = BottomUpConfig(seeds=Path("seeds.jsonl"), n_expansions=2)
    clients = {"composer": composer_client, "judge": judge_client}  # any ChatCompletionClient
    tasks = asyncio.run(run_bottom_up(sessions, run_id, clients, config))
    with sessions() as session, session.begin():
        done = store.task_count(session, run_id)          # a resumed run stored some already
        store.add_tasks(session, run_id, tasks[done:], start_idx=done)
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from autogen_core.models import ChatCompletionClient
from sqlalchemy.orm import Session, sessionmaker

from composition.prompts import load_prompt
from composition.seeds import load_seeds
from composition.stages import atomic, composing, functions, judge, scenarios
from composition.stages.dedup import Embedder, greedy_dedup, minilm_embedder
from composition.stages.types import ComposeRequest, DraftTask, ExpandRequest, ScenarioList, Verdict
from datamodel.run_config import BottomUpConfig
from datamodel.seeds import SeedConversation
from datamodel.tasks import CompositionalTask, Scenario, Strategy
from db.bottomup_store import (
    StageRecord,
    add_seed_conversations,
    add_stage_items,
    load_seed_conversations,
)
from simulator.stage_runner import LLMStage, StageContext, WorkItem, load_results, run_llm_stage

__all__ = ["STAGES", "check_prompt_versions", "run_bottom_up"]

STAGES = (
    "scenario_extract",
    "dedup_seed",
    "scenario_expand",
    "dedup_expanded",
    "atomic_task",
    "compose",
    "filter",
    "functions",
)
MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
Keyed = list[tuple[str, Scenario]]


def check_prompt_versions(config: BottomUpConfig) -> None:
    """Fail before any work when a configured prompt version has no file (PromptError names the
    versions that exist)."""
    for name, version in config.prompt_versions.items():
        load_prompt(name, version)


def _verdict_status(verdict: Verdict) -> tuple[str, str | None]:
    return ("ok", None) if verdict.accepted else ("rejected", verdict.analysis)


EXTRACT = LLMStage[SeedConversation, Scenario](
    "scenario_extract", "scenario_extract", "composer", Scenario,
    scenarios.render_extraction, scenarios.parse_scenario,
)  # fmt: skip
EXPAND = LLMStage[ExpandRequest, ScenarioList](
    "scenario_expand", "scenario_expand", "composer", ScenarioList,
    scenarios.render_expansion, scenarios.parse_expansion,
)  # fmt: skip
ATOMIC = LLMStage[Scenario, atomic.AtomicTask](
    "atomic_task", "atomic_task", "composer", atomic.AtomicTask, atomic.render_atomic, atomic.parse_atomic
)
COMPOSE = {
    strategy: LLMStage[ComposeRequest, DraftTask](
        "compose", prompt, "composer", DraftTask, composing.render_composition, composing.parse_composition
    )
    for strategy, prompt in composing.COMPOSE_PROMPTS.items()
}
FILTER = LLMStage[DraftTask, Verdict](
    "filter", "filter_judge", "judge", Verdict, judge.render_judgement, judge.parse_judgement, _verdict_status
)
FUNCTIONS = LLMStage[DraftTask, CompositionalTask](
    "functions", "function_synth", "composer", CompositionalTask,
    functions.render_functions, functions.parse_functions,
)  # fmt: skip


def _import_seeds(
    sessions: sessionmaker[Session], run_id: int, config: BottomUpConfig
) -> list[SeedConversation]:
    """The run's seeds: read back when stored (a resume), else read from the file and stored once."""
    with sessions() as session:
        stored = load_seed_conversations(session, run_id)
    if stored:
        return stored
    seeds = load_seeds(config.seeds, config.max_seeds)
    with sessions() as session, session.begin():
        add_seed_conversations(session, run_id, seeds)
    return seeds


def _dedup(
    ctx: StageContext, stage: str, candidates: Keyed, already: Sequence[Scenario], embed: Embedder,
    model: str, threshold: float,
) -> Keyed:  # fmt: skip
    """The candidates that survive dedup; decided once and stored in one transaction, then read back."""
    stored = load_results(ctx, stage, Scenario)
    if any(key not in stored for key, _ in candidates):
        verdicts = greedy_dedup([s.text for _, s in candidates], embed, threshold, [s.text for s in already])
        records = [
            StageRecord(
                stage=stage,
                key=key,
                position=position,
                input=scenario.model_dump(mode="json"),
                output=scenario.model_dump(mode="json") if verdict.kept else None,
                status="ok" if verdict.kept else "rejected",
                reason=verdict.reason,
                model=model,
            )  # fmt: skip
            for position, ((key, scenario), verdict) in enumerate(zip(candidates, verdicts, strict=True))
        ]
        with ctx.sessions() as session, session.begin():
            add_stage_items(session, ctx.run_id, records)
        stored = load_results(ctx, stage, Scenario)
    return [(key, scenario) for key, scenario in candidates if stored[key].status == "ok"]


async def _scenarios(
    ctx: StageContext, seeds: list[SeedConversation], config: BottomUpConfig, embed: Embedder, model: str
) -> Keyed:
    """Seed scenarios, deduplicated, then their expansions, deduplicated against everything kept."""
    extracted = await run_llm_stage(
        ctx, EXTRACT, [WorkItem(f"s{i}", i, seed) for i, seed in enumerate(seeds)]
    )
    found = [(r.key, r.output) for r in extracted if r.status == "ok" and r.output is not None]
    kept = _dedup(ctx, "dedup_seed", found, [], embed, model, config.dedup_threshold)
    if config.n_expansions == 0:
        return kept
    requests = [
        WorkItem(key, i, ExpandRequest(scenario=s, count=config.n_expansions))
        for i, (key, s) in enumerate(kept)
    ]
    expanded = await run_llm_stage(ctx, EXPAND, requests)
    new = [
        (f"{r.key}.x{j}", scenario)
        for r in expanded
        if r.status == "ok" and r.output is not None
        for j, scenario in enumerate(r.output.scenarios)
    ]
    already = [s for _, s in kept]
    return kept + _dedup(ctx, "dedup_expanded", new, already, embed, model, config.dedup_threshold)


async def _drafts(ctx: StageContext, kept: Keyed, config: BottomUpConfig) -> list[tuple[str, DraftTask]]:
    """An atomic task per scenario, composed by the strategies in turn, judged; the accepted drafts."""
    atomics = await run_llm_stage(ctx, ATOMIC, [WorkItem(key, i, s) for i, (key, s) in enumerate(kept)])
    ready = [(r.key, r.output) for r in atomics if r.status == "ok" and r.output is not None]
    requests: dict[Strategy, list[WorkItem[ComposeRequest]]] = {s: [] for s in COMPOSE}
    for i, (key, task) in enumerate(ready):
        strategy = config.strategies[i % len(config.strategies)]
        requests[strategy].append(
            WorkItem(f"{key}:{strategy.value}", i, ComposeRequest(atomic=task, strategy=strategy))
        )
    by_strategy = await asyncio.gather(
        *(run_llm_stage(ctx, COMPOSE[s], items) for s, items in requests.items())
    )
    composed = sorted((item for results in by_strategy for item in results), key=lambda r: r.key)
    order = {item.key: item.position for items in requests.values() for item in items}
    drafts = sorted(
        ((r.key, r.output) for r in composed if r.status == "ok" and r.output is not None),
        key=lambda pair: order[pair[0]],
    )
    judged = await run_llm_stage(ctx, FILTER, [WorkItem(key, order[key], d) for key, d in drafts])
    return [(key, d) for (key, d), verdict in zip(drafts, judged, strict=True) if verdict.status == "ok"]


async def run_bottom_up(
    sessions: sessionmaker[Session],
    run_id: int,
    clients: Mapping[str, ChatCompletionClient],
    config: BottomUpConfig,
    *,
    embed: Embedder | None = None,
) -> list[CompositionalTask]:
    """Run (or resume) every bottom-up stage of `run_id`; the finished tasks in a stable order.

    `clients` needs the roles `composer` and `judge` (they may be one client). `embed` replaces the
    MiniLM sentence embedder (tests pass a tiny deterministic one). Nothing is stored in `tasks`: the
    caller stores the returned list with `db.store.add_tasks`.
    """
    ctx = StageContext(
        sessions=sessions,
        run_id=run_id,
        clients=clients,
        max_retries=config.max_retries,
        prompt_versions=config.prompt_versions,
        concurrency=config.concurrency,
    )
    for role in ("composer", "judge"):
        ctx.client(role)  # fail before any work when a role has no client
    embedder = embed if embed is not None else minilm_embedder()
    model = MINILM_NAME if embed is None else getattr(embed, "__name__", type(embed).__name__)
    seeds = _import_seeds(sessions, run_id, config)
    kept = await _scenarios(ctx, seeds, config, embedder, model)
    drafts = await _drafts(ctx, kept, config)
    finished = await run_llm_stage(ctx, FUNCTIONS, [WorkItem(key, i, d) for i, (key, d) in enumerate(drafts)])
    return [r.output for r in finished if r.status == "ok" and r.output is not None]
