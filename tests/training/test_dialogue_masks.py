"""Assistant-only loss on conversations that teach more than one request: every assistant turn (the
question, the calls, the retry after a failed call, the refusal, each final answer) carries loss, with its
end-of-turn token; no user or tool text does. On the exports `button train` reads (button, hermes, trl),
through a tiny ChatML and a tiny tool-aware Llama-3-style template, and through `prepare_examples`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from db.store import StoredConversation
from tests.conftest import load_test_module
from training.data import prepare_examples
from training.formats import FORMATS
from training.masks import IGNORE_INDEX, mask_conversation

dialogue = load_test_module("button_tests_dialogue_data", Path(__file__).with_name("dialogue_data.py"))
tiny = load_test_module("button_tests_tiny_lm", Path(__file__).with_name("tiny_lm.py"))

TRAINED_FORMATS = ("button", "hermes", "trl")


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict[str, Any]]]:
    """format → dialogue name → record, as read back from the export file."""
    stored: dict[str, StoredConversation] = dialogue.build_dialogue_db(tmp_path_factory.mktemp("masks"))
    return {
        fmt: {
            name: json.loads(json.dumps(FORMATS[fmt].render(c), ensure_ascii=False))
            for name, c in stored.items()
        }
        for fmt in TRAINED_FORMATS
    }


@pytest.fixture(scope="module")
def tokenizers(records: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    corpus = [json.dumps(r, ensure_ascii=False) for by_name in records.values() for r in by_name.values()]
    return {
        "chatml": tiny.build_tokenizer(corpus, tiny.CHATML, vocab_size=600),
        "llama3": tiny.build_tokenizer(corpus, tiny.LLAMA3_TOOLS, vocab_size=600),
    }


def _tools(record: dict[str, Any]) -> list[dict[str, Any]] | None:
    return json.loads(record["tools"]) if "tools" in record else None


def _llama3_output(message: dict[str, Any]) -> str:
    """What LLAMA3_TOOLS writes for an assistant message, after its header."""
    calls = "".join(
        f'{{"name": "{c["function"]["name"]}", "parameters": {json.dumps(c["function"]["arguments"])}}}'
        for c in message.get("tool_calls") or []
    )
    return message["content"] + calls + "<|eot_id|>"


def _spans_and_untrained(tokenizer: Any, masked: Any) -> tuple[list[str], str]:
    spans = [tokenizer.decode(masked.input_ids[s:e]) for s, e in masked.spans]
    untrained = [t for t, label in zip(masked.input_ids, masked.labels, strict=True) if label == IGNORE_INDEX]
    return spans, tokenizer.decode(untrained)


CASES = [
    ("chatml", "button"),
    ("chatml", "hermes"),
    ("llama3", "button"),
    ("llama3", "hermes"),
    ("llama3", "trl"),
]


@pytest.mark.parametrize(("template", "fmt"), CASES)
def test_every_assistant_turn_is_trained_and_nothing_else(
    template: str, fmt: str, records: dict[str, dict[str, dict[str, Any]]], tokenizers: dict[str, Any]
) -> None:
    tokenizer = tokenizers[template]
    for name, record in records[fmt].items():
        messages = record["messages"]
        masked = mask_conversation(tokenizer, messages, _tools(record))
        spans, untrained = _spans_and_untrained(tokenizer, masked)
        assistant = [m for m in messages if m["role"] == "assistant"]
        if template == "chatml":
            assert spans == [m["content"] + "<|im_end|>" for m in assistant], (fmt, name)
        else:
            assert spans == [_llama3_output(m) for m in assistant], (fmt, name)
        for message in messages:
            if message["role"] in ("user", "tool"):
                assert message["content"] in untrained, (fmt, name, message)
                assert not [s for s in spans if message["content"] in s], (fmt, name, message)


def test_realistic_dialogue_trains_its_question_retry_refusal_and_both_answers(
    records: dict[str, dict[str, dict[str, Any]]], tokenizers: dict[str, Any]
) -> None:
    tokenizer = tokenizers["llama3"]
    record = records["trl"]["realistic"]
    spans, _ = _spans_and_untrained(
        tokenizer, mask_conversation(tokenizer, record["messages"], _tools(record))
    )
    assert len(spans) == 7
    assert spans[0] == dialogue.QUESTION + "<|eot_id|>" and spans[4] == dialogue.REFUSAL + "<|eot_id|>"
    assert "did not come back" in spans[2] and '"get_publication_year"' in spans[2]
    assert spans[3].endswith("<final>Fitzgerald was 29 when The Great Gatsby came out.</final><|eot_id|>")
    assert spans[6].endswith("nine years later.</final><|eot_id|>")


@pytest.mark.parametrize("fmt", TRAINED_FORMATS)
def test_prepare_examples_keeps_every_dialogue_with_all_its_assistant_turns(
    fmt: str, records: dict[str, dict[str, dict[str, Any]]], tokenizers: dict[str, Any], tmp_path: Path
) -> None:
    data = tmp_path / f"{fmt}.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records[fmt].values()))
    tokenizer = tokenizers["llama3"]
    prepared = prepare_examples(data, tokenizer, max_length=4096)
    assert prepared.n_records == len(records[fmt]) == len(prepared.examples)
    assert prepared.n_dropped == prepared.n_truncated == 0
    for example, record in zip(prepared.examples, records[fmt].values(), strict=True):
        masked = mask_conversation(tokenizer, record["messages"], _tools(record))
        assert example["labels"] == masked.labels
        assert len(masked.spans) == sum(m["role"] == "assistant" for m in record["messages"])
