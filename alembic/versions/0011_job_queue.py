"""The job queue of distributed runs, and which worker stored each conversation.

`conversations.worker` (both databases, nullable): the `button worker` (host:pid) that stored the
conversation; NULL when the run stored it itself on one machine.

On PostgreSQL only, procrastinate's own schema (its tables, types, functions and triggers, all named
`procrastinate_*`), read from the installed package through its public `App.schema_manager`, so the
queue exists wherever `button generate --distributed` and `button worker` meet: no separate step.
SQLite gets only the column (distributed runs refuse SQLite).

The downgrade drops the column and, on PostgreSQL, every table, function and type named
`procrastinate_*` in the current schema, tables first (CASCADE takes their triggers and indexes), found
in pg_catalog rather than listed here, so it removes whatever version of the schema was installed.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-20 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Names are quoted with quote_ident, not format('%I'), whose % the offline (--sql) script would double.
# `LIKE 'procrastinate\_%'` keeps to the queue's own objects; array types (`_procrastinate_...`) and a
# table's row type go with what they belong to.
DROP_QUEUE = r"""
DO $drop$
DECLARE
    item record;
BEGIN
    FOR item IN
        SELECT c.relname AS name FROM pg_class c
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
          AND c.relname LIKE 'procrastinate\_%'
    LOOP
        EXECUTE 'DROP TABLE IF EXISTS ' || quote_ident(item.name) || ' CASCADE';
    END LOOP;
    FOR item IN
        SELECT p.oid::regprocedure::text AS signature FROM pg_proc p
        WHERE p.pronamespace = current_schema()::regnamespace AND p.proname LIKE 'procrastinate\_%'
    LOOP
        EXECUTE 'DROP FUNCTION IF EXISTS ' || item.signature || ' CASCADE';
    END LOOP;
    FOR item IN
        SELECT t.typname AS name FROM pg_type t
        WHERE t.typnamespace = current_schema()::regnamespace AND t.typname LIKE 'procrastinate\_%'
          AND t.typtype IN ('e', 'c') AND (t.typrelid = 0 OR EXISTS (
              SELECT FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind = 'c'))
    LOOP
        EXECUTE 'DROP TYPE IF EXISTS ' || quote_ident(item.name) || ' CASCADE';
    END LOOP;
END
$drop$;
"""


def _queue_schema() -> str:
    """procrastinate's schema SQL for the installed version, through its public API (no connection is
    opened: the connector only names where it would connect)."""
    import procrastinate  # PostgreSQL only: SQLite databases never need the queue package

    app = procrastinate.App(connector=procrastinate.PsycopgConnector())
    return app.schema_manager.get_schema()


def upgrade() -> None:
    """Add `conversations.worker`; on PostgreSQL, create the queue's schema."""
    op.add_column("conversations", sa.Column("worker", sa.Text(), nullable=True))
    context = op.get_context()
    if context.dialect.name != "postgresql":
        return
    if context.as_sql:  # `alembic upgrade --sql`: the SQL as it is (text() would double every %)
        context.impl.static_output(_queue_schema())
    else:
        op.execute(sa.text(_queue_schema()))  # the driver turns text()'s %% back into %


def downgrade() -> None:
    """Drop `conversations.worker`; on PostgreSQL, every procrastinate_* table, function and type."""
    if op.get_context().dialect.name == "postgresql":
        op.execute(sa.text(DROP_QUEUE))
    op.drop_column("conversations", "worker")
