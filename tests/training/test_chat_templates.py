"""Exported records rendered through real chat templates keep every call and every result.

SmolLM2's own ChatML template (read from its GGUF: only the tokenizer is loaded) renders the text formats,
`button` and `hermes`; a tool-aware template written here renders `trl` records the way TRL's
SFTTrainer does, through `apply_chat_template(messages, tools=...)`, with native `tool_calls`. Each
rendered conversation is split back into turns and parsed: it must give exactly the stored dialogue
(user messages, assistant text, calls with their name and arguments, results, final answers), in order,
with arguments rendered once as JSON objects, never as strings.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from datamodel.button_format import ParsedCall
from db import store
from db.store import StoredConversation
from tests.conftest import load_test_module
from training.formats import FORMATS, ParsedExchange, expected_exchanges
from training.formats.common import add_results, assistant_exchange

data = load_test_module("button_tests_export_data", Path(__file__).with_name("export_data.py"))

MODEL_DIR = Path(__file__).parents[2] / ".models" / "smollm2"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_TURN = re.compile(r"<\|im_start\|>(\w+)\n(.*?)<\|im_end\|>", re.DOTALL)
_CALL = re.compile(r"<tool_call>\n(.*?)\n</tool_call>", re.DOTALL)
_RESPONSE = re.compile(r"<tool_response>\n(.*?)\n</tool_response>", re.DOTALL)

# ChatML with native tools: the functions listed from `tools`, each call as <tool_call> JSON (arguments
# through `tojson`, so a dict is written once), each result as a user turn holding <tool_response>.
TOOL_TEMPLATE = """\
{%- if messages[0].role == 'system' %}{% set system = messages[0].content %}{% set rest = messages[1:] %}
{%- else %}{% set system = '' %}{% set rest = messages %}{% endif -%}
<|im_start|>system
{{ system }}
{%- if tools %}

<tools>
{%- for tool in tools %}
{{ tool | tojson }}
{%- endfor %}
</tools>
{%- endif %}<|im_end|>
{% for message in rest %}
{%- if message.role == 'assistant' -%}
<|im_start|>assistant
{{ message.content or '' }}
{%- for call in message.tool_calls or [] %}
<tool_call>
{{ {'name': call.function.name, 'arguments': call.function.arguments} | tojson }}
</tool_call>
{%- endfor %}<|im_end|>
{% elif message.role == 'tool' -%}
<|im_start|>user
<tool_response>
{{ message.content }}
</tool_response><|im_end|>
{% else -%}
<|im_start|>{{ message.role }}
{{ message.content }}<|im_end|>
{% endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}"""


@pytest.fixture(scope="session")
def smollm2_tokenizer() -> Any:
    """SmolLM2-135M-Instruct's tokenizer and template, read once from the GGUF `make model` fetches."""
    if not (MODEL_DIR / GGUF).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{MODEL_DIR / GGUF} is missing: CI must run `make model` first")
        pytest.skip(f"{MODEL_DIR / GGUF} is missing (run `make model`)")
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(MODEL_DIR), gguf_file=GGUF)


@pytest.fixture(scope="module")
def conversations(tmp_path_factory: pytest.TempPathFactory) -> list[StoredConversation]:
    _, sessions = data.build_export_db(tmp_path_factory.mktemp("export"))
    with sessions() as session:
        return list(store.iter_conversations(session, status=None))


def _record(fmt: str, conversation: StoredConversation) -> dict[str, Any]:
    return json.loads(json.dumps(FORMATS[fmt].render(conversation), ensure_ascii=False))


def _turns(rendered: str) -> list[dict[str, str]]:
    """The role/content messages of ChatML text."""
    return [{"role": role, "content": content} for role, content in _TURN.findall(rendered)]


def _calls_in_order(rendered: str, exchanges: list[ParsedExchange]) -> bool:
    """Whether every call's name and arguments appear in the text, one after the other."""
    position = 0
    for call in (c for e in exchanges for c in e.calls):
        named = rendered.find(call.name, position)
        found = -1
        for separators in ((",", ":"), (", ", ": ")):  # BUTTON text is compact; templates use their own
            arguments = json.dumps(call.arguments, ensure_ascii=False, separators=separators)
            found = rendered.find(arguments, named) if named >= 0 and found < 0 else found
        found = found if named >= 0 else -1
        if found < 0:
            return False
        position = found
    return True


@pytest.mark.parametrize("fmt", ["button", "hermes"])
def test_smollm2_template_keeps_every_call_and_result(
    smollm2_tokenizer: Any, conversations: list[StoredConversation], fmt: str
) -> None:
    for conversation in conversations:
        record = _record(fmt, conversation)
        rendered = smollm2_tokenizer.apply_chat_template(record["messages"], tokenize=False)
        expected = expected_exchanges(conversation.trajectory)
        assert FORMATS[fmt].parse({"messages": _turns(rendered)}) == expected, conversation.id
        assert _calls_in_order(rendered, expected), conversation.id


def test_smollm2_tokens_decode_back_to_the_rendered_calls(
    smollm2_tokenizer: Any, conversations: list[StoredConversation]
) -> None:
    for conversation in conversations[:5]:
        messages = _record("hermes", conversation)["messages"]
        rendered = smollm2_tokenizer.apply_chat_template(messages, tokenize=False)
        ids = smollm2_tokenizer(rendered, add_special_tokens=False)["input_ids"]
        assert smollm2_tokenizer.decode(ids) == rendered


def _parse_native(rendered: str) -> list[ParsedExchange]:
    """User turns, assistant turns (their text, then <tool_call> blocks) and the results of the
    <tool_response> turns after them."""
    exchanges: list[ParsedExchange] = []
    for turn in _turns(rendered):
        if turn["role"] == "assistant":
            calls = [json.loads(body) for body in _CALL.findall(turn["content"])]
            parsed = [ParsedCall(c["name"], c["arguments"]) for c in calls]
            exchanges.append(assistant_exchange(_CALL.sub("", turn["content"]), parsed))
        elif turn["role"] == "user" and turn["content"].startswith("<tool_response>"):
            add_results(exchanges, (json.loads(body) for body in _RESPONSE.findall(turn["content"])))
        elif turn["role"] == "user":
            exchanges.append(ParsedExchange(role="user", text=turn["content"]))
    return exchanges


def test_tool_aware_template_renders_trl_records_without_double_encoding(
    smollm2_tokenizer: Any, conversations: list[StoredConversation]
) -> None:
    for conversation in conversations:
        record = _record("trl", conversation)
        tools = json.loads(record["tools"])  # as TRL's tokenize step does with a string column
        rendered = smollm2_tokenizer.apply_chat_template(
            record["messages"], tools=tools, chat_template=TOOL_TEMPLATE, tokenize=False
        )
        expected = expected_exchanges(conversation.trajectory)
        assert _parse_native(rendered) == expected, conversation.id
        assert all(isinstance(c.arguments, dict) for e in _parse_native(rendered) for c in e.calls)
        assert '"arguments": "' not in rendered and '\\"' not in rendered.split("</tools>")[-1]
        assert all(json.dumps(tool, ensure_ascii=False) in rendered for tool in tools)
        assert _calls_in_order(rendered, expected)
