"""`button eval` of a model behind an OpenAI-compatible endpoint (the scripted server on loopback, which
plays the offline world's tasks correctly): both call formats reach every answer, with native calls
travelling as tool calls, and a re-run is served from the reply cache."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from openai_server import OpenAIServer
from typer.testing import CliRunner

from cli import app

runner = CliRunner()


def evaluate(db: Path, server: OpenAIServer, *extra: str) -> str:
    result = runner.invoke(
        app,
        [
            "eval", "--model", "openai:scripted", "--base-url", server.url, "--seed", "0", "--n", "4",
            "--db", f"sqlite:///{db}", *extra,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("call_format", ["button", "native"])
def test_an_endpoint_model_is_evaluated_in_either_call_format(
    tmp_path: Path, plain_server: OpenAIServer, call_format: str
) -> None:
    db = tmp_path / "eval.db"
    evaluate(db, plain_server, "--call-format", call_format, "--no-cache")
    with sqlite3.connect(db) as con:
        rows = list(
            con.execute("SELECT success, progress, format_errors, valid_calls = n_calls FROM eval_results")
        )
        assert rows == [(1, 1.0, 0, 1)] * 4
        (call_format_stored,) = con.execute("SELECT call_format FROM eval_runs").fetchone()
        assert call_format_stored == call_format
    tools_sent = [bool(r.get("tools")) for r in plain_server.requests]
    assert any(tools_sent) == (call_format == "native")


def test_a_second_evaluation_costs_no_request(tmp_path: Path, plain_server: OpenAIServer) -> None:
    cache = ["--cache-dir", str(tmp_path / "cache")]
    evaluate(tmp_path / "a.db", plain_server, *cache)
    first = len(plain_server.requests)
    evaluate(tmp_path / "b.db", plain_server, *cache)
    assert first > 0 and len(plain_server.requests) == first


def test_an_evaluation_with_behaviours_scores_each_by_its_check(
    tmp_path: Path, llm_server: OpenAIServer
) -> None:
    """Held-out tasks drawn with the generation mix (the tasks the scripted server plays): each row
    carries its behaviour and verdict, and the table gets a line per behaviour."""
    db = tmp_path / "eval.db"
    mix = "clarify=0.1,follow_up=0.15,irrelevant=0.05,tool_error=0.1,look_alike=0.3"
    out = evaluate(db, llm_server, "--n", "16", "--mix", mix, "--no-cache")
    with sqlite3.connect(db) as con:
        rows = list(
            con.execute("SELECT behaviour, behaviour_passed, look_alike, twin_passed FROM eval_results")
        )
        by_view = dict(con.execute("SELECT behaviour, SUM(n) FROM eval_behaviour_scores GROUP BY behaviour"))
    behaviours = {row[0] for row in rows}
    assert len(rows) == 16 and len(behaviours - {"plain"}) >= 2, behaviours
    for behaviour, passed, look_alike, twin in rows:
        assert passed == (None if behaviour == "plain" else 1), behaviour
        assert twin == (1 if look_alike else None)
    assert sum(by_view.values()) == 16
    shown = {"follow_up": "follow-up", "tool_error": "tool error"}
    assert "beh%" in out and all(shown.get(b, b) in out for b in behaviours)
