"""`button generate` with LLM roles against the scripted OpenAI-compatible server on loopback.

Outcomes only (no timings): under injected faults every task ends stored, finished or failed with a
reason, none lost or duplicated; a re-run is served from the cache; a budget stops a run cleanly and a
resume finishes it; the API key reaches the server but never the database or an export.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import N_TASKS
from openai_server import OpenAIServer
from typer.testing import CliRunner

from cli import app

runner = CliRunner()


def button(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def generate(db: Path, server: OpenAIServer, cache: Path | None, *extra: str) -> str:
    caching = ["--cache-dir", str(cache)] if cache is not None else ["--no-cache"]
    return button(
        "generate", "--n", str(N_TASKS), "--workers", "0", "--db", f"sqlite:///{db}",
        "--assistant-model", "openai:scripted", "--base-url", server.url, "--timeout", "1",
        *caching, *extra,
    )  # fmt: skip


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as con:
        return list(con.execute(sql))


def test_faulty_endpoint_loses_and_duplicates_nothing(tmp_path: Path, faulty_server: OpenAIServer) -> None:
    db = tmp_path / "run.db"
    out = generate(db, faulty_server, None, "--max-retries", "3")
    assert set(faulty_server.injected) == {"429", "500", "hang", "garbage", "bad_call"}
    assert rows(db, "SELECT COUNT(*), COUNT(DISTINCT task_id) FROM conversations") == [(N_TASKS, N_TASKS)]
    for termination, error in rows(db, "SELECT termination, error FROM conversations"):
        ended = termination in ("final_answer", "max_turns") or (termination == "error" and error)
        assert ended, (termination, error)
    assert rows(db, "SELECT status FROM runs") == [("finished",)]
    assert "LLM requests and tokens" in out and "openai:scripted" in out


def test_all_roles_native_calls_are_accepted(tmp_path: Path, llm_server: OpenAIServer) -> None:
    db = tmp_path / "run.db"
    generate(
        db, llm_server, None, "--user-model", "openai:scripted", "--tool-model", "openai:scripted",
        "--call-format", "native",
    )  # fmt: skip
    assert rows(db, "SELECT status, COUNT(*) FROM conversations GROUP BY status") == [("accepted", N_TASKS)]
    assistant = [r for r in llm_server.requests if "tools" in r]
    assert assistant and all("parallel_tool_calls" not in r for r in assistant)  # parallel on: server default
    models = rows(db, "SELECT DISTINCT user_model, assistant_model, tool_model FROM conversations")
    assert models == [("openai:scripted",) * 3]


def test_button_format_sends_no_tools(tmp_path: Path, llm_server: OpenAIServer) -> None:
    generate(tmp_path / "run.db", llm_server, None, "--no-parallel")
    assert llm_server.requests and all("tools" not in r for r in llm_server.requests)
    assert all("parallel_tool_calls" not in r for r in llm_server.requests)


def test_rerun_is_served_from_the_cache(tmp_path: Path, llm_server: OpenAIServer) -> None:
    cache = tmp_path / "cache"
    generate(tmp_path / "first.db", llm_server, cache)
    sent = len(llm_server.requests)
    out = generate(tmp_path / "second.db", llm_server, cache)
    assert len(llm_server.requests) == sent and sent > 0
    assert rows(tmp_path / "second.db", "SELECT COUNT(*) FROM conversations WHERE status = 'accepted'") == [
        (N_TASKS,)
    ]
    assert "cached" in out


def test_budget_stops_cleanly_and_resume_finishes(tmp_path: Path, llm_server: OpenAIServer) -> None:
    db = tmp_path / "run.db"
    out = generate(db, llm_server, None, "--concurrency", "1", "--budget-tokens", "7000")
    assert "budget reached" in out
    stored = rows(db, "SELECT COUNT(*) FROM conversations")[0][0]
    assert isinstance(stored, int) and 0 < stored < N_TASKS
    assert rows(db, "SELECT status FROM runs") == [("interrupted",)]
    # one request in flight: at most the episode that met the budget ends `budget` (none when the budget
    # ran out exactly between two episodes); every other stored one is whole
    cut = rows(db, "SELECT COUNT(*) FROM conversations WHERE termination = 'budget'")[0][0]
    assert cut in (0, 1)
    assert rows(
        db, "SELECT COUNT(*) FROM conversations WHERE termination NOT IN ('budget', 'final_answer')"
    ) == [(0,)]
    button("generate", "--resume", "1", "--db", f"sqlite:///{db}", "--no-cache")
    assert rows(db, "SELECT COUNT(*), COUNT(DISTINCT task_id) FROM conversations") == [(N_TASKS, N_TASKS)]
    assert rows(db, "SELECT status FROM runs") == [("finished",)]


def test_api_key_is_used_but_never_stored(
    tmp_path: Path, llm_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-test-5ecret-never-stored-0123456789"
    monkeypatch.setenv("BUTTON_TEST_KEY", secret)
    db = tmp_path / "run.db"
    generate(db, llm_server, tmp_path / "cache", "--api-key-env", "BUTTON_TEST_KEY")
    assert llm_server.auth and set(llm_server.auth) == {f"Bearer {secret}"}
    export = tmp_path / "out.jsonl"
    button("export", "--format", "button", "--all", "--db", f"sqlite:///{db}", "--out", str(export))
    for path in [db, export, *tmp_path.rglob("*")]:
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    config = json.loads(str(rows(db, "SELECT config FROM runs")[0][0]))
    assert config["roles"]["assistant"]["api_key_env"] == "BUTTON_TEST_KEY"
