"""The bottom-up pipeline end to end with a scripted model, on SQLite and PostgreSQL: every stage's rows,
retries with feedback, a judge's 'no', function specs regenerated, and resume after a crash."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cli import app
from datamodel.run_config import BottomUpConfig
from datamodel.tasks import CompositionalTask, Strategy
from db import store
from db.models import SeedConversationRow, StageItem
from simulator.bottom_up import STAGES, run_bottom_up
from tests.conftest import load_test_module

script = load_test_module("button_tests_llm_script", Path(__file__).with_name("llm_script.py"))

CONFIG = BottomUpConfig(n_expansions=1, max_retries=2, concurrency=4)


def _new_run(sessions: sessionmaker[Session]) -> int:
    with sessions() as session, session.begin():
        return store.create_run(session, kind="generate", seed=0, n_requested=0, config={}, versions={})


def _run(
    sessions: sessionmaker[Session], run_id: int, client: Any, config: BottomUpConfig = CONFIG
) -> list[CompositionalTask]:
    clients = {"composer": client, "judge": client}
    return asyncio.run(run_bottom_up(sessions, run_id, clients, config, embed=script.bag_of_words))


def _items(sessions: sessionmaker[Session], run_id: int) -> list[StageItem]:
    with sessions() as session:
        return list(
            session.scalars(select(StageItem).where(StageItem.run_id == run_id).order_by(StageItem.id))
        )


def _by_stage(items: list[StageItem], stage: str, status: str | None = None) -> list[StageItem]:
    return [i for i in items if i.stage == stage and (status is None or i.status == status)]


@pytest.fixture
def full_run(sessions: sessionmaker[Session]) -> tuple[int, list[CompositionalTask], Any]:
    run_id = _new_run(sessions)
    client = script.BottomUpScript(model="scripted:composer")
    return run_id, _run(sessions, run_id, client), client


def test_every_stage_is_stored_and_tasks_come_out(sessions: sessionmaker[Session], full_run: Any) -> None:
    run_id, tasks, _client = full_run
    items = _items(sessions, run_id)
    assert {i.stage for i in items} == set(STAGES)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(SeedConversationRow)) == 12
    assert tasks and len(tasks) == len(_by_stage(items, "functions", "ok"))
    assert {t.strategy for t in tasks} == {Strategy.SEQUENTIAL, Strategy.PARALLEL_THEN_SEQUENTIAL}
    for task in tasks:
        assert task.reference is None and task.functions
        assert task.subtasks[-1].depends_on == ([0] if task.strategy == Strategy.SEQUENTIAL else [0, 1])
    for item in items:
        if item.stage.startswith("dedup"):
            assert item.prompt_name is None and item.model == "bag_of_words"
        else:
            assert item.prompt_version == 1 and item.model == "scripted:composer" and item.attempts >= 1


def test_failures_and_rejections_are_kept_with_reasons(
    sessions: sessionmaker[Session], full_run: Any
) -> None:
    run_id, tasks, _client = full_run
    items = _items(sessions, run_id)
    [failed] = _by_stage(items, "scenario_extract", "failed")
    assert "sourdough" in failed.input["turns"][0]["text"]
    assert failed.attempts == 3 and "no usable reply in 3 attempts" in (failed.reason or "")
    [duplicate] = _by_stage(items, "dedup_seed", "rejected")
    assert duplicate.input["text"] == "tracking a parcel delivery online"
    assert "near-duplicate of 'tracking a parcel delivery'" in (duplicate.reason or "")
    rejected = _by_stage(items, "filter", "rejected")
    assert rejected and all("loan" in r.input["instruction"] and r.reason for r in rejected)
    assert not {r.key for r in rejected} & {i.key for i in _by_stage(items, "functions")}
    assert all("loan" not in t.instruction for t in tasks)


def test_unusable_replies_are_retried_with_the_reason_fed_back(
    sessions: sessionmaker[Session], full_run: Any
) -> None:
    run_id, _tasks, client = full_run
    feedback = [texts for texts in client.requests if len(texts) > 1]
    reasons = " ".join(texts[-1] for texts in feedback)
    assert "could not be used" in reasons
    for expected in (
        "no JSON object",
        "not valid",
        "mentions",
        '"composed_task" must be',
        "no verdict found",
    ):
        assert expected in reasons, expected
    assert "not a valid JSON Schema" in reasons  # the invalid spec, regenerated
    assert "uses the result of step 1, but no parameter" in reasons  # the broken chain, regenerated
    retried = [i for i in _items(sessions, run_id) if i.status == "ok" and i.attempts > 1]
    assert {i.stage for i in retried} >= {"scenario_extract", "atomic_task", "functions"}


def test_tasks_store_with_add_tasks_and_load_back(sessions: sessionmaker[Session], full_run: Any) -> None:
    run_id, tasks, _client = full_run
    with sessions() as session, session.begin():
        ids = store.add_tasks(session, run_id, tasks)
    with sessions() as session:
        loaded = store.load_tasks(session, ids)
    assert [loaded[i] for i in ids] == tasks


def test_resume_after_a_crash_gives_the_same_tasks_without_duplicates(
    sessions: sessionmaker[Session],
) -> None:
    reference = _run(sessions, _new_run(sessions), script.BottomUpScript())
    run_id = _new_run(sessions)
    with pytest.raises(ExceptionGroup) as crash:
        _run(sessions, run_id, script.BottomUpScript(crash_after=60))
    assert crash.group_contains(script.SimulatedCrash)
    stored_before = len(_items(sessions, run_id))
    assert stored_before > 0
    second = script.BottomUpScript()
    resumed = _run(sessions, run_id, second)
    assert resumed == reference
    assert second.calls < 60 + len(_by_stage(_items(sessions, run_id), "functions"))
    again = script.BottomUpScript()
    assert _run(sessions, run_id, again) == reference and again.calls == 0  # nothing left to ask
    keys = [(i.stage, i.key) for i in _items(sessions, run_id)]
    assert len(keys) == len(set(keys))
    with sessions() as session:
        seeds = session.scalar(
            select(func.count()).select_from(SeedConversationRow).where(SeedConversationRow.run_id == run_id)
        )
    assert seeds == 12


def test_button_stages_prints_counts(sessions: sessionmaker[Session], full_run: Any, db_url: str) -> None:
    run_id, _tasks, _client = full_run
    result = CliRunner().invoke(app, ["stages", "--db", db_url, "--run", str(run_id)])
    assert result.exit_code == 0, result.output
    for word in ("Bottom-up stages", "seeds", "scenario_extract", "failed", "rejected", "functions"):
        assert word in result.output
    missing = CliRunner().invoke(app, ["stages", "--db", db_url, "--run", "999"])
    assert missing.exit_code == 1 and "no run with id 999" in missing.output


def test_a_role_without_client_fails_before_any_work(sessions: sessionmaker[Session]) -> None:
    run_id = _new_run(sessions)
    with pytest.raises(KeyError, match="judge"):
        asyncio.run(run_bottom_up(sessions, run_id, {"composer": script.BottomUpScript()}, CONFIG))
    assert _items(sessions, run_id) == []
