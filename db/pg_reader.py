"""`button sql` on PostgreSQL: the query runs as a role that can only read, and cannot leave it.

Migration 0009 creates the NOLOGIN role `button_reader_<database>` (SELECT on our tables, nothing else)
and two SECURITY DEFINER functions it owns, `button_sql_rows(query)` and `button_sql_run(query)`.
Here, in a read-only transaction that is always rolled back, the connection takes that role
(`SET LOCAL ROLE`) and hands the query text to one of the functions. A plain `SET ROLE` would not be
enough: a superuser session may switch back inside the same statement (`set_config('role', ...)`), but
inside a security-definer function PostgreSQL refuses any change of role or session authorization. So
COPY to a file, pg_reload_conf(), pg_terminate_backend(), strong locks and writes are refused by the
database, whoever connects.

The statement is first prepared (never executed) to learn its columns, so the rows come back through
`button_sql_rows` with their own types and names; a statement without columns goes to `button_sql_run`.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import pq
from psycopg import sql as pgsql

from db.errors import DatabaseError

__all__ = ["read_as_reader"]

# The reader is whoever owns the reading functions; it must be a plain role, member of nothing.
_READER = """
SELECT r.rolname, quote_ident(r.rolname), quote_ident(session_user),
       bool_and(p.prosecdef) AND count(*) = 2 AS wired,
       array_remove(ARRAY[
           CASE WHEN r.rolsuper THEN 'SUPERUSER' END, CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END,
           CASE WHEN r.rolcreatedb THEN 'CREATEDB' END, CASE WHEN r.rolreplication THEN 'REPLICATION' END,
           CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END,
           CASE WHEN EXISTS (SELECT FROM pg_auth_members m WHERE m.member = r.oid) THEN 'member of a role' END
       ], NULL) AS more
FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner
WHERE p.oid IN (to_regprocedure('button_sql_rows(text)'), to_regprocedure('button_sql_run(text)'))
GROUP BY r.oid, r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls
"""
_TYPE_NAMES = (
    "SELECT format_type(c.oid, c.mod) FROM unnest(%s::oid[], %s::int4[]) WITH ORDINALITY AS c(oid, mod, n) "
    "ORDER BY c.n"
)


def _reader(connection: psycopg.Connection[Any], where: str) -> tuple[str, str, str]:
    """The reader role, and it and the session user as SQL names (for the fixes we print); or a refusal
    saying how to set the reader up."""
    found = connection.execute(_READER).fetchall()
    if not found:
        raise DatabaseError(
            f"`button sql` reads PostgreSQL through a role that can only read, and {where} has none yet: "
            f"run `button db upgrade --db URL` once as the owner of the database"
        )
    if len(found) > 1 or not found[0][3]:
        raise DatabaseError(
            f"the functions button_sql_rows and button_sql_run on {where} are not as migration 0009 made "
            "them (both security definer, one owner); `button sql` will not run through them"
        )
    reader, reader_sql, user_sql, _wired, more = found[0]
    if more:
        raise DatabaseError(
            f"the role {reader_sql} that `button sql` reads through can do more than read "
            f"({', '.join(more)}); as a superuser make it a plain role (ALTER ROLE {reader_sql} NOSUPERUSER "
            f"NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS, and revoke its memberships)"
        )
    return str(reader), str(reader_sql), str(user_sql)


def _take_role(connection: psycopg.Connection[Any], reader: str, reader_sql: str, user_sql: str) -> None:
    try:
        connection.execute(pgsql.SQL("SET LOCAL ROLE {}").format(pgsql.Identifier(reader)))
    except psycopg.errors.InsufficientPrivilege as exc:
        raise DatabaseError(
            f"{user_sql} may not act as {reader_sql}, the role `button sql` reads through: as a superuser "
            f"run `GRANT {reader_sql} TO {user_sql}`, or connect as a member of {reader_sql}"
        ) from exc


def _describe(connection: psycopg.Connection[Any], query: str) -> list[tuple[str, int, int]]:
    """Name, type oid and type modifier of each column of the statement, which is prepared, not run.

    The extended protocol takes one statement only, so a second one after a `;` is refused here."""
    encoding = connection.info.encoding
    pgconn = connection.pgconn
    result = pgconn.prepare(b"", query.encode(encoding))
    if result.status == pq.ExecStatus.COMMAND_OK:
        result = pgconn.describe_prepared(b"")
    if result.status != pq.ExecStatus.COMMAND_OK:
        state = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
        message = (result.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or b"").decode(encoding)
        raise psycopg.errors.lookup(state or "XX000")(message or "the statement could not be prepared")
    return [
        ((result.fname(i) or b"?").decode(encoding), result.ftype(i), result.fmod(i))
        for i in range(result.nfields)
    ]


def read_as_reader(
    connection: psycopg.Connection[Any], query: str, where: str
) -> tuple[list[str], list[Any]]:
    """Run one statement as the reader role in the connection's open, read-only transaction.

    Refusals about the setup are DatabaseErrors worded with their fix; the query's own failures are
    psycopg errors, for the caller to word. `where` names the database (its URL, password masked)."""
    _take_role(connection, *_reader(connection, where))
    columns = _describe(connection, query)
    if not columns:
        connection.execute("SELECT button_sql_run(%s)", [query])
        return [], []
    types = connection.execute(
        _TYPE_NAMES, [[oid for _n, oid, _m in columns], [mod for _n, _o, mod in columns]]
    ).fetchall()
    for (name, _oid, _mod), (type_name,) in zip(columns, types, strict=True):
        if type_name == "void":  # a row type cannot hold it, so the rows could not come back
            raise DatabaseError(
                f"column {name!r} has no value to show (a function returning void); select a value instead"
            )
    # format_type's names are the server's own, quoted where needed; the query travels as a parameter.
    shape = pgsql.SQL(", ").join(
        pgsql.SQL("{} {}").format(pgsql.Identifier(f"c{i}"), pgsql.SQL(type_name))
        for i, (type_name,) in enumerate(types)
    )
    rows = connection.execute(pgsql.SQL("SELECT * FROM button_sql_rows(%s) AS t({})").format(shape), [query])
    return [name for name, _oid, _mod in columns], rows.fetchall()
