"""A reader for `button sql` on PostgreSQL: a role that can only read this database's tables.

PostgreSQL only (SQLite opens the file read-only instead). Creates the NOLOGIN role
`button_reader_<database>` (one per database, so reading one button-sim database never grants another),
with USAGE on the schema and SELECT on every table and view in it, now and later (default privileges of
the role that migrates). Two SECURITY DEFINER functions owned by that role run a query as it:
`button_sql_rows(query)` for a statement that returns rows, `button_sql_run(query)` for one that does not.
Inside a security-definer function PostgreSQL refuses SET ROLE, RESET ROLE and SET SESSION
AUTHORIZATION (`set_config` included), so a query cannot get back the privileges of the session that
called it, even a superuser's; a plain `SET ROLE` could be undone by the query itself. No `SET
search_path` on the functions: the query resolves names as the caller does, and the definer has nothing
a planted object could abuse.

Creating the role needs CREATEROLE (or a superuser); a migrating role without it gets one error line
saying what an administrator runs first. The downgrade drops the functions and the grants, and the
role when nothing else on the server refers to it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-14 07:00:00
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Everything runs server-side (a DO block), so `alembic upgrade --sql` emits it as well; names are
# quoted with quote_ident, not format('%I'), whose % the offline script would double. `::name` clips a
# long database name the way PostgreSQL clips identifiers.
UPGRADE = r"""
DO $upgrade$
DECLARE
    reader name := ('button_reader_' || current_database())::name;
    r text := quote_ident(('button_reader_' || current_database())::name);
    me text := quote_ident(current_user);
    s text := quote_ident(current_schema());
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = reader) THEN
        BEGIN
            EXECUTE 'CREATE ROLE ' || r || ' NOLOGIN';
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE =
                '`button sql` reads through a role ' || r || ' that ' || me || ' may not create: as a '
                'superuser run `CREATE ROLE ' || r || ' NOLOGIN; GRANT ' || r || ' TO ' || me || '`, '
                'then run the command again';
        END;
    END IF;
    IF NOT pg_has_role(current_user, reader, 'MEMBER') THEN
        BEGIN
            EXECUTE 'GRANT ' || r || ' TO ' || me;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', MESSAGE =
                me || ' may not act as ' || r || ', the role `button sql` reads through: as a superuser '
                'run `GRANT ' || r || ' TO ' || me || '`, then run the command again';
        END;
    END IF;
    EXECUTE 'GRANT USAGE ON SCHEMA ' || s || ' TO ' || r;
    EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA ' || s || ' TO ' || r;
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA ' || s || ' GRANT SELECT ON TABLES TO ' || r;

    CREATE FUNCTION button_sql_rows(query text) RETURNS SETOF record
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER
        AS $body$ BEGIN RETURN QUERY EXECUTE query; END $body$;
    CREATE FUNCTION button_sql_run(query text) RETURNS void
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER
        AS $body$ BEGIN EXECUTE query; END $body$;
    REVOKE ALL ON FUNCTION button_sql_rows(text), button_sql_run(text) FROM PUBLIC;
    EXECUTE 'GRANT EXECUTE ON FUNCTION button_sql_rows(text), button_sql_run(text) TO ' || r;
    -- A new owner needs CREATE on the schema; the reader holds it only while it takes the functions.
    EXECUTE 'GRANT CREATE ON SCHEMA ' || s || ' TO ' || r;
    EXECUTE 'ALTER FUNCTION button_sql_rows(text) OWNER TO ' || r;
    EXECUTE 'ALTER FUNCTION button_sql_run(text) OWNER TO ' || r;
    EXECUTE 'REVOKE CREATE ON SCHEMA ' || s || ' FROM ' || r;
END
$upgrade$
"""

DOWNGRADE = r"""
DO $downgrade$
DECLARE
    reader name := (SELECT pg_get_userbyid(proowner) FROM pg_proc
                    WHERE oid = to_regprocedure('button_sql_rows(text)'));
    r text := quote_ident(reader);
    s text := quote_ident(current_schema());
BEGIN
    DROP FUNCTION IF EXISTS button_sql_rows(text);
    DROP FUNCTION IF EXISTS button_sql_run(text);
    IF reader IS NULL THEN
        RETURN;
    END IF;
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA ' || s || ' REVOKE SELECT ON TABLES FROM ' || r;
    EXECUTE 'REVOKE SELECT ON ALL TABLES IN SCHEMA ' || s || ' FROM ' || r;
    EXECUTE 'REVOKE USAGE ON SCHEMA ' || s || ' FROM ' || r;
    IF NOT EXISTS (SELECT FROM pg_shdepend d JOIN pg_roles o ON d.refobjid = o.oid
                   WHERE d.refclassid = 'pg_authid'::regclass AND o.rolname = reader) THEN
        BEGIN
            EXECUTE 'DROP ROLE ' || r;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE USING MESSAGE = 'role ' || r || ' kept: ' || current_user || ' may not drop roles';
        END;
    END IF;
END
$downgrade$
"""


def upgrade() -> None:
    """Create the reader role, its grants and the two functions that run a query as it."""
    if op.get_context().dialect.name == "postgresql":
        op.execute(UPGRADE)


def downgrade() -> None:
    """Back to 0008: no functions, no grants, and no role unless something else still uses it."""
    if op.get_context().dialect.name == "postgresql":
        op.execute(DOWNGRADE)
