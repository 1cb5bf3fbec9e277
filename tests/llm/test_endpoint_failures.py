"""Endpoints that fail for good: the run says what failed (where, and the server's own reason) and exits
non-zero when nothing could be simulated; each conversation is stored with that cause. A body that is not
UTF-8 is a malformed reply, retried like garbage JSON."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from openai_server import Reply, completion, serve
from typer.testing import CliRunner
from world_policy import WorldPolicy

from cli import app
from composition.seeds import EXAMPLE_SEEDS


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _generate(db: Path, base_url: str, *extra: str) -> tuple[int, str]:
    return _invoke(
        "generate", "--n", "3", "--workers", "0", "--db", f"sqlite:///{db}", "--no-cache",
        "--assistant-model", "openai:scripted", "--base-url", base_url, "--timeout", "2",
        "--max-retries", "0", *extra,
    )  # fmt: skip


def _errors(db: Path) -> list[str]:
    with sqlite3.connect(db) as con:
        return [e for (e,) in con.execute("SELECT error FROM conversations ORDER BY id")]


def _refusing(status: int, message: str) -> Any:
    body = json.dumps({"error": {"message": message}}).encode()
    return lambda _request: Reply(raw=(status, "application/json", body))


@pytest.mark.parametrize(
    ("status", "message"),
    [(401, "Incorrect API key provided"), (404, "The model scripted does not exist")],
)
def test_an_endpoint_that_refuses_every_request_is_named_and_the_run_fails(
    tmp_path: Path, status: int, message: str
) -> None:
    db = tmp_path / "run.db"
    with serve(_refusing(status, message)) as server:
        code, out = _generate(db, server.url)
    assert code == 1, out
    line = out.strip().splitlines()[-1]
    assert line.startswith("error: run 1: nothing could be simulated") and f"HTTP {status}" in line, out
    assert message in line and server.url in line
    errors = _errors(db)
    assert len(errors) == 3 and all(f"HTTP {status}" in e and message in e for e in errors)


def test_a_dead_endpoint_says_where_the_connection_was_refused(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    code, out = _generate(db, "http://127.0.0.1:9/v1")
    assert code == 1 and "cannot connect to http://127.0.0.1:9/v1/chat/completions" in out, out
    assert all("cannot connect to http://127.0.0.1:9" in e for e in _errors(db))


def test_the_bottom_up_stages_name_the_failure_not_an_exception_group(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    roles = [f"--{r}-model" for r in ("composer", "judge", "assistant", "tool")]
    models = [arg for role in roles for arg in (role, "openai:x")]
    code, out = _invoke(
        "generate", "--source", "llm", "--seeds", str(EXAMPLE_SEEDS), *models, "--n", "2",
        "--base-url", "http://127.0.0.1:9/v1", "--no-cache", "--timeout", "2", "--max-retries", "0",
        "--db", f"sqlite:///{db}",
    )  # fmt: skip
    assert code == 1 and "cannot connect to http://127.0.0.1:9/v1/chat/completions" in out, out
    assert "ExceptionGroup" not in out


def test_a_body_that_is_not_utf8_is_retried_as_a_malformed_reply(
    tmp_path: Path, world_policy: WorldPolicy
) -> None:
    seen: set[str] = set()

    def first_garbled(request: dict[str, Any]) -> Reply:
        key = repr(request.get("messages"))
        if key not in seen:  # each request's first try: bytes that are not UTF-8
            seen.add(key)
            return Reply(raw=(200, "application/json", b'{"id": "\xff\xfe\xfa garbled'))
        return world_policy(request)

    db = tmp_path / "run.db"
    with serve(first_garbled) as server:
        code, out = _generate(db, server.url)
    assert code == 0, out
    assert not any(_errors(db)), _errors(db)


@pytest.mark.parametrize("both", [True, False], ids=["function_call-and-tool_calls", "function_call-only"])
def test_legacy_function_call_replies_are_read_as_tool_calls(
    tmp_path: Path, world_policy: WorldPolicy, both: bool
) -> None:
    """llama.cpp's server sends the deprecated `function_call` beside `tool_calls`; older servers send it
    alone. autogen-ext refuses either; the client reads them as the tool calls they are."""

    def legacy(request: dict[str, Any]) -> Reply:
        reply = world_policy(request)
        if not reply.tool_calls:
            return reply
        body = completion(request, reply)
        message = body["choices"][0]["message"]
        _id, name, arguments = reply.tool_calls[0]
        message["function_call"] = {"name": name, "arguments": arguments}
        if not both:
            del message["tool_calls"]
            message["function_call"] = {"name": name, "arguments": arguments}
        return Reply(raw=(200, "application/json", json.dumps(body).encode()))

    db = tmp_path / "run.db"
    with serve(legacy) as server:
        code, out = _generate(db, server.url, "--call-format", "native", "--no-parallel")
    assert code == 0, out
    assert not any(_errors(db)), _errors(db)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM tool_calls").fetchone()[0] > 0
