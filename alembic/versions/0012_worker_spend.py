"""What each worker of a distributed run has asked an endpoint for, so the run's budget sees requests.

`worker_spend` (both databases, like every table of db/models.py; only distributed runs write it): one
row per run and worker process (host:pid) with the prompt and completion tokens of every request it
made for the run, stored or not, rewritten about once a second. A run's spend is the sum of its rows.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_spend",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_worker_spend_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "worker", name=op.f("pk_worker_spend")),
    )


def downgrade() -> None:
    op.drop_table("worker_spend")
