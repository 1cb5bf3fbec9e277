"""Bottom-up tables on SQLite and PostgreSQL: idempotent inserts, read-back, counts, cascade, migration."""

from __future__ import annotations

from sqlalchemy import delete, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from composition.seeds import EXAMPLE_SEEDS, load_seeds
from db import store
from db.engine import downgrade, make_engine, migrate
from db.models import Run, StageItem


def _run(sessions: sessionmaker[Session]) -> int:
    with sessions() as session, session.begin():
        return store.create_run(session, kind="generate", seed=0, n_requested=0, config={}, versions={})


def _record(key: str, status: str = "ok", **extra: object) -> store.StageRecord:
    return store.StageRecord(
        stage="atomic_task", key=key, position=int(key[1:]), input={"text": key}, output={"task": key},
        status=status, prompt_name="atomic_task", prompt_version=1, model="m", attempts=1,
        prompt_tokens=10, completion_tokens=5, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def test_seeds_store_once_and_read_back(sessions: sessionmaker[Session]) -> None:
    run_id = _run(sessions)
    seeds = load_seeds(EXAMPLE_SEEDS)
    with sessions() as session, session.begin():
        store.add_seed_conversations(session, run_id, seeds)
        store.add_seed_conversations(session, run_id, seeds)  # a repeat adds nothing
    with sessions() as session:
        assert store.load_seed_conversations(session, run_id) == seeds
        assert store.seed_counts(session) == [(run_id, 12)]


def test_stage_items_are_idempotent_by_run_stage_and_key(sessions: sessionmaker[Session]) -> None:
    run_id = _run(sessions)
    with sessions() as session, session.begin():
        store.add_stage_items(session, run_id, [_record("s0"), _record("s1", "failed", reason="bad JSON")])
    with sessions() as session, session.begin():
        store.add_stage_items(session, run_id, [_record("s1"), _record("s2", "rejected", reason="no")])
    with sessions() as session:
        items = store.load_stage_items(session, run_id, "atomic_task")
        assert [(i.key, i.status, i.reason) for i in items] == [
            ("s0", "ok", None),
            ("s1", "failed", "bad JSON"),  # the first record of a key stays
            ("s2", "rejected", "no"),
        ]
        assert items[0].output == {"task": "s0"} and items[0].created_at is not None
        counts = store.stage_counts(session, run_id)
    assert sorted(counts) == sorted(
        [
            (run_id, "atomic_task", "ok", 1, 15),
            (run_id, "atomic_task", "failed", 1, 15),
            (run_id, "atomic_task", "rejected", 1, 15),
        ]
    )


def test_unknown_status_is_refused(sessions: sessionmaker[Session]) -> None:
    run_id = _run(sessions)
    with sessions() as session:
        try:
            store.add_stage_items(session, run_id, [_record("s0", "maybe")])
        except ValueError as exc:
            assert "unknown stage status 'maybe'" in str(exc)
        else:
            raise AssertionError("a bad status was stored")


def test_deleting_a_run_deletes_its_stage_rows(sessions: sessionmaker[Session]) -> None:
    run_id = _run(sessions)
    with sessions() as session, session.begin():
        store.add_seed_conversations(session, run_id, load_seeds(EXAMPLE_SEEDS, limit=2))
        store.add_stage_items(session, run_id, [_record("s0")])
    with sessions() as session, session.begin():
        session.execute(delete(Run).where(Run.id == run_id))
    with sessions() as session:
        assert session.scalars(select(StageItem)).all() == []
        assert store.seed_counts(session) == []


def test_migration_0003_goes_down_and_up(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    assert {"seed_conversations", "stage_items"} <= set(inspect(engine).get_table_names())
    downgrade(engine, "0002")
    assert not {"seed_conversations", "stage_items"} & set(inspect(engine).get_table_names())
    migrate(engine)
    assert {"seed_conversations", "stage_items"} <= set(inspect(engine).get_table_names())
    engine.dispose()
