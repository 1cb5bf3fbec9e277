"""Alembic is the only way the schema changes: up, down and up again, with nothing left to autogenerate."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from datamodel.run_config import EvalConfig, ForkConfig, GenerateConfig, read_run_config
from db.engine import (
    DatabaseError,
    alembic_config,
    current_revision,
    downgrade,
    ensure_schema,
    head_revision,
    make_engine,
    migrate,
)
from db.migrations import is_ours
from db.models import Base

TABLES = {
    "runs",
    "scenarios",
    "atomic_tasks",
    "functions",
    "tasks",
    "task_functions",
    "conversations",
    "messages",
    "tool_calls",
    "checks",
}

BEHAVIOUR_COLUMNS = {"behaviour", "look_alike", "behaviour_detail"}  # migration 0007
BEHAVIOUR_VIEW_COLUMNS = {"behaviour", "look_alike"}
FORK_VIEW_COLUMNS = {"forked_from_id", "fork_turn"}  # migration 0010


def _columns(engine: Any, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def test_upgrade_downgrade_and_upgrade_again(db_url: str) -> None:
    engine = make_engine(db_url)
    assert current_revision(engine) is None
    migrate(engine)
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert "conversation_overview" in inspect(engine).get_view_names()
    assert _columns(engine, "tasks") >= BEHAVIOUR_COLUMNS
    assert _columns(engine, "conversation_overview") >= BEHAVIOUR_VIEW_COLUMNS | FORK_VIEW_COLUMNS
    assert "ix_tasks_run_id_behaviour" in {i["name"] for i in inspect(engine).get_indexes("tasks")}

    downgrade(engine, "0009")
    assert _columns(engine, "conversation_overview") >= BEHAVIOUR_VIEW_COLUMNS
    assert not _columns(engine, "conversation_overview") & FORK_VIEW_COLUMNS

    downgrade(engine, "0006")
    assert not _columns(engine, "tasks") & BEHAVIOUR_COLUMNS
    assert not _columns(engine, "conversation_overview") & BEHAVIOUR_VIEW_COLUMNS
    assert "ix_tasks_run_id_behaviour" not in {i["name"] for i in inspect(engine).get_indexes("tasks")}

    downgrade(engine, "base")
    assert current_revision(engine) is None
    inspector = inspect(engine)
    assert set(inspector.get_table_names()) <= {"alembic_version"}
    assert inspector.get_view_names() == []

    migrate(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_nothing_left_to_autogenerate(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": is_ours})
        assert compare_metadata(context, Base.metadata) == []
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = connection
        command.check(cfg)  # the same through env.py; raises if a migration is missing
    engine.dispose()


def test_ensure_schema_is_idempotent(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    ensure_schema(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_newer_schema_is_refused_and_left_untouched(db_url: str) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO runs (kind, status, seed, n_requested, config, versions) "
                "VALUES ('generate', 'finished', 1, 1, '{}', '{}')"
            )
        )
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))

    for attempt in (ensure_schema, migrate, lambda e: downgrade(e, "base")):
        with pytest.raises(DatabaseError) as caught:
            attempt(engine)
        message = str(caught.value)
        assert "\n" not in message
        if attempt is ensure_schema:
            assert "revision 9999" in message and f"head {head_revision()}" in message
            assert "upgrade button-sim" in message

    assert current_revision(engine) == "9999"
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM runs")).scalar_one() == 1
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()


OLD_ROLE = {
    "model": "openai:m",
    "base_url": "u",
    "api_key_env": "OPENAI_API_KEY",
    "temperature": None,
    "max_tokens": None,
    "seed": None,
    "timeout": 60.0,
    "format": "button",
}  # a RoleModel as 0005's rows dumped it
OLD_GENERATE = {"n": 5, "seed": 7, "parallel": False, "roles": {"assistant": OLD_ROLE}}
OLD_EVAL = {
    "assistant": {"model": "hf:/m", "format": "native", "max_tokens": 512, "base_url": None},
    "label": "m",
    "n": 3,
    "max_idle": 2,
}
OLD_FORK = {
    "parent_conversation": 1,
    "fork_turn": 2,
    "change": {"policy": "sequential"},
    "generate": OLD_GENERATE,
}
OLD_TRAIN = {
    "data": "d.jsonl",
    "out": "models/x",
    "lr": 3e-3,
    "epochs": 2.0,
    "micro_batch": 2,
    "batch_size": 8,
}


def _insert_runs(connection: Any) -> None:
    for kind, config in (("generate", OLD_GENERATE), ("eval", OLD_EVAL), ("fork", OLD_FORK)):
        connection.execute(
            text(
                "INSERT INTO runs (kind, status, seed, n_requested, config, versions) "
                "VALUES (:kind, 'finished', 1, 1, :config, '{}')"
            ),
            {"kind": kind, "config": json.dumps(config)},
        )
    connection.execute(
        text(
            "INSERT INTO training_runs (status, base_model, data_file, data_sha256, config, output_dir) "
            "VALUES ('finished', 'b', 'd.jsonl', 'x', :config, 'models/x')"
        ),
        {"config": json.dumps(OLD_TRAIN)},
    )


def _configs(engine: Any, table: str) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT config FROM {table} ORDER BY id")).scalars().all()
    return [row if isinstance(row, dict) else json.loads(row) for row in rows]


def test_stored_run_configs_are_converted_to_one_shape_and_back(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine, "0005")
    with engine.begin() as connection:
        _insert_runs(connection)
    migrate(engine)
    generate, evaluation, fork = (read_run_config(c) for c in _configs(engine, "runs"))
    assert isinstance(generate, GenerateConfig) and generate.seed == 7 and not generate.parallel
    assert generate.role("assistant").base_url == "u" and generate.role("tool").model == "offline"
    assert isinstance(evaluation, EvalConfig) and evaluation.model == "hf:/m"
    assert evaluation.call_format == "native" and evaluation.assistant.max_tokens == 512
    assert isinstance(fork, ForkConfig) and fork.change.policy == "sequential"
    assert fork.generation().seed == 7
    (train,) = _configs(engine, "training_runs")
    assert train["learning_rate"] == 3e-3 and train["output_dir"] == "models/x"
    assert train["num_train_epochs"] == 2.0 and train["per_device_train_batch_size"] == 2
    downgrade(engine, "0005")
    old_generate, old_eval, old_fork = _configs(engine, "runs")
    assert old_generate == OLD_GENERATE and old_fork["generate"] == OLD_GENERATE
    assert old_eval["assistant"]["model"] == "hf:/m" and old_eval["assistant"]["format"] == "native"
    assert _configs(engine, "training_runs") == [OLD_TRAIN]
    engine.dispose()


PLAIN_MIX = {"clarify": 0, "follow_up": 0, "irrelevant": 0, "tool_error": 0, "look_alike": 0}


def _insert_task(connection: Any) -> None:
    """One task of the first run, as 0005 and 0006 stored it."""
    connection.execute(text("INSERT INTO scenarios (text, domain, source) VALUES ('s', 'books', 'seed')"))
    connection.execute(text("INSERT INTO atomic_tasks (scenario_id, instruction) VALUES (1, 'a')"))
    connection.execute(
        text(
            "INSERT INTO tasks (run_id, idx, instruction, strategy, n_subtasks, depth, scenario_id, "
            "atomic_task_id, subtasks) VALUES (1, 0, 'i', 'atomic', 1, 1, 1, 1, '[]')"
        )
    )


def test_existing_tasks_become_plain_and_old_runs_keep_a_plain_mix(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine, "0005")
    with engine.begin() as connection:
        _insert_runs(connection)  # 0005's shapes, which 0006 converts
        _insert_task(connection)
    migrate(engine)
    with engine.connect() as connection:
        task = connection.execute(text("SELECT behaviour, look_alike, behaviour_detail FROM tasks")).one()
        overview_columns = connection.execute(text("SELECT behaviour, look_alike FROM conversation_overview"))
        assert overview_columns.all() == []
    assert (task.behaviour, bool(task.look_alike), task.behaviour_detail) == ("plain", False, None)
    generate, evaluation, fork = _configs(engine, "runs")
    assert generate["mix"] == PLAIN_MIX and fork["generate"]["mix"] == PLAIN_MIX
    assert evaluation["mix"] == PLAIN_MIX  # 0008: the held-out tasks of an old evaluation were plain
    assert read_run_config(evaluation) == read_run_config({k: v for k, v in evaluation.items() if k != "mix"})
    resumed = read_run_config(generate)
    assert isinstance(resumed, GenerateConfig) and set(resumed.mix.shares().values()) == {0.0, 1.0}
    downgrade(engine, "0006")
    generate, evaluation, fork = _configs(engine, "runs")
    assert "mix" not in generate and "mix" not in fork["generate"] and "mix" not in evaluation
    engine.dispose()


def test_a_stored_mix_is_kept(db_url: str) -> None:
    """A run stored with a mix (by the code before 0007 was applied) keeps the mix it ran with."""
    engine = make_engine(db_url)
    migrate(engine, "0006")
    config = GenerateConfig(n=5).model_dump(mode="json")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO runs (kind, status, seed, n_requested, config, versions) "
                "VALUES ('generate', 'finished', 1, 5, :config, '{}')"
            ),
            {"config": json.dumps(config)},
        )
    migrate(engine)
    assert _configs(engine, "runs") == [config]
    engine.dispose()


EVAL_BEHAVIOUR_COLUMNS = {"behaviour", "look_alike", "behaviour_passed", "twin_passed"}  # migration 0008


def test_evaluated_conversations_keep_their_metrics_across_0008(db_url: str) -> None:
    """Rows of an evaluation stored before 0008 become plain with no behaviour verdicts; the downgrade
    drops the new columns and the view and keeps every row."""
    from datamodel.behaviours import BehaviourMix
    from db.engine import session_factory
    from evaluation.runner import run_evaluation, start_evaluation

    engine = make_engine(db_url)
    migrate(engine)
    sessions = session_factory(engine)
    config = EvalConfig(model="offline", label="m", n=4, concurrency=1, mix=BehaviourMix(irrelevant=0.5))
    run_evaluation(sessions, start_evaluation(sessions, config))
    count = "SELECT COUNT(*) FROM eval_results"
    with engine.connect() as connection:
        behaviours = set(connection.execute(text("SELECT behaviour FROM eval_results")).scalars())
        assert connection.execute(text("SELECT SUM(n) FROM eval_behaviour_scores")).scalar() == 4
    assert "irrelevant" in behaviours

    downgrade(engine, "0007")
    assert not _columns(engine, "eval_results") & EVAL_BEHAVIOUR_COLUMNS
    assert "eval_behaviour_scores" not in inspect(engine).get_view_names()
    assert all("mix" not in c for c in _configs(engine, "runs") if c["kind"] == "eval")
    with engine.connect() as connection:
        assert connection.execute(text(count)).scalar() == 4

    migrate(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT behaviour, look_alike, behaviour_passed, twin_passed FROM eval_results")
        ).all()
    assert [(r.behaviour, bool(r.look_alike), r.behaviour_passed, r.twin_passed) for r in rows] == [
        ("plain", False, None, None)
    ] * 4
    engine.dispose()
