"""Evaluation runs: a model played the Assistant over held-out tasks; its metrics per conversation.

Adds `eval_runs` (one per model evaluated: which model, how, from which training run, the held-out
check and the summary), `eval_results` (one row of metrics per evaluated conversation) and the view
`eval_scores`, the metrics per evaluation, strategy and number of sub-tasks, for comparing models in SQL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 07:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Rates as fractions; CASE keeps booleans portable (SQLite stores 0/1, PostgreSQL has a real boolean).
EVAL_SCORES = """
CREATE VIEW eval_scores AS
SELECT e.id AS eval_run_id, e.label, e.model, e.training_run_id, r.strategy, r.n_subtasks,
       COUNT(*) AS n,
       AVG(CASE WHEN r.success THEN 1.0 WHEN r.success IS NOT NULL THEN 0.0 END) AS success_rate,
       AVG(r.progress) AS progress_rate,
       SUM(r.valid_calls) * 1.0 / NULLIF(SUM(r.n_calls), 0) AS grounding,
       SUM(r.format_errors) * 1.0 / NULLIF(SUM(r.n_assistant_turns), 0) AS format_error_rate,
       AVG(r.n_turns * 1.0) AS mean_turns,
       SUM(r.parallel_turns) * 1.0 / NULLIF(SUM(r.call_turns), 0) AS parallel_use
FROM eval_runs e JOIN eval_results r ON r.eval_run_id = e.id
GROUP BY e.id, e.label, e.model, e.training_run_id, r.strategy, r.n_subtasks
"""


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True, astext_type=Text()), "postgresql"
    )


def upgrade() -> None:
    """Create eval_runs, eval_results and the eval_scores view."""
    op.create_table(
        "eval_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("call_format", sa.String(length=16), nullable=False),
        sa.Column("parallel", sa.Boolean(), nullable=False),
        sa.Column("training_run_id", sa.Integer(), nullable=True),
        sa.Column("task_source", _json(), nullable=False),
        sa.Column("held_out", _json(), nullable=False),
        sa.Column("summary", _json(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_eval_runs_run_id_runs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["training_run_id"],
            ["training_runs.id"],
            name=op.f("fk_eval_runs_training_run_id_training_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_runs")),
        sa.UniqueConstraint("run_id", name=op.f("uq_eval_runs_run_id")),
    )
    op.create_index(op.f("ix_eval_runs_training_run_id"), "eval_runs", ["training_run_id"])
    op.create_table(
        "eval_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("eval_run_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.String(length=32), nullable=False),
        sa.Column("n_subtasks", sa.Integer(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("required_steps", sa.Integer(), nullable=False),
        sa.Column("correct_steps", sa.Integer(), nullable=False),
        sa.Column("n_calls", sa.Integer(), nullable=False),
        sa.Column("valid_calls", sa.Integer(), nullable=False),
        sa.Column("n_assistant_turns", sa.Integer(), nullable=False),
        sa.Column("format_errors", sa.Integer(), nullable=False),
        sa.Column("n_turns", sa.Integer(), nullable=False),
        sa.Column("call_turns", sa.Integer(), nullable=False),
        sa.Column("parallel_turns", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("termination", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_eval_results_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["eval_run_id"], ["eval_runs.id"], name=op.f("fk_eval_results_eval_run_id_eval_runs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_eval_results_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_results")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_eval_results_conversation_id")),
    )
    op.create_index(
        op.f("ix_eval_results_eval_run_id_strategy_n_subtasks"),
        "eval_results",
        ["eval_run_id", "strategy", "n_subtasks"],
    )
    op.create_index(op.f("ix_eval_results_task_id"), "eval_results", ["task_id"])
    op.execute(EVAL_SCORES)


def downgrade() -> None:
    """Drop the view, then eval_results and eval_runs."""
    op.execute("DROP VIEW eval_scores")
    op.drop_index(op.f("ix_eval_results_task_id"), table_name="eval_results")
    op.drop_index(op.f("ix_eval_results_eval_run_id_strategy_n_subtasks"), table_name="eval_results")
    op.drop_table("eval_results")
    op.drop_index(op.f("ix_eval_runs_training_run_id"), table_name="eval_runs")
    op.drop_table("eval_runs")
