"""The `button` CLI in-process, as a user runs it: generate, stats, show, export, sql, and bad input."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from datamodel.behaviours import Behaviour

runner = CliRunner()


def button(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cli") / "button.db"
    url = f"sqlite:///{path}"
    code, out = button("generate", "--n", "40", "--seed", "3", "--workers", "0", "--db", url)
    assert code == 0, out
    return url


def test_generate_prints_summary_tables(generated: str) -> None:
    code, out = button("stats", "--db", generated)
    assert code == 0, out
    for heading in (
        "Runs",
        "Tasks by strategy and depth",
        "Conversations by behaviour",
        "Conversations by verdict",
        "Turns and calls",
    ):
        assert heading in out
    assert "accepted" in out


def _table_rows(out: str, title: str) -> dict[str, list[int]]:
    """The rows of the Rich table printed under `title`: first cell, then the counts."""
    lines = out[out.index(title) :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("┡")) + 1
    rows: dict[str, list[int]] = {}
    for line in lines[start:]:
        if not line.startswith("│"):
            return rows
        label, *counts, _share = (cell.strip() for cell in line.strip("│").split("│"))
        rows[label] = [int(count) for count in counts]
    return rows


def _check_behaviour_mix(out: str, conversations: int) -> None:
    rows = _table_rows(out, "Conversations by behaviour")
    assert list(rows) == [*(b.value for b in Behaviour), "+ look-alikes"]
    assert sum(rows[b.value][0] for b in Behaviour) == conversations
    assert all(n == accepted + rejected for n, accepted, rejected in rows.values())


def test_stats_counts_conversations_by_behaviour(generated: str) -> None:
    code, out = button("stats", "--db", generated, "--run", "1")
    assert code == 0, out
    _check_behaviour_mix(out, 40)


def test_generate_prints_the_behaviour_mix_after_the_task_mix(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mix.db'}"
    code, out = button("generate", "--n", "6", "--seed", "5", "--workers", "0", "--db", url)
    assert code == 0, out
    tables = ("Tasks by strategy and depth", "Conversations by behaviour", "Conversations by verdict")
    assert [out.index(title) for title in tables] == sorted(out.index(title) for title in tables)
    _check_behaviour_mix(out, 6)


def test_every_offline_conversation_is_accepted(generated: str) -> None:
    code, out = button(
        "sql",
        "SELECT status, COUNT(*) AS n FROM conversations GROUP BY status",
        "--db",
        generated,
        "--format",
        "json",
    )
    assert code == 0, out
    assert json.loads(out) == [{"status": "accepted", "n": 40}]


def test_show_prints_turns_hints_and_checks(generated: str) -> None:
    code, out = button("show", "1", "--db", generated)
    assert code == 0, out
    assert "sub-task hints" in out and "checks" in out and "answer_correct" in out
    code, out = button("show", "999", "--db", generated)
    assert code == 1 and "conversation 999 does not exist" in out


def test_export_has_no_hints_and_button_format(generated: str, tmp_path: Path) -> None:
    out_file = tmp_path / "data.jsonl"
    code, out = button("export", "--format", "button", "--db", generated, "--out", str(out_file))
    assert code == 0, out
    records = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert len(records) == 40
    first = records[0]["messages"]
    assert [m["role"] for m in first[:2]] == ["system", "user"]
    assert "<tool>" in first[0]["content"] and "<call>" in first[0]["content"]
    assert any("<final>" in m["content"] for m in first if m["role"] == "assistant")
    tool_message = next(m for m in first if m["role"] == "tool")
    assert {"name", "arguments", "results"} <= set(json.loads(tool_message["content"])[0])


def test_sql_formats_and_refuses_writes(generated: str) -> None:
    code, out = button(
        "sql",
        "SELECT id, status FROM conversations ORDER BY id LIMIT 2",
        "--db",
        generated,
        "--format",
        "csv",
    )
    assert code == 0 and out.splitlines()[0] == "id,status"
    code, out = button("sql", "DELETE FROM conversations", "--db", generated)
    assert code == 1 and "read-only" in out
    code, out = button(
        "sql", "SELECT COUNT(*) AS n FROM conversations", "--db", generated, "--format", "json"
    )
    assert json.loads(out) == [{"n": 40}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "--n", "0"], "--n"),
        (["generate", "--n", "5", "--policy", "psychic"], "--policy"),
        (["generate", "--n", "5", "--db", "nosuchdb://x"], "error:"),
        (["generate", "--n", "5", "--db", "postgresql+psycopg://u@127.0.0.1:1/none"], "cannot reach"),
        (["generate", "--n", "5", "--db", "sqlite:////no/such/dir/x.db"], "error:"),
        (["export", "--format", "yaml", "--out", "x.jsonl"], "unknown export format"),
        (["generate", "--n", "5", "--mix", "clarify"], "--mix 'clarify': give key=value pairs"),
        (
            ["generate", "--n", "5", "--mix", "clarfy=0.1"],
            "--mix: unknown key 'clarfy'; the keys are clarify",
        ),
        (
            ["generate", "--n", "5", "--mix", "clarify=0.6,tool_error=0.6"],
            "invalid --mix: clarify + follow_up",
        ),
        (
            ["eval", "--model", "offline", "--from-run", "1", "--mix", "clarify=0.2"],
            "--mix draws offline-world",
        ),
        (["generate", "--n", "abc"], "invalid --n"),
        (["show", "abc"], "button show: Invalid value for 'conversation_id'"),
        (["show", "-1"], "button show: No such option: -1"),
        (["stats", "--bogus"], "button stats: No such option: --bogus"),
        (["nosuchcommand"], "No such command 'nosuchcommand'"),
    ],
)
def test_bad_input_gets_one_clear_line(args: list[str], message: str, tmp_path: Path) -> None:
    if "--db" not in args:
        args = [*args, "--db", f"sqlite:///{tmp_path / 'b.db'}"]
    code, out = button(*args)
    assert code != 0
    assert message in out and len(out.strip().splitlines()) == 1, out
    assert "Traceback" not in out


def test_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert button("db", "upgrade", "--db", url)[0] == 0
    with sqlite3.connect(tmp_path / "new.db") as con:
        con.execute("UPDATE alembic_version SET version_num = 'ffff_from_the_future'")
    code, out = button("stats", "--db", url)
    assert code == 1 and "newer" in out
    with sqlite3.connect(tmp_path / "new.db") as con:
        assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "ffff_from_the_future"


def test_resume_of_unknown_run_is_refused(tmp_path: Path) -> None:
    code, out = button("generate", "--resume", "77", "--db", f"sqlite:///{tmp_path / 'r.db'}")
    assert code == 1 and "run 77 does not exist" in out


def test_resume_names_the_flags_it_ignores_and_refuses_a_finished_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert button("generate", "--n", "4", "--seed", "5", "--workers", "0", "--db", url)[0] == 0
    code, out = button("generate", "--resume", "1", "--n", "9", "--db", url)
    assert code == 1 and "run 1 is finished" in out and len(out.strip().splitlines()) == 1, out
    with sqlite3.connect(tmp_path / "r.db") as con:  # as a Ctrl-C leaves it
        con.execute("UPDATE runs SET status = 'interrupted'")
    code, out = button("generate", "--resume", "1", "--n", "9", "--seed", "5", "--workers", "0", "--db", url)
    assert code == 0, out
    assert "ignored: --n 9 (stored: 4)" in out and "--seed" not in out.split("ignored:")[1].split("\n")[0]
    code, out = button("generate", "--resume", "1", "--workers", "0", "--db", url)
    assert "ignored" not in out


def test_a_run_that_would_repeat_a_stored_one_is_refused_and_export_writes_content_once(
    tmp_path: Path,
) -> None:
    """The README's order (make demo, then the tour) once stored seed 7's tasks twice and exported both."""
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert button("generate", "--n", "6", "--seed", "7", "--workers", "0", "--db", url)[0] == 0
    code, out = button("generate", "--n", "10", "--seed", "7", "--workers", "0", "--db", url)
    assert code == 1 and len(out.strip().splitlines()) == 1, out
    assert "run 1 in this database has these settings" in out and "--repeat" in out
    with sqlite3.connect(tmp_path / "d.db") as con:
        assert con.execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)
    assert button("generate", "--n", "10", "--seed", "8", "--workers", "0", "--db", url)[0] == 0
    code, out = button("generate", "--n", "6", "--seed", "7", "--repeat", "--workers", "0", "--db", url)
    assert code == 0, out

    out_file = tmp_path / "x.jsonl"
    code, out = button("export", "--out", str(out_file), "--db", url)
    assert code == 0 and "skipped 6 conversation(s) whose record repeats" in out, out
    lines = out_file.read_text().splitlines()
    assert len(lines) == 16 == len(set(lines))
    manifest = json.loads(out_file.with_name("x.jsonl.manifest.json").read_text())
    assert manifest["duplicates_skipped"] == 6
    code, out = button("export", "--out", str(out_file), "--duplicates", "--db", url)
    assert code == 0 and len(out_file.read_text().splitlines()) == 22, out
