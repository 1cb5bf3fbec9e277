"""Forking an offline conversation with an LLM assistant served on loopback (`--base-url`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from openai_server import OpenAIServer
from typer.testing import CliRunner

from cli import app

runner = CliRunner()


def _button(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"OPENAI_API_KEY": "test-key"})
    return result.exit_code, result.output


def test_fork_with_an_llm_assistant_at_a_given_endpoint(tmp_path: Path, llm_server: OpenAIServer) -> None:
    db = tmp_path / "fork.db"
    url = f"sqlite:///{db}"
    code, out = _button("generate", "--n", "3", "--seed", "0", "--workers", "0", "--db", url)
    assert code == 0, out
    code, out = _button(
        "replay",
        "2",
        "--fork-at",
        "1",
        "--assistant-model",
        "openai:scripted",
        "--base-url",
        llm_server.url,
        "--db",
        url,
    )
    assert code == 0 and "accepted" in out, out
    with sqlite3.connect(db) as con:
        parent, model = con.execute(
            "SELECT forked_from_id, assistant_model FROM conversations WHERE id = 4"
        ).fetchone()
    assert (parent, model) == (2, "openai:scripted")


def test_fork_at_an_unreachable_endpoint_is_rejected_with_its_reason(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'down.db'}"
    assert _button("generate", "--n", "2", "--seed", "0", "--workers", "0", "--db", url)[0] == 0
    code, out = _button(
        "replay",
        "1",
        "--fork-at",
        "1",
        "--assistant-model",
        "openai:scripted",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--db",
        url,
    )
    assert code == 0, out
    assert "rejected" in out and "cannot connect to" in out and "Traceback" not in out, out


def test_endpoint_options_need_a_changed_model(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert _button("generate", "--n", "2", "--seed", "0", "--workers", "0", "--db", url)[0] == 0
    code, out = _button("replay", "1", "--fork-at", "1", "--base-url", "http://127.0.0.1:9/v1", "--db", url)
    assert code == 1 and "go with a changed model" in out, out
