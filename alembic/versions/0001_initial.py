"""Initial schema: runs, scenarios, atomic tasks, functions, tasks, conversations and their parts.

Drafted by autogenerate against an empty database, then reviewed: plain create_index (no batch needed to
create a table's indexes), and the `conversation_overview` view that people query by hand.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 04:37:28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OVERVIEW_VIEW = """
CREATE VIEW conversation_overview AS
SELECT c.id AS conversation_id, c.run_id, c.task_id, c.status, c.rejected_by, c.termination,
       t.strategy, t.n_subtasks, t.depth, t.instruction, c.n_turns, c.n_calls,
       c.final_answer, t.answer_text, c.assistant_model, c.created_at
FROM conversations AS c
JOIN tasks AS t ON t.id = c.task_id
"""


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True, astext_type=Text()), "postgresql"
    )


def _created_at() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
    )


def _create_bottom_up_tables() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("n_requested", sa.Integer(), nullable=False),
        sa.Column("config", _json(), nullable=False),
        sa.Column("versions", _json(), nullable=False),
        _created_at(),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_table(
        "functions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("parameters", _json(), nullable=False),
        sa.Column("responses", _json(), nullable=False),
        sa.Column("spec_hash", sa.String(length=64), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_functions")),
        sa.UniqueConstraint("spec_hash", name=op.f("uq_functions_spec_hash")),
    )
    op.create_index(op.f("ix_functions_name"), "functions", ["name"], unique=False)
    op.create_table(
        "scenarios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("domain", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenarios")),
        sa.UniqueConstraint("text", "domain", "source", name=op.f("uq_scenarios_text_domain_source")),
    )
    op.create_table(
        "atomic_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("instruction", sa.Text(), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["scenario_id"], ["scenarios.id"], name=op.f("fk_atomic_tasks_scenario_id_scenarios")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_atomic_tasks")),
        sa.UniqueConstraint("scenario_id", "instruction", name=op.f("uq_atomic_tasks_scenario_id_instruction")),
    )


def _create_task_tables() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("instruction", sa.Text(), nullable=False),
        sa.Column("strategy", sa.String(length=32), nullable=False),
        sa.Column("n_subtasks", sa.Integer(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("atomic_task_id", sa.Integer(), nullable=False),
        sa.Column("subtasks", _json(), nullable=False),
        sa.Column("reference", _json(), nullable=True),
        sa.Column("answer_text", sa.Text(), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["atomic_task_id"], ["atomic_tasks.id"], name=op.f("fk_tasks_atomic_task_id_atomic_tasks")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_tasks_run_id_runs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["scenario_id"], ["scenarios.id"], name=op.f("fk_tasks_scenario_id_scenarios")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("run_id", "idx", name=op.f("uq_tasks_run_id_idx")),
    )
    op.create_index(op.f("ix_tasks_run_id_strategy"), "tasks", ["run_id", "strategy"], unique=False)
    op.create_table(
        "task_functions",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("function_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["function_id"], ["functions.id"], name=op.f("fk_task_functions_function_id_functions")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_functions_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("task_id", "position", name=op.f("pk_task_functions")),
    )
    op.create_index(op.f("ix_task_functions_function_id"), "task_functions", ["function_id"], unique=False)


def _create_conversation_table() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rejected_by", sa.String(length=64), nullable=True),
        sa.Column("termination", sa.String(length=32), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("parallel", sa.Boolean(), nullable=False),
        sa.Column("n_turns", sa.Integer(), nullable=False),
        sa.Column("n_assistant_turns", sa.Integer(), nullable=False),
        sa.Column("n_calls", sa.Integer(), nullable=False),
        sa.Column("final_answer", sa.Text(), nullable=True),
        sa.Column("user_model", sa.Text(), nullable=True),
        sa.Column("assistant_model", sa.Text(), nullable=True),
        sa.Column("tool_model", sa.Text(), nullable=True),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_conversations_run_id_runs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_conversations_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("run_id", "task_id", name=op.f("uq_conversations_run_id_task_id")),
    )
    op.create_index(op.f("ix_conversations_run_id_status"), "conversations", ["run_id", "status"], unique=False)
    op.create_index(op.f("ix_conversations_task_id"), "conversations", ["task_id"], unique=False)


def _create_message_table() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("final_answer", sa.Text(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.Column("format_error", sa.Text(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("conversation_id", "idx", name=op.f("uq_messages_conversation_id_idx")),
    )


def _create_call_and_check_tables() -> None:
    op.create_table(
        "tool_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("result_message_id", sa.Integer(), nullable=True),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("result_idx", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("arguments", _json(), nullable=False),
        sa.Column("results", _json(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_tool_calls_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_tool_calls_message_id_messages"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["result_message_id"],
            ["messages.id"],
            name=op.f("fk_tool_calls_result_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tool_calls")),
    )
    op.create_index(op.f("ix_tool_calls_conversation_id_idx"), "tool_calls", ["conversation_id", "idx"])
    op.create_index(op.f("ix_tool_calls_message_id"), "tool_calls", ["message_id"])
    op.create_index(op.f("ix_tool_calls_result_message_id"), "tool_calls", ["result_message_id"])
    op.create_index(op.f("ix_tool_calls_name"), "tool_calls", ["name"])
    op.create_table(
        "checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("applicable", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_checks_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checks")),
        sa.UniqueConstraint("conversation_id", "idx", name=op.f("uq_checks_conversation_id_idx")),
    )
    op.create_index(op.f("ix_checks_name"), "checks", ["name"])


def upgrade() -> None:
    """Create every table, its indexes, and the overview view."""
    _create_bottom_up_tables()
    _create_task_tables()
    _create_conversation_table()
    _create_message_table()
    _create_call_and_check_tables()
    op.execute(OVERVIEW_VIEW)


def downgrade() -> None:
    """Drop the view and every table, children first (indexes go with their tables)."""
    op.execute("DROP VIEW IF EXISTS conversation_overview")
    for table in ("checks", "tool_calls", "messages", "conversations", "task_functions", "tasks",
                  "atomic_tasks", "scenarios", "functions", "runs"):
        op.drop_table(table)
