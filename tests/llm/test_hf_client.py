"""The local transformers client on tiny models built in the test (no downloads): a checkpoint folder
and a GGUF file, plain text out, usage counted, and a whole `button generate` with an `hf:` assistant."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from types import ModuleType

import pytest
from autogen_core import FunctionCall
from autogen_core.models import AssistantMessage, LLMMessage, SystemMessage, UserMessage
from conftest import N_TASKS  # noqa: F401  (puts this folder on sys.path first)
from typer.testing import CliRunner

from cli import app
from roles.hf_client import HFChatCompletionClient, loaded_model, to_chat
from tests.conftest import load_test_module


@pytest.fixture(scope="module")
def tiny_lm() -> ModuleType:
    return load_test_module("button_tests_tiny_lm", Path(__file__).parents[1] / "training" / "tiny_lm.py")


@pytest.fixture(scope="module")
def tiny_checkpoint(tiny_lm: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = [
        "Find who wrote a book.",
        '<call>[{"name": "f", "arguments": {}}]</call>',
        "<final>42</final>",
    ] * 20
    tokenizer = tiny_lm.build_tokenizer(corpus, tiny_lm.CHATML, vocab_size=400)
    return Path(tiny_lm.save_tiny_model(tokenizer, tmp_path_factory.mktemp("tiny-hf")))


def test_replies_with_text_and_counts_tokens(tiny_checkpoint: Path) -> None:
    client = HFChatCompletionClient.for_path(str(tiny_checkpoint), max_new_tokens=6)
    messages: list[LLMMessage] = [
        SystemMessage(content="Be brief."),
        UserMessage(content="Who wrote it?", source="u"),
    ]
    result = asyncio.run(client.create(messages))
    assert isinstance(result.content, str) and result.finish_reason == "stop"
    assert result.usage.prompt_tokens > 0 and 0 < result.usage.completion_tokens <= 6
    assert client.total_usage().prompt_tokens == result.usage.prompt_tokens
    assert loaded_model(str(tiny_checkpoint)) is loaded_model(str(tiny_checkpoint))  # loaded once


def test_native_calls_are_written_back_as_button_text() -> None:
    call = FunctionCall(id="c", name="f", arguments='{"a": 1}')
    chat = to_chat([AssistantMessage(content=[call], thought="Plan.", source="a")])
    assert chat == [
        {"role": "assistant", "content": 'Plan.\n<call>[{"name":"f","arguments":{"a":1}}]</call>'}
    ]


def test_gguf_file_loads(tiny_lm: ModuleType, tmp_path: Path) -> None:
    path = tiny_lm.write_tiny_gguf(tmp_path / "tiny.gguf")
    client = HFChatCompletionClient.for_path(str(path), max_new_tokens=3)
    result = asyncio.run(client.create([UserMessage(content="hi", source="u")]))
    assert isinstance(result.content, str) and result.usage.completion_tokens > 0


def test_generate_with_a_local_assistant_stores_every_conversation(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    db = tmp_path / "run.db"
    result = CliRunner().invoke(
        app,
        [
            "generate", "--n", "2", "--db", f"sqlite:///{db}", "--assistant-model", f"hf:{tiny_checkpoint}",
            "--max-tokens", "8", "--max-turns", "4", "--no-cache",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with sqlite3.connect(db) as con:
        stored = con.execute("SELECT COUNT(*), MIN(assistant_model) FROM conversations").fetchone()
        tokens = con.execute(
            "SELECT SUM(completion_tokens) FROM messages WHERE role = 'assistant'"
        ).fetchone()
    assert stored == (2, f"hf:{tiny_checkpoint}") and tokens[0] > 0


def test_a_cancelled_request_stops_generating(tiny_checkpoint: Path) -> None:
    """Ctrl-C cancels the awaiting task; the generating thread sees the flag and stops at the next token."""
    import threading

    client = HFChatCompletionClient.for_path(str(tiny_checkpoint), max_new_tokens=50, prefix_cache=False)
    chat = [{"role": "user", "content": "Find who wrote a book."}]
    cancelled = threading.Event()
    cancelled.set()
    assert client._generate(chat, [], cancelled) == ("", 0, 0)  # queued behind the lock: never starts
    encoded = client._loaded.tokenizer.apply_chat_template(
        chat, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    sequence = client._generate_locked(encoded, cancelled)  # started, then the flag: one token at most
    assert len(sequence) - encoded["input_ids"].shape[1] == 1
