"""Forking a conversation of an evaluation: the fork re-simulates with the model under test and the
evaluation's episode settings (no sub-task hints, the idle limit), never with the offline assistant."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from openai_server import OpenAIServer
from typer.testing import CliRunner

from cli import app

runner = CliRunner()


def _button(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"OPENAI_API_KEY": "test-key"})
    return result.exit_code, result.output


def _system_prompts(server: OpenAIServer) -> list[str]:
    return [r["messages"][0]["content"] for r in server.requests if r.get("messages")]


def test_a_fork_of_an_eval_conversation_keeps_the_model_under_test_and_no_hints(
    tmp_path: Path, plain_server: OpenAIServer
) -> None:
    db = tmp_path / "eval.db"
    url = f"sqlite:///{db}"
    code, out = _button(
        "eval", "--model", "openai:scripted", "--base-url", plain_server.url, "--seed", "0", "--n", "2",
        "--max-idle", "3", "--no-cache", "--db", url,
    )  # fmt: skip
    assert code == 0, out
    asked_by_eval = len(plain_server.requests)
    code, out = _button("replay", "1", "--fork-at", "1", "--no-parallel", "--db", url)
    assert code == 0 and "accepted" in out, out
    assert len(plain_server.requests) > asked_by_eval  # the model under test played the fork
    assert not any("Private guidance" in p for p in _system_prompts(plain_server))
    with sqlite3.connect(db) as con:
        parent, model = con.execute(
            "SELECT forked_from_id, assistant_model FROM conversations WHERE id = 3"
        ).fetchone()
        (stored,) = con.execute("SELECT config FROM runs WHERE kind = 'fork'").fetchone()
    assert (parent, model) == (1, "openai:scripted")
    config = json.loads(stored)
    assert config["generate"]["roles"]["assistant"]["model"] == "openai:scripted"
    assert (config["hints"], config["max_idle"]) == (False, 3)
    code, out = _button("replay", "3", "--fork-at", "1", "--parallel", "--db", url)  # a fork of the fork
    assert code == 0, out
    assert not any("Private guidance" in p for p in _system_prompts(plain_server))
    with sqlite3.connect(db) as con:
        (stored,) = con.execute("SELECT config FROM runs WHERE kind = 'fork' ORDER BY id DESC").fetchone()
    assert (json.loads(stored)["hints"], json.loads(stored)["max_idle"]) == (False, 3)
