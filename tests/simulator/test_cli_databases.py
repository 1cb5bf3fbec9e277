"""The main job through the CLI on both databases: the same code on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

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
