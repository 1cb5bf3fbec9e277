"""Assistant-only masks on stock templates: exactly the assistant output (content, calls, end-of-turn
token) carries loss, on SmolLM2's ChatML and on a tool-aware Llama-3-style template with other tokens."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import load_test_module
from training.masks import (
    IGNORE_INDEX,
    MaskError,
    _token_spans_by_prefix,
    assistant_char_spans,
    call_names,
    mask_conversation,
    render,
)

tiny = load_test_module("button_tests_tiny_lm", Path(__file__).with_name("tiny_lm.py"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[2]
SMOL_DIR = ROOT / ".models" / "smollm2"
SMOL_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

CALL = {"name": "get_weather", "arguments": {"city": "Valport"}}
BUTTON_CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": 'Tools:\n<tool>\n{"name": "get_weather"}\n</tool>'},
    {"role": "user", "content": "What is the weather in Valport?"},
    {"role": "assistant", "content": f"Plan: look it up.\n<call>[{json.dumps(CALL)}]</call>"},
    {"role": "tool", "content": json.dumps([{**CALL, "results": {"sky": "sunny"}}])},
    {"role": "assistant", "content": "All done.\n<final>It is sunny.</final>"},
]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
TRL_CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "You call functions."},
    {"role": "user", "content": "What is the weather in Valport?"},
    {
        "role": "assistant",
        "content": "Looking it up.",
        "tool_calls": [{"type": "function", "function": CALL}],
    },
    {"role": "tool", "name": "get_weather", "content": '{"sky": "sunny"}'},
    {"role": "assistant", "content": "It is sunny."},
]
NOT_TRAINED = ("system", "user", "tool")


@pytest.fixture(scope="session")
def smol_tokenizer() -> Any:
    """SmolLM2's own tokenizer and ChatML template: from the converted plain model when `make model` and a
    first `button train` made it, else from the GGUF file (slow); skipped without the file, except in CI."""
    from transformers import AutoTokenizer

    plain = SMOL_DIR.with_name("smollm2-plain")
    if (plain / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(plain)
    if not (SMOL_DIR / SMOL_GGUF).is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{SMOL_DIR / SMOL_GGUF} is missing; CI must run `make model` first")
        pytest.skip("SmolLM2 GGUF missing (make model)")
    return AutoTokenizer.from_pretrained(SMOL_DIR, gguf_file=SMOL_GGUF)


@pytest.fixture(scope="module")
def llama_tokenizer() -> Any:
    corpus = [render_plain(BUTTON_CONVERSATION), render_plain(TRL_CONVERSATION)] * 3
    return tiny.build_tokenizer(corpus, tiny.LLAMA3_TOOLS, vocab_size=400)


def render_plain(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("content")) + json.dumps(m.get("tool_calls")) for m in messages)


def trained_and_untrained(tokenizer: Any, masked: Any) -> tuple[list[str], str]:
    """The decoded text of each trained span, and the text of every untrained token, in order."""
    spans = [tokenizer.decode(masked.input_ids[s:e]) for s, e in masked.spans]
    untrained = [t for t, label in zip(masked.input_ids, masked.labels, strict=True) if label == IGNORE_INDEX]
    trained = [t for t, label in zip(masked.input_ids, masked.labels, strict=True) if label != IGNORE_INDEX]
    assert trained == [t for s, e in masked.spans for t in masked.input_ids[s:e]]
    return spans, tokenizer.decode(untrained)


def test_smollm2_chatml_trains_exactly_assistant_content_and_im_end(smol_tokenizer: Any) -> None:
    masked = mask_conversation(smol_tokenizer, BUTTON_CONVERSATION)
    spans, untrained = trained_and_untrained(smol_tokenizer, masked)
    assistant = [m["content"] for m in BUTTON_CONVERSATION if m["role"] == "assistant"]
    assert spans == [content + "<|im_end|>" for content in assistant]
    assert untrained.count("<|im_start|>assistant\n") == 2  # the header is the prompt's, not trained
    for message in BUTTON_CONVERSATION:
        if message["role"] in NOT_TRAINED:
            assert message["content"] in untrained
    assert smol_tokenizer.decode(masked.input_ids) == render(smol_tokenizer, BUTTON_CONVERSATION)


def test_smollm2_chatml_refuses_trl_rows_whose_calls_it_drops(smol_tokenizer: Any) -> None:
    with pytest.raises(MaskError, match=r"drops the calls of assistant message 2 \(get_weather"):
        mask_conversation(smol_tokenizer, TRL_CONVERSATION, TOOLS)


def test_llama3_style_template_trains_calls_and_eot_not_headers(llama_tokenizer: Any) -> None:
    masked = mask_conversation(llama_tokenizer, TRL_CONVERSATION, TOOLS)
    spans, untrained = trained_and_untrained(llama_tokenizer, masked)
    call_json = '{"name": "get_weather", "parameters": {"city": "Valport"}}'
    assert spans == ["Looking it up." + call_json + "<|eot_id|>", "It is sunny.<|eot_id|>"]
    assert untrained.count("<|start_header_id|>assistant<|end_header_id|>\n\n") == 2
    for message in TRL_CONVERSATION:
        if message["role"] in NOT_TRAINED:
            assert message["content"] in untrained
    assert '"get_weather"' in untrained.split("<|start_header_id|>user")[0]  # tools shown in the prompt


def test_llama3_style_template_masks_button_rows_too(llama_tokenizer: Any) -> None:
    masked = mask_conversation(llama_tokenizer, BUTTON_CONVERSATION)
    spans, _ = trained_and_untrained(llama_tokenizer, masked)
    assert spans == [m["content"] + "<|eot_id|>" for m in BUTTON_CONVERSATION if m["role"] == "assistant"]


def test_template_ignoring_tools_is_reported(llama_tokenizer: Any) -> None:
    template = tiny.LLAMA3_TOOLS.replace("{% if message['role'] == 'system' and tools %}", "{% if false %}")
    with pytest.raises(MaskError, match="does not show the `tools` column"):
        mask_with(llama_tokenizer, template, TRL_CONVERSATION, TOOLS)


def mask_with(tokenizer: Any, template: str, messages: list[dict[str, Any]], tools: Any = None) -> Any:
    original = tokenizer.chat_template
    tokenizer.chat_template = template
    try:
        return mask_conversation(tokenizer, messages, tools)
    finally:
        tokenizer.chat_template = original


def test_template_rewriting_earlier_turns_is_reported(llama_tokenizer: Any) -> None:
    template = tiny.CHATML.replace("message['content']", "(message['content'] if loop.last else '...')")
    with pytest.raises(MaskError, match=r"does not render conversations incrementally \(message 2"):
        mask_with(llama_tokenizer, template, BUTTON_CONVERSATION)


def test_turn_without_special_end_token_is_reported(llama_tokenizer: Any) -> None:
    template = tiny.CHATML.replace("'<|im_end|>'", "'END'")
    with pytest.raises(MaskError, match="without a special end-of-turn token"):
        mask_with(llama_tokenizer, template, BUTTON_CONVERSATION)


def test_header_glued_to_content_falls_back_to_character_offsets() -> None:
    # A tokenizer that learnt "assistantAll" as one token, and a template that glues header and content:
    # the prompt's tokens are no prefix of the conversation's, so character offsets place the span, and the
    # token straddling the boundary stays with the header, where it starts.
    template = tiny.CHATML.replace("message['role'] + '\n'", "message['role']").replace(
        "'<|im_start|>assistant\n'", "'<|im_start|>assistant'"
    )
    assert template.count("\n") == 1
    tokenizer = tiny.build_tokenizer(["userhi assistantAll done."] * 20, template, vocab_size=300)
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "All done."}]
    full, char_spans = assistant_char_spans(tokenizer, messages)
    ids = tokenizer(full, add_special_tokens=False)["input_ids"]
    assert _token_spans_by_prefix(tokenizer, ids, full, char_spans) is None
    masked = mask_conversation(tokenizer, messages)
    assert tokenizer.decode([t for t in masked.labels if t != IGNORE_INDEX]) == " done.<|im_end|>"


def test_call_names_reads_both_shapes() -> None:
    assert call_names(BUTTON_CONVERSATION[2]) == ["get_weather"]
    assert call_names(TRL_CONVERSATION[2]) == ["get_weather"]
    assert call_names({"role": "assistant", "content": "<call>not json</call>"}) == []
