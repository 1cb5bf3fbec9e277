"""Forks: a conversation may continue another one from turn K, sharing its first K turns (stored once).

Adds `conversations.forked_from_id` and `conversations.fork_turn`, and the `conversation_messages` view:
every conversation's full turn list (the prefix from its ancestors, then its own rows), for people who
query by hand. The view's recursive CTE runs unchanged on SQLite and PostgreSQL.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 09:00:00
"""

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# lineage: for each conversation, every conversation whose rows it shows, and below which turn index
# (NULL: all of them); the bound is the smallest fork turn on the way up, so a fork of a fork works too.
CONVERSATION_MESSAGES = """
CREATE VIEW conversation_messages AS
WITH RECURSIVE lineage(conversation_id, source_id, below) AS (
    SELECT id, id, CAST(NULL AS INTEGER) FROM conversations
    UNION ALL
    SELECT l.conversation_id, c.forked_from_id,
           CASE WHEN l.below IS NULL OR c.fork_turn < l.below THEN c.fork_turn ELSE l.below END
    FROM lineage l JOIN conversations c ON c.id = l.source_id
    WHERE c.forked_from_id IS NOT NULL
)
SELECT l.conversation_id, m.idx, m.role, m.content, m.final_answer, m.format_error,
       m.prompt_tokens, m.completion_tokens, m.latency_ms, m.model,
       m.conversation_id AS stored_in, m.id AS message_id,
       CASE WHEN m.conversation_id = l.conversation_id THEN 0 ELSE 1 END AS shared
FROM lineage l JOIN messages m ON m.conversation_id = l.source_id
WHERE l.below IS NULL OR m.idx < l.below
"""


_FK = "fk_conversations_forked_from_id_conversations"
_CHILDREN = ("messages", "tool_calls", "checks")  # in restore order: calls reference messages


def upgrade() -> None:
    """Add the fork columns, their index and the conversation_messages view."""
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_copy_conversations(_add_fork_columns)
    else:
        _add_fork_columns(op)
    op.create_index(op.f("ix_conversations_forked_from_id"), "conversations", ["forked_from_id"])
    op.execute(CONVERSATION_MESSAGES)


def downgrade() -> None:
    """Drop the view, the index and the fork columns (a fork then becomes a plain conversation
    missing its shared prefix: delete forks first if that matters)."""
    op.execute("DROP VIEW IF EXISTS conversation_messages")
    op.drop_index(op.f("ix_conversations_forked_from_id"), table_name="conversations")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_copy_conversations(_drop_fork_columns)
    else:
        _drop_fork_columns(op)


def _add_fork_columns(target: Any) -> None:
    columns = (sa.Column("forked_from_id", sa.Integer(), nullable=True), sa.Column("fork_turn", sa.Integer()))
    if isinstance(target, BatchOperations):
        for column in columns:
            target.add_column(column)
        target.create_foreign_key(_FK, "conversations", ["forked_from_id"], ["id"], ondelete="CASCADE")
        return
    for column in columns:
        target.add_column("conversations", column)
    target.create_foreign_key(
        _FK, "conversations", "conversations", ["forked_from_id"], ["id"], ondelete="CASCADE"
    )


def _drop_fork_columns(target: Any) -> None:
    if isinstance(target, BatchOperations):
        target.drop_constraint(_FK, type_="foreignkey")
        target.drop_column("fork_turn")
        target.drop_column("forked_from_id")
    else:
        target.drop_constraint(_FK, "conversations", type_="foreignkey")
        target.drop_column("conversations", "fork_turn")
        target.drop_column("conversations", "forked_from_id")


def _sqlite_copy_conversations(change: Callable[[Any], None]) -> None:
    """SQLite changes a table's references only by copying the table (Alembic's batch mode), and with
    foreign keys on (they cannot be switched off inside the migration's transaction) dropping the old
    copy would cascade to every message, call and check: keep those aside and put them back. The
    overview view names the table, so it is recreated around the copy."""
    overview = (
        op.get_bind()
        .exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = 'conversation_overview'"
        )
        .scalar_one()
    )
    op.execute("DROP VIEW conversation_overview")
    for table in _CHILDREN:
        op.execute(f"CREATE TEMP TABLE keep_{table} AS SELECT * FROM {table}")
    with op.batch_alter_table("conversations", recreate="always") as batch:
        change(batch)
    for table in _CHILDREN:
        op.execute(f"DELETE FROM {table}")
        op.execute(f"INSERT INTO {table} SELECT * FROM keep_{table}")
        op.execute(f"DROP TABLE keep_{table}")
    op.execute(overview)
