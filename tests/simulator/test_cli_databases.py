"""The main job through the CLI on both databases: the same code on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

runner = CliRunner()


def _button(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_generate_query_and_export_on_each_database(db_url: str, tmp_path: Path) -> None:
    code, out = _button("generate", "--n", "12", "--seed", "21", "--workers", "0", "--db", db_url)
    assert code == 0, out
    code, out = _button(
        "sql",
        "SELECT status, COUNT(*) AS n FROM conversation_overview GROUP BY status",
        "--db",
        db_url,
        "--format",
        "json",
    )
    assert code == 0 and json.loads(out) == [{"status": "accepted", "n": 12}], out
    for write in ("DELETE FROM messages", "UPDATE runs SET seed = 0", "DROP TABLE checks"):
        code, out = _button("sql", write, "--db", db_url)
        assert code == 1 and "read-only" in out and "Traceback" not in out, out
    out_file = tmp_path / "export.jsonl"
    code, out = _button("export", "--format", "button", "--db", db_url, "--out", str(out_file))
    assert code == 0, out
    assert len(out_file.read_text().splitlines()) == 12
    code, out = _button("show", "1", "--db", db_url)
    assert code == 0 and "answer_correct" in out


READERS = (
    ("stats",),
    ("logs",),
    ("show", "1"),
    ("replay", "1"),
    ("stages",),
    ("evals",),
    ("export", "--format", "button", "--out", "unused.jsonl"),
)


def _tables(url: str) -> list[str]:
    from sqlalchemy import inspect

    from db.engine import make_engine

    if url.startswith("sqlite") and not Path(url.removeprefix("sqlite:///")).exists():
        return []
    engine = make_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_read_only_commands_create_and_migrate_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mistyped --db is an error, not a new empty database; an older schema is named, not upgraded."""
    from db.engine import current_revision, make_engine, migrate

    monkeypatch.chdir(tmp_path)
    for args in READERS:
        code, out = _button(*args, "--db", db_url)
        assert code == 1 and out.startswith("error:") and len(out.strip().splitlines()) == 1, (args, out)
        assert "Traceback" not in out
    assert _tables(db_url) == []

    engine = make_engine(db_url)
    migrate(engine, "0007")
    for args in READERS:
        code, out = _button(*args, "--db", db_url)
        assert code == 1 and "button db upgrade" in out and "0007" in out, (args, out)
    assert current_revision(engine) == "0007"
    engine.dispose()


def test_two_rows_in_the_version_table_are_one_line(db_url: str) -> None:
    from sqlalchemy import text

    from db.engine import head_revision, make_engine

    code, out = _button("generate", "--n", "2", "--workers", "0", "--db", db_url)
    assert code == 0, out
    engine = make_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0006')"))
    engine.dispose()
    for args in (("stats",), ("generate", "--n", "2", "--workers", "0"), ("db", "current")):
        code, out = _button(*args, "--db", db_url)
        assert code == 1 and len(out.strip().splitlines()) == 1, (args, out)
        assert f"holds 2 revisions (0006, {head_revision()})" in out, out
