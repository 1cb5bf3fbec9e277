"""`button sql` on PostgreSQL with a superuser URL: the database refuses everything but reading.

Each attack runs on the throw-away cluster, connected as its superuser, and each check afterwards looks
at the server itself: no file written, configuration not reloaded, no lock held, the other backend alive,
no row changed, and the query never got its session's privileges back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, make_url, text
from typer.testing import CliRunner

from cli import app
from db.engine import DatabaseError, downgrade, ensure_schema, make_engine, migrate
from db.readonly import run_readonly_query

pytestmark = pytest.mark.postgresql


def _reader(url: str) -> str:
    return f"button_reader_{make_url(url).database}"


def _conninfo(url: str) -> str:
    parsed = make_url(url)
    return f"host={parsed.host} port={parsed.port} user={parsed.username} dbname={parsed.database}"


def _refused(url: str, query: str) -> str:
    with pytest.raises(DatabaseError) as caught:
        run_readonly_query(url, query)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.fixture
def store(pg_url: str) -> Iterator[Engine]:
    """The superuser's database, migrated, with one run in it."""
    engine = make_engine(pg_url)
    ensure_schema(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO runs (kind, status, seed, n_requested, config, versions) "
                "VALUES ('generate', 'finished', 1, 1, '{}', '{}')"
            )
        )
    yield engine
    engine.dispose()


@pytest.fixture
def victim(pg_url: str) -> Iterator[psycopg.Connection[Any]]:
    """Another session on the same database (as a running `button generate` would hold)."""
    with psycopg.connect(_conninfo(pg_url), autocommit=True) as connection:
        yield connection


