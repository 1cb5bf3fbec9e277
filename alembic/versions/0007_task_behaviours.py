"""Task behaviours: what a conversation asks besides the right calls, stored with its task.

Adds `tasks.behaviour` (plain, clarify, follow_up, irrelevant, tool_error; indexed with `run_id`),
`tasks.look_alike` (whether the task offers near twins of a needed function) and
`tasks.behaviour_detail` (JSON: the withheld value, follow-up requests, tool fault and look-alike names
the simulation needs; NULL for a plain task without look-alikes). Existing tasks become plain.
`conversation_overview` gains `behaviour` and `look_alike`.

Every stored generate config (a generate run's, and the `generate` inside a fork's) without a `mix` gets
one with every share 0, so resuming or forking a run made before behaviours keeps making plain tasks
(new runs default to BehaviourMix's shares); the downgrade takes `mix` out again.

Plain ADD/DROP COLUMN on both databases (SQLite 3.35+ drops columns itself): no table copy, so nothing
cascades from `tasks` to the conversations.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-12 08:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OVERVIEW_COLUMNS = """
SELECT c.id AS conversation_id, c.run_id, c.task_id, c.status, c.rejected_by, c.termination,
       t.strategy, t.n_subtasks, t.depth, {behaviour}t.instruction, c.n_turns, c.n_calls,
       c.final_answer, t.answer_text, c.assistant_model, c.created_at
FROM conversations AS c
JOIN tasks AS t ON t.id = c.task_id
"""
OVERVIEW_VIEW = "CREATE VIEW conversation_overview AS" + OVERVIEW_COLUMNS.format(
    behaviour="t.behaviour, t.look_alike, "
)
OVERVIEW_VIEW_0006 = "CREATE VIEW conversation_overview AS" + OVERVIEW_COLUMNS.format(behaviour="")

# The mix of a run made before behaviours (a migration keeps its own copy: the models move on).
PLAIN_MIX = {"clarify": 0, "follow_up": 0, "irrelevant": 0, "tool_error": 0, "look_alike": 0}
_INDEX = "ix_tasks_run_id_behaviour"


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True, astext_type=Text()), "postgresql"
    )


def upgrade() -> None:
    """Add the behaviour columns and index, the view's two columns, and a plain mix to old configs."""
    op.add_column(
        "tasks", sa.Column("behaviour", sa.String(length=16), server_default="plain", nullable=False)
    )
    op.add_column("tasks", sa.Column("look_alike", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("tasks", sa.Column("behaviour_detail", _json(), nullable=True))
    op.create_index(op.f(_INDEX), "tasks", ["run_id", "behaviour"])
    op.execute("DROP VIEW conversation_overview")
    op.execute(OVERVIEW_VIEW)
    _rewrite_generate_configs(_with_plain_mix)


def downgrade() -> None:
    """Back to 0006: the view without the behaviour columns, the columns and index gone (every task's
    behaviour with them), and no `mix` in any stored generate config."""
    op.execute("DROP VIEW conversation_overview")
    op.execute(OVERVIEW_VIEW_0006)
    op.drop_index(op.f(_INDEX), table_name="tasks")
    for column in ("behaviour_detail", "look_alike", "behaviour"):
        op.drop_column("tasks", column)
    _rewrite_generate_configs(_without_mix)


def _with_plain_mix(generate: dict[str, Any]) -> dict[str, Any]:
    return generate if "mix" in generate else {**generate, "mix": dict(PLAIN_MIX)}


def _without_mix(generate: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in generate.items() if k != "mix"}


def _rewrite_generate_configs(change: Any) -> None:
    """Apply `change` to the generate settings of every generate and fork run, in Python (JSON is edited
    the same way on both databases; one row per run, not per conversation)."""
    runs = sa.table("runs", sa.column("id", sa.Integer), sa.column("kind", sa.Text), sa.column("config", _json()))
    connection = op.get_bind()
    query = sa.select(runs.c.id, runs.c.kind, runs.c.config).where(runs.c.kind.in_(("generate", "fork")))
    for run_id, kind, config in connection.execute(query).all():
        if not isinstance(config, dict):
            continue
        if kind == "generate":
            new = change(config)
        elif isinstance(config.get("generate"), dict):
            new = {**config, "generate": change(config["generate"])}
        else:
            continue
        if new != config:
            connection.execute(sa.update(runs).where(runs.c.id == run_id).values(config=new))
