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
    assert set(queries) == {"behaviour_acceptance", "clarify_questions", "tool_errors_by_fault"}
    results = {}
    for name, sql in queries.items():
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
