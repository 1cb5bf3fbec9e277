"""docs/schema.md's checked queries, read out of the doc by their markers and run as `button sql` runs
them, on SQLite and PostgreSQL, so the examples stay true."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

from datamodel.behaviours import Behaviour
from db.readonly import run_readonly_query

SCHEMA_DOC = Path(__file__).parents[2] / "docs" / "schema.md"
EVAL_QUERIES = {"eval_behaviours", "wrong_refusals"}
# <!-- checked: NAME --> (every database) or <!-- checked: NAME sqlite|postgresql -->, then a ```sql block
MARKED_QUERY = re.compile(r"<!-- checked: (\w+)(?: (sqlite|postgresql))? -->\n```sql\n(.*?)```", re.DOTALL)


def documented_queries(dialect: str) -> dict[str, str]:
    """The doc's checked queries for this database, by name."""
    doc = SCHEMA_DOC.read_text()
    found = MARKED_QUERY.findall(doc)
    assert len(found) == doc.count("<!-- checked:"), "a marker not followed by a ```sql block"
    return {name: sql for name, only, sql in found if only in ("", dialect)}


def _cell(value: Any) -> Any:
    """A cell as both databases agree on it: booleans and 0/1 alike, numerics as floats."""
    return value if isinstance(value, str | None) else float(value)


def test_behaviour_queries_give_what_the_doc_says(
    db_url: str, behaviour_runs: Any, samples: ModuleType
) -> None:
    queries = documented_queries("postgresql" if db_url.startswith("postgresql") else "sqlite")
    names = {"behaviour_acceptance", "clarify_questions", "tool_errors_by_fault"}
    assert names | EVAL_QUERIES <= set(queries)
    results = {}
    for name in names:
        sql = queries[name]
        _columns, rows = run_readonly_query(db_url, sql)
        results[name] = [tuple(_cell(cell) for cell in row) for row in rows]
    assert results["behaviour_acceptance"] == [
        ("clarify", 0, 1, 1),
        ("follow_up", 0, 1, 0),
        ("irrelevant", 0, 1, 1),
        ("plain", 0, 3, 1),  # two in the first run, one in the second
        ("plain", 1, 1, 1),
        ("tool_error", 0, 1, 0),
        ("tool_error", 1, 1, 1),
    ]
    clarify = samples.behaviour_task(Behaviour.CLARIFY)
    assert results["clarify_questions"] == [(4, "accepted", clarify.instruction, samples.CLARIFY_QUESTION)]
    assert results["tool_errors_by_fault"] == [("transient", "retry", 1, 0), ("typo", "correct", 1, 1)]


def test_evaluation_queries_give_what_the_doc_says(db_url: str) -> None:
    """An evaluation with behaviours (the offline reference assistant, which handles every one), then one
    refusal turned into a call to a function, as a model that does not refuse would have it."""
    from sqlalchemy import text

    from datamodel.behaviours import BehaviourMix
    from datamodel.run_config import EvalConfig
    from db.engine import ensure_schema, make_engine, session_factory
    from evaluation.runner import run_evaluation, start_evaluation

    engine = make_engine(db_url)
    ensure_schema(engine)
    sessions = session_factory(engine)
    mix = BehaviourMix(clarify=0.3, follow_up=0, irrelevant=0.4, tool_error=0, look_alike=1)
    report = run_evaluation(
        sessions, start_evaluation(sessions, EvalConfig(model="offline", label="m", n=12, mix=mix))
    )
    reason = "turn 1 calls get_weather: nothing should have been called"
    with engine.begin() as connection:
        wrong = connection.execute(
            text("SELECT MIN(conversation_id) FROM eval_results WHERE behaviour = 'irrelevant'")
        ).scalar_one()
        connection.execute(
            text("UPDATE eval_results SET behaviour_passed = :no WHERE conversation_id = :id"),
            {"no": False, "id": wrong},
        )
        connection.execute(
            text(
                "UPDATE checks SET passed = :no, reason = :why WHERE conversation_id = :id AND name = :name"
            ),
            {"no": False, "why": reason, "id": wrong, "name": "refused_irrelevant"},
        )
    engine.dispose()
    queries = documented_queries("postgresql" if db_url.startswith("postgresql") else "sqlite")
    _columns, rows = run_readonly_query(db_url, queries["wrong_refusals"])
    assert [tuple(row) for row in rows] == [(wrong, 0, reason)]
    _columns, rows = run_readonly_query(db_url, queries["eval_behaviours"])
    shown = {(row[1], bool(row[2])): tuple(_cell(cell) for cell in row[3:]) for row in rows}
    groups = report.breakdowns["behaviour"]
    irrelevant = shown[("irrelevant", False)]
    assert irrelevant[0] == groups["irrelevant"].n and irrelevant[1] is None  # nothing to answer
    assert irrelevant[2] == round(1 - 1 / irrelevant[0], 3)  # the one turned into a call
    assert sum(row[0] for row in shown.values()) == 12
    with_twins = [row for (behaviour, looked), row in shown.items() if looked]
    assert with_twins and all(row[3] == 1.0 for row in with_twins)


def test_every_documented_query_runs_on_both_databases(db_url: str) -> None:
    """Every ```sql block of docs/schema.md is marked, and each runs for its database on a store with a
    generate run, a fork and an evaluation (PostgreSQL refuses e.g. round(double precision, integer) at
    planning time, whatever the rows)."""
    from typer.testing import CliRunner

    from cli import app

    doc = SCHEMA_DOC.read_text()
    assert doc.count("```sql") == doc.count("<!-- checked:"), "an example query without a checked marker"
    found = MARKED_QUERY.findall(doc)
    for dialect in ("sqlite", "postgresql"):  # a query written for one database has its twin for the other
        other = "postgresql" if dialect == "sqlite" else "sqlite"
        assert {n for n, only, _ in found if only == dialect} == {n for n, only, _ in found if only == other}
    runner = CliRunner()
    for args in (
        ("generate", "--n", "12", "--seed", "4", "--workers", "0"),
        ("replay", "1", "--fork-at", "1", "--policy", "sequential"),
        ("eval", "--model", "offline", "--label", "m", "--n", "4"),
    ):
        result = runner.invoke(app, [*args, "--db", db_url])
        assert result.exit_code == 0, result.output
    queries = documented_queries("postgresql" if db_url.startswith("postgresql") else "sqlite")
    for name, sql in queries.items():
        try:
            run_readonly_query(db_url, sql)
        except Exception as exc:  # noqa: BLE001  (name the query that failed)
            raise AssertionError(
                f"docs/schema.md query {name!r} fails on {db_url.split(':')[0]}: {exc}"
            ) from exc
