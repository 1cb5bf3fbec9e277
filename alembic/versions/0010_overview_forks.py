"""`conversation_overview` gains the fork columns, so a query by hand can keep or leave out forks.

`forked_from_id` (the parent conversation, NULL for one simulated from the start) and `fork_turn` (the
turn it was re-simulated from) come after the behaviour columns. Views only: no data moves.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 07:00:00
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A migration keeps its own copy of the view: later ones move on.
OVERVIEW_COLUMNS = """
SELECT c.id AS conversation_id, c.run_id, c.task_id, c.status, c.rejected_by, c.termination,
       t.strategy, t.n_subtasks, t.depth, t.behaviour, t.look_alike, {forks}t.instruction, c.n_turns,
       c.n_calls, c.final_answer, t.answer_text, c.assistant_model, c.created_at
FROM conversations AS c
JOIN tasks AS t ON t.id = c.task_id
"""
OVERVIEW_VIEW = "CREATE VIEW conversation_overview AS" + OVERVIEW_COLUMNS.format(
    forks="c.forked_from_id, c.fork_turn, "
)
OVERVIEW_VIEW_0009 = "CREATE VIEW conversation_overview AS" + OVERVIEW_COLUMNS.format(forks="")


def upgrade() -> None:
    """The view with `forked_from_id` and `fork_turn`."""
    op.execute("DROP VIEW conversation_overview")
    op.execute(OVERVIEW_VIEW)


def downgrade() -> None:
    """Back to 0009's view, without the fork columns."""
    op.execute("DROP VIEW conversation_overview")
    op.execute(OVERVIEW_VIEW_0009)
