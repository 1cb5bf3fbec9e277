"""`button replay --plain`, `--fork-at` and `button logs`, in-process on SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from cli import app

Scalar = Callable[[str, str], object]


def button(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})
    return result.exit_code, result.output


def test_plain_prints_task_turns_and_checks(generated: str) -> None:
    code, out = button("replay", "1", "--plain", "--db", generated)
    assert code == 0, out
    for text in ("conversation 1", "sub-task hints", "[0] user", "[1] assistant", "checks", "answer_correct"):
        assert text in out
    code, out = button("replay", "999", "--plain", "--db", generated)
    assert code == 1 and "conversation 999 does not exist" in out


def test_replay_into_a_pipe_prints_the_plain_view(generated: str) -> None:
    """A real process whose stdout is a pipe: the plain view, not the full-screen app waiting for keys."""
    done = subprocess.run(
        [sys.executable, "-m", "cli", "replay", "1", "--db", generated],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "80"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "conversation 1" in done.stdout and "answer_correct" in done.stdout


def test_fork_at_stores_a_sequential_branch(db_copy: str, parallel_id: int, scalar: Scalar) -> None:
    before = scalar(db_copy, "SELECT COUNT(*) FROM messages")
    code, out = button(
        "replay", str(parallel_id), "--fork-at", "1", "--policy", "sequential", "--db", db_copy
    )
    assert code == 0, out
    fork_id = scalar(db_copy, "SELECT MAX(id) FROM conversations")
    assert f"fork {fork_id} of conversation {parallel_id} from turn 1: accepted" in out
    n_turns = scalar(db_copy, f"SELECT n_turns FROM conversations WHERE id = {fork_id}")
    parent_turns = scalar(db_copy, f"SELECT n_turns FROM conversations WHERE id = {parallel_id}")
    assert isinstance(n_turns, int) and isinstance(parent_turns, int) and n_turns > parent_turns
    assert scalar(db_copy, "SELECT COUNT(*) FROM messages") == before + n_turns - 1  # type: ignore[operator]
    assert (
        scalar(
            db_copy, f"SELECT kind FROM runs r JOIN conversations c ON c.run_id = r.id WHERE c.id = {fork_id}"
        )
        == "fork"
    )

    code, out = button("replay", str(fork_id), "--plain", "--db", db_copy)
    assert code == 0, out
    assert f"shared with #{parallel_id}" in out and f"fork of #{parallel_id}: turn 0 shared" in out
    assert out.count("shared with #") == 1


def test_fork_errors_are_one_line(db_copy: str, parallel_id: int, scalar: Scalar) -> None:
    cases = [
        (["--fork-at", "99", "--policy", "sequential"], "out of range"),
        (["--fork-at", "1"], "needs one setting to change"),
        (["--policy", "sequential"], "give --fork-at K too"),
        (["--fork-at", "1", "--policy", "sequential", "--no-parallel"], "changes one setting"),
        (["--fork-at", "1", "--policy", "greedy"], "invalid --policy: Input should be 'plan'"),
    ]
    for extra, message in cases:
        code, out = button("replay", str(parallel_id), *extra, "--db", db_copy)
        assert code == 1 and message in out and "Traceback" not in out, (extra, out)


def test_forking_an_llm_task_with_the_offline_assistant_is_refused(db_copy: str, parallel_id: int) -> None:
    import sqlite3

    path = db_copy.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        connection.execute(
            "UPDATE tasks SET reference = NULL WHERE id = (SELECT task_id FROM conversations WHERE id = ?)",
            (parallel_id,),
        )
    code, out = button(
        "replay", str(parallel_id), "--fork-at", "1", "--policy", "sequential", "--db", db_copy
    )
    assert code == 1 and "no reference" in out and "--assistant-model" in out


def test_logs_lists_newest_first_in_80_columns(db_copy: str, parallel_id: int) -> None:
    button("replay", str(parallel_id), "--fork-at", "1", "--policy", "sequential", "--db", db_copy)
    code, out = button("logs", "--db", db_copy)
    assert code == 0, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert all(len(line) <= 80 for line in lines)
    assert lines[0].split()[:3] == ["id", "when", "status"]
    ids = [line.split()[0] for line in lines[2:]]
    assert len(ids) == 10 and ids[0] == f"17<{parallel_id}@1" and ids[1:3] == ["16", "15"]


def test_logs_filters_and_search(db_copy: str, parallel_id: int) -> None:
    button("replay", str(parallel_id), "--fork-at", "1", "--policy", "sequential", "--db", db_copy)
    code, out = button("logs", "--model", "offline-assistant-sequential", "--db", db_copy)
    assert code == 0 and "17<" in out and "\n16 " not in out
    code, out = button("logs", "--status", "rejected", "--db", db_copy)
    assert code == 0 and "no conversations match" in out
    code, out = button("logs", "--status", "maybe", "--db", db_copy)
    assert code == 1 and "invalid --status 'maybe'" in out
    code, out = button("logs", "--run", "1", "-n", "3", "--db", db_copy)
    assert [line.split()[0] for line in out.splitlines()[2:] if line.strip()] == ["16", "15", "14"]
    code, out = button("logs", "-q", "NO SUCH TEXT ANYWHERE", "--db", db_copy)
    assert "no conversations match" in out


def test_logs_search_any_case_and_json_with_full_fork_turns(
    db_copy: str, parallel_id: int, scalar: Scalar
) -> None:
    button("replay", str(parallel_id), "--fork-at", "1", "--policy", "sequential", "--db", db_copy)
    result = scalar(
        db_copy, f"SELECT content FROM messages WHERE conversation_id = {parallel_id} AND idx = 2"
    )
    name = json.loads(str(result))[0]["name"]
    code, out = button("logs", "-q", name.upper(), "-n", "0", "--json", "--db", db_copy)
    assert code == 0, out
    records = {r["id"]: r for r in json.loads(out)}
    assert parallel_id in records and 17 in records
    fork = records[17]
    assert fork["forked_from_id"] == parallel_id and fork["fork_turn"] == 1
    assert fork["turns"][0] == records[parallel_id]["turns"][0]
    assert [t["role"] for t in fork["turns"]][-1] == "assistant" and fork["status"] == "accepted"
    assert {c["name"] for c in fork["checks"]} >= {"answer_correct", "dependency_order"}


def test_a_fork_that_changes_nothing_says_so_and_is_exported_once(
    db_copy: str, scalar: Scalar, tmp_path: Path
) -> None:
    """A one-call-per-turn conversation forked sequentially re-simulates the same turns: the fork says so,
    and export writes that content once (or leaves forks out)."""
    sequential = scalar(
        db_copy,
        "SELECT c.id FROM conversations c WHERE NOT EXISTS (SELECT 1 FROM tool_calls t WHERE "
        "t.conversation_id = c.id GROUP BY t.message_id HAVING COUNT(*) > 1) ORDER BY c.id LIMIT 1",
    )
    code, out = button("replay", str(sequential), "--fork-at", "1", "--policy", "sequential", "--db", db_copy)
    assert code == 0 and "the change made no difference" in out, out
    forks = scalar(db_copy, "SELECT COUNT(*) FROM conversation_overview WHERE forked_from_id IS NOT NULL")
    assert forks == 1
    total = scalar(db_copy, "SELECT COUNT(*) FROM conversations WHERE status = 'accepted'")
    out_file = tmp_path / "all.jsonl"
    code, out = button("export", "--out", str(out_file), "--db", db_copy)
    assert code == 0 and "skipped 1 conversation(s)" in out, out
    assert len(out_file.read_text().splitlines()) == total - 1  # type: ignore[operator]
    code, out = button("export", "--out", str(out_file), "--no-forks", "--duplicates", "--db", db_copy)
    assert code == 0 and len(out_file.read_text().splitlines()) == total - 1, out  # type: ignore[operator]
