"""A model trained on a native export is scored by `button eval`: its calls are read back.

A tiny model built here learns one exported conversation by heart (`button train`, constant learning
rate), in the `trl` export through a Qwen-style tool template and in the `hermes` export through plain
ChatML, then plays the Assistant on that conversation's task. It can only repeat its first turn when the
evaluation's prompt is the one it trained on (the template layout with `tools=`, or the Hermes layout),
and that turn's native `<tool_call>` text, generated and decoded by the local model client, must come
back as the call it trained on. And an evaluation told the training data (`--train-data`) asks for calls
in the format that data taught, unless --call-format says otherwise.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import app
from tests.conftest import load_test_module

tiny = load_test_module("button_tests_tiny_lm", Path(__file__).with_name("tiny_lm.py"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
runner = CliRunner()
PLAIN = "clarify=0,follow_up=0,irrelevant=0,tool_error=0,look_alike=0"
FIRST_CALLS = """
    SELECT tc.name, tc.arguments FROM tool_calls tc JOIN messages m ON m.id = tc.message_id
    JOIN conversations c ON c.id = m.conversation_id JOIN runs r ON r.id = c.run_id
    WHERE r.kind = ? AND m.idx = (SELECT MIN(idx) FROM messages WHERE conversation_id = c.id
                                  AND role = 'assistant') ORDER BY tc.idx"""


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """A model this small trains fastest on one thread; more only contend with whatever else runs."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def button(*args: Any) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def _tokenizer(data: Path, template: str) -> Any:
    """A tokenizer that learnt every text of the export, the calls and the tools included."""
    records = [json.loads(line) for line in data.read_text().splitlines()]
    texts = [json.dumps(record, ensure_ascii=False) for record in records]
    texts += [m.get("content") or "" for record in records for m in record["messages"]]
    return tiny.build_tokenizer(texts, template, vocab_size=1000)


@pytest.mark.parametrize(("fmt", "template"), [("trl", "QWEN_TOOLS"), ("hermes", "CHATML")])
def test_a_model_trained_on_a_native_export_has_its_calls_read_back(
    tmp_path: Path, fmt: str, template: str
) -> None:
    db, train_db = f"sqlite:///{tmp_path / 'button.db'}", f"sqlite:///{tmp_path / 'train.db'}"
    button("generate", "--n", 1, "--seed", 0, "--workers", 0, "--mix", PLAIN, "--db", db)
    data = tmp_path / f"{fmt}.jsonl"
    button("export", "--format", fmt, "--out", data, "--db", db)
    base = tiny.save_tiny_model(_tokenizer(data, getattr(tiny, template)), tmp_path / "base")
    button(
        "train", "--data", data, "--base-model", base, "--out", tmp_path / "trained", "--db", train_db,
        "--batch-size", 1, "--micro-batch", 1, "--max-length", 4096, "--max-steps", 100, "--lr", 1e-2,
        "--lr-scheduler-type", "constant", "--seed", 0,
    )  # fmt: skip
    # the training run is in another database, so the task it learnt may be played here (--from-run)
    button(
        "eval", "--model", f"hf:{tmp_path / 'trained'}", "--from-run", 1, "--n", 1, "--call-format", "native",
        "--max-tokens", 160, "--max-turns", 4, "--no-cache", "--db", db,
    )  # fmt: skip
    with sqlite3.connect(tmp_path / "button.db") as con:
        learnt = con.execute(FIRST_CALLS, ("generate",)).fetchall()
        played = con.execute(FIRST_CALLS, ("eval",)).fetchall()
        raw, error = con.execute(
            "SELECT raw, format_error FROM messages WHERE role = 'assistant' AND conversation_id = 2 "
            "ORDER BY idx LIMIT 1"
        ).fetchone()
        (valid_calls,) = con.execute("SELECT valid_calls FROM eval_results").fetchone()
    assert learnt and played == learnt, raw
    assert "<tool_call>" in raw and error is None
    assert valid_calls >= 1


def test_the_call_format_follows_the_training_data_unless_given(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'button.db'}"
    button("generate", "--n", 3, "--seed", 0, "--workers", 0, "--mix", PLAIN, "--db", db)
    for fmt in ("trl", "button"):
        button("export", "--format", fmt, "--out", tmp_path / f"{fmt}.jsonl", "--db", db)
    common = ["eval", "--model", "offline", "--n", 2, "--db", db]
    out = button(*common, "--train-data", tmp_path / "trl.jsonl")
    assert "calls asked for in the native format its training data taught" in out
    button(*common, "--train-data", tmp_path / "button.jsonl")
    button(*common, "--train-data", tmp_path / "trl.jsonl", "--call-format", "button")
    with sqlite3.connect(tmp_path / "button.db") as con:
        stored = con.execute("SELECT e.call_format, r.config FROM eval_runs e JOIN runs r ON r.id = e.run_id")
        formats = [(call_format, json.loads(config)["call_format"]) for call_format, config in stored]
    assert formats == [("native", "native"), ("button", "button"), ("button", "button")]