def _runs(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT id, status, seed FROM runs ORDER BY id")).all())


def test_without_the_reader_a_superuser_session_could_do_it(
    pg_url: str, pg_cluster: Any, store: Engine, victim: psycopg.Connection[Any]
) -> None:
    """Why the functions: the same server lets the superuser write a file, and a plain SET ROLE is
    undone by the query itself, in one statement."""
    target = pg_cluster.root / f"control-{uuid.uuid4().hex}.csv"
    with psycopg.connect(_conninfo(pg_url)) as connection:
        connection.execute(f"COPY (SELECT 1) TO '{target}'")
        connection.rollback()
        assert target.exists()
        target.unlink()
        connection.execute(f'SET LOCAL ROLE "{_reader(pg_url)}"')
        escaped = connection.execute(
            "SELECT set_config('role', session_user, true), pg_terminate_backend(%s)",
            [victim.info.backend_pid],
        ).fetchone()
        assert escaped is not None and escaped[1] is True
        connection.rollback()
    with pytest.raises(psycopg.OperationalError):
        victim.execute("SELECT 1")


def test_copy_to_a_server_file_is_refused(pg_url: str, pg_cluster: Any, store: Engine) -> None:
    target = pg_cluster.root / "stolen.csv"
    for query in (
        f"COPY (SELECT * FROM runs) TO '{target}'",
        f"COPY runs TO '{target}'",
        f"SELECT lo_export(lo_from_bytea(0, 'x'), '{target}')",
        f"DO $$BEGIN RESET ROLE; COPY runs TO '{target}'; END$$",
    ):
        message = _refused(pg_url, query)
        assert "may only read" in message or "read-only" in message, message
        assert not target.exists()


def test_the_configuration_is_not_reloaded(pg_url: str, store: Engine) -> None:
    def loaded_at() -> Any:
        with psycopg.connect(_conninfo(pg_url)) as connection:
            row = connection.execute("SELECT pg_conf_load_time()").fetchone()
            assert row is not None
            return row[0]

    before = loaded_at()
    for query in (
        "SELECT pg_reload_conf()",
        "SELECT set_config('role', session_user, true), "
        "query_to_xml('SELECT pg_reload_conf()', true, false, '')",
        "DO $$BEGIN RESET ROLE; PERFORM pg_reload_conf(); END$$",
    ):
        message = _refused(pg_url, query)
        assert "permission denied for function pg_reload_conf" in message or "role" in message, message
    assert loaded_at() == before


def test_no_lock_is_taken_or_left(pg_url: str, store: Engine) -> None:
    for query in (
        "LOCK TABLE runs",
        "LOCK TABLE runs IN SHARE MODE",
        "SELECT set_config('role', session_user, true), query_to_xml('LOCK TABLE runs', true, false, '')",
    ):
        _refused(pg_url, query)
    with psycopg.connect(_conninfo(pg_url)) as connection:
        held = connection.execute(
            "SELECT count(*) FROM pg_locks WHERE relation = 'runs'::regclass AND pid <> pg_backend_pid()"
        ).fetchone()
        assert held == (0,)
        connection.execute("LOCK TABLE runs IN ACCESS EXCLUSIVE MODE NOWAIT")  # nobody else holds it


def test_another_backend_is_not_terminated(
    pg_url: str, store: Engine, victim: psycopg.Connection[Any]
) -> None:
    pid = victim.info.backend_pid
    for query in (
        f"SELECT pg_terminate_backend({pid})",
        f"SELECT pg_cancel_backend({pid})",
        f"SELECT set_config('role', session_user, true), pg_terminate_backend({pid})",
        f"SELECT set_config('session_authorization', session_user, true), pg_terminate_backend({pid})",
    ):
        _refused(pg_url, query)
    assert victim.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize(
    "query",
    [
        "INSERT INTO runs (kind, status, seed, n_requested, config, versions) "
        "VALUES ('x', 'running', 1, 1, '{}', '{}')",
        "UPDATE runs SET status = 'failed'",
        "RESET ROLE",
        "SET ROLE postgres",
        "SET SESSION AUTHORIZATION postgres",
        "SET TRANSACTION READ WRITE",
        "SELECT set_config('role', session_user, true)",
        "SELECT set_config('transaction_read_only', 'off', true)",
        "DO $$BEGIN RESET ROLE; UPDATE runs SET status = 'failed'; END$$",
        "SELECT 1; RESET ROLE",
        "SELECT 1; UPDATE runs SET status = 'failed'",
    ],
)
def test_writes_and_role_escapes_are_refused(pg_url: str, store: Engine, query: str) -> None:
    before = _runs(store)
    _refused(pg_url, query.replace("postgres", make_url(pg_url).username or "postgres"))
    assert _runs(store) == before


def test_reading_keeps_its_types_names_and_empty_results(pg_url: str, store: Engine) -> None:
    columns, rows = run_readonly_query(
        pg_url, "SELECT id, id AS id, config, created_at::date AS day, 1.5::numeric(4,2) AS x FROM runs"
    )
    assert columns == ["id", "id", "config", "day", "x"]
    assert [type(value).__name__ for value in rows[0]] == ["int", "int", "dict", "date", "Decimal"]
    assert run_readonly_query(pg_url, "SELECT status FROM runs WHERE false") == (["status"], [])
    assert run_readonly_query(pg_url, "SHOW transaction_read_only") == (["transaction_read_only"], [("on",)])
    assert run_readonly_query(pg_url, "SELECT current_user")[1] == [(_reader(pg_url),)]
    assert "no value to show" in _refused(pg_url, "SELECT pg_sleep(0)")


def test_tables_made_after_the_migration_are_readable(pg_url: str, store: Engine) -> None:
    with store.begin() as connection:
        connection.execute(text("CREATE TABLE later_table (x integer)"))
        connection.execute(text("INSERT INTO later_table VALUES (7)"))
    assert run_readonly_query(pg_url, "SELECT x FROM later_table") == (["x"], [(7,)])


def test_a_connection_that_cannot_take_the_reader_is_told_the_grant(pg_url: str, store: Engine) -> None:
    user = f"bob_{uuid.uuid4().hex[:8]}"
    with store.begin() as connection:
        connection.execute(text(f"CREATE ROLE {user} LOGIN"))
    bob_url = make_url(pg_url).set(username=user).render_as_string(hide_password=False)
    message = _refused(bob_url, "SELECT count(*) FROM runs")
    grant = f"GRANT {_reader(pg_url)} TO {user}"
    assert grant in message, message
    with store.begin() as connection:
        connection.execute(text(grant))
    assert run_readonly_query(bob_url, "SELECT count(*) AS n FROM runs") == (["n"], [(1,)])
    _refused(bob_url, f"SELECT set_config('role', '{user}', true)")


def test_a_reader_that_could_do_more_is_refused(pg_url: str, store: Engine) -> None:
    with store.begin() as connection:
        connection.execute(text(f'ALTER ROLE "{_reader(pg_url)}" SUPERUSER'))
    message = _refused(pg_url, "SELECT 1")
    assert "can do more than read (SUPERUSER)" in message and "NOSUPERUSER" in message
    with store.begin() as connection:
        connection.execute(text(f'ALTER ROLE "{_reader(pg_url)}" NOSUPERUSER'))
    assert run_readonly_query(pg_url, "SELECT 1 AS one") == (["one"], [(1,)])


def test_before_0009_button_sql_says_to_upgrade_and_the_downgrade_drops_the_role(
    pg_url: str, store: Engine
) -> None:
    def role_exists() -> bool:
        with store.connect() as connection:
            found = connection.execute(
                text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": _reader(pg_url)}
            )
            return found.first() is not None

    assert role_exists()
    downgrade(store, "0008")
    assert not role_exists()
    assert "run `button db upgrade --db URL`" in _refused(pg_url, "SELECT 1")
    migrate(store)
    assert role_exists() and run_readonly_query(pg_url, "SELECT 1 AS one") == (["one"], [(1,)])


def test_an_owner_without_createrole_gets_the_statements_to_ask_for(pg_cluster: Any, pg_url: str) -> None:
    """A plain database owner cannot create the role; the migration stops with the administrator's fix,
    and goes through once the role exists and the owner may act as it."""
    owner = f"alice_{uuid.uuid4().hex[:8]}"
    dbname = make_url(pg_url).database
    with psycopg.connect(pg_cluster.conninfo(), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {owner} LOGIN")
        admin.execute(f'ALTER DATABASE "{dbname}" OWNER TO {owner}')
    owner_url = make_url(pg_url).set(username=owner).render_as_string(hide_password=False)
    engine = make_engine(owner_url)
    reader = _reader(pg_url)
    with pytest.raises(DatabaseError) as caught:
        ensure_schema(engine)
    assert f"CREATE ROLE {reader} NOLOGIN; GRANT {reader} TO {owner}" in str(caught.value)
    with psycopg.connect(pg_cluster.conninfo(), autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {reader} NOLOGIN")
        admin.execute(f"GRANT {reader} TO {owner}")
    ensure_schema(engine)
    engine.dispose()
    assert run_readonly_query(owner_url, "SELECT count(*) AS n FROM runs") == (["n"], [(0,)])
    _refused(owner_url, f"SELECT set_config('role', '{owner}', true)")
    _refused(owner_url, "DELETE FROM runs")


def test_the_cli_prints_one_error_line(pg_url: str, pg_cluster: Any, store: Engine) -> None:
    target = pg_cluster.root / "cli-stolen.csv"
    result = CliRunner().invoke(app, ["sql", f"COPY runs TO '{target}'", "--db", pg_url])
    assert result.exit_code == 1 and not target.exists()
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "may only read" in lines[0], result.output
