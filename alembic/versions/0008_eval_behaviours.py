"""Evaluation by behaviour: each evaluated conversation's behaviour and how its checks went.

Adds to `eval_results` the task's `behaviour` and `look_alike` (copied, like `strategy`, so a breakdown
needs no join) and `behaviour_passed` / `twin_passed` (the behaviour's own check and right_twin; NULL
where the check does not apply). Rows of earlier evaluations become plain, without look-alikes, with
both NULL: their tasks were plain. A new view, `eval_behaviour_scores`, has the rates per evaluation,
behaviour and look-alike flag.

Every stored eval config without a `mix` gets the all-plain one its tasks were drawn with; the
downgrade takes it out again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 06:30:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Rates as fractions; CASE keeps booleans portable (SQLite stores 0/1, PostgreSQL has a real boolean),
# and a NULL (check not applicable, no reference answer) counts neither way.
EVAL_BEHAVIOUR_SCORES = """
CREATE VIEW eval_behaviour_scores AS
SELECT e.id AS eval_run_id, e.label, e.model, e.training_run_id, r.behaviour, r.look_alike,
       COUNT(*) AS n,
       AVG(CASE WHEN r.success THEN 1.0 WHEN r.success IS NOT NULL THEN 0.0 END) AS success_rate,
       AVG(r.progress) AS progress_rate,
       AVG(CASE WHEN r.behaviour_passed THEN 1.0 WHEN r.behaviour_passed IS NOT NULL THEN 0.0 END)
           AS behaviour_rate,
       AVG(CASE WHEN r.twin_passed THEN 1.0 WHEN r.twin_passed IS NOT NULL THEN 0.0 END) AS twin_rate
FROM eval_runs e JOIN eval_results r ON r.eval_run_id = e.id
GROUP BY e.id, e.label, e.model, e.training_run_id, r.behaviour, r.look_alike
"""

# The mix of an evaluation made before behaviours (a migration keeps its own copy: the models move on).
PLAIN_MIX = {"clarify": 0, "follow_up": 0, "irrelevant": 0, "tool_error": 0, "look_alike": 0}
_COLUMNS = ("twin_passed", "behaviour_passed", "look_alike", "behaviour")


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True, astext_type=Text()), "postgresql"
    )


def upgrade() -> None:
    """Add the four columns and the view; give old eval configs their plain mix."""
    op.add_column(
        "eval_results", sa.Column("behaviour", sa.String(length=16), server_default="plain", nullable=False)
    )
    op.add_column(
        "eval_results", sa.Column("look_alike", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("eval_results", sa.Column("behaviour_passed", sa.Boolean(), nullable=True))
    op.add_column("eval_results", sa.Column("twin_passed", sa.Boolean(), nullable=True))
    op.execute(EVAL_BEHAVIOUR_SCORES)
    _rewrite_eval_configs(lambda config: config if "mix" in config else {**config, "mix": dict(PLAIN_MIX)})


def downgrade() -> None:
    """Back to 0007: the view and the columns gone, and no `mix` in any stored eval config."""
    op.execute("DROP VIEW eval_behaviour_scores")
    for column in _COLUMNS:
        op.drop_column("eval_results", column)
    _rewrite_eval_configs(lambda config: {k: v for k, v in config.items() if k != "mix"})


def _rewrite_eval_configs(change: Any) -> None:
    """Apply `change` to the config of every eval run, in Python (JSON is edited the same way on both
    databases; one row per run)."""
    runs = sa.table("runs", sa.column("id", sa.Integer), sa.column("kind", sa.Text), sa.column("config", _json()))
    connection = op.get_bind()
    query = sa.select(runs.c.id, runs.c.config).where(runs.c.kind == "eval")
    for run_id, config in connection.execute(query).all():
        if isinstance(config, dict) and (new := change(config)) != config:
            connection.execute(sa.update(runs).where(runs.c.id == run_id).values(config=new))
