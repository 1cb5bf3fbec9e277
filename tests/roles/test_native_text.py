"""Native calls written as text are read back: the forms chat templates write, as the real templates write
them (every assistant message of the export database, rendered by a Qwen-style and a Llama-3-style
template, tokenized and decoded as generation decodes); malformed text gives a reason, never an exception."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from autogen_core.models import AssistantMessage, FunctionExecutionResultMessage, UserMessage

from datamodel.button_format import ParsedCall
from db import store
from roles.assistant import turn_from_text
from roles.native_text import parse_native_text
from roles.offline import OfflineToolClient, OfflineUserClient
from simulator.episode import EpisodeConfig, RoleClients, run_episode
from tests.conftest import load_test_module
from training.formats import expected_exchanges
from training.formats.trl import trl_record

data = load_test_module("button_tests_export_data", Path(__file__).parents[1] / "training" / "export_data.py")
tiny = load_test_module("button_tests_tiny_lm", Path(__file__).parents[1] / "training" / "tiny_lm.py")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

CALL = ParsedCall(name="get_book_author", arguments={"title": "Dune"})


@pytest.mark.parametrize(
    "text",
    [
        'I will look it up.\n<tool_call>\n{"name": "get_book_author", "arguments": {"title": "Dune"}}'
        "\n</tool_call>",
        'I will look it up.<tool_call>{"name": "get_book_author", "arguments": "{\\"title\\": \\"Dune\\"}"}'
        "</tool_call>",
        'I will look it up.{"name": "get_book_author", "parameters": {"title": "Dune"}}',
        'I will look it up. [{"name": "get_book_author", "arguments": {"title": "Dune"}}]',
        'I will look it up.\n{"type": "function", "function": {"name": "get_book_author", '
        '"arguments": {"title": "Dune"}}}',
        'I will look it up.\n<call>[{"name": "get_book_author", "arguments": {"title": "Dune"}}]</call>',
    ],
    ids=["hermes", "string-arguments", "llama3", "mistral", "openai-wrapped", "button"],
)
def test_every_native_form_gives_the_call(text: str) -> None:
    parsed = parse_native_text(text)
    assert (parsed.content, parsed.calls, parsed.error) == ("I will look it up.", [CALL], None)


def test_calls_in_order_and_answers_and_questions() -> None:
    two = (
        '<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>\n<tool_call>\n{"name": "g"}\n</tool_call>'
    )
    assert [c.name for c in parse_native_text(two).calls] == ["f", "g"]
    assert parse_native_text("It is 42.\n<final>The answer is 42.</final>").final == "The answer is 42."
    asked = 'Which title? I found {"name": "Dune", "year": 1965} and more.'  # JSON, but not a call
    question = parse_native_text(asked)
    assert (question.content, question.calls, question.error) == (asked, [], None)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('<tool_call>\n{"name": "f", "arguments": {}}', "unclosed <tool_call>"),
        ('<tool_call>{"name": "f", "arguments": {</tool_call>', "block 0 is not JSON"),
        ('<tool_call>{"arguments": {}}</tool_call>', "no string 'name'"),
        ('<tool_call>{"name": "f", "arguments": [1]}</tool_call>', "not a JSON object"),
        ('<tool_call>{"name": "f", "arguments": "{oops"}</tool_call>', "arguments are not JSON"),
        ("<tool_call>[]</tool_call>", "empty list of calls"),
        ('<tool_call>{"name": "f"}</tool_call><final>x</final>', "and a <call> or <final> block"),
        ('Looking. {"name": "f", "parameters": {"title": "Du', "does not parse"),
        ("", "empty reply"),
        ("<final></final>", "empty <final>"),
        ("<tool_call>" + "[" * 50_000 + "</tool_call>", "nested too deeply"),  # past the recursion limit
        ('<tool_call>{"name": "f", "arguments": {"n": ' + "9" * 5_000 + "}}</tool_call>", "too many digits"),
        ('[{"name": "f", "arguments": "' + "[" * 50_000 + '"}]', "nested too deeply"),
    ],
    ids=lambda value: value[:40] if isinstance(value, str) else value,
)
def test_malformed_text_gives_a_reason(text: str, reason: str) -> None:
    parsed = parse_native_text(text)
    assert parsed.error is not None and reason in parsed.error and parsed.calls == []


def test_junk_never_raises() -> None:
    pieces = [
        "<tool_call>",
        "</tool_call>",
        "{",
        "}",
        "[",
        "]",
        '"name"',
        ":",
        '"',
        "<final>",
        "x",
        "\\",
        "\n",
    ]
    for n in range(400):
        text = "".join(pieces[(n * 7 + k * k) % len(pieces)] for k in range(n % 23))
        parsed = parse_native_text(text)
        assert parsed.error is None or not parsed.calls


def test_a_native_assistant_reads_native_text_and_a_button_one_does_not() -> None:
    text = 'Plan.\n<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>'
    native = turn_from_text(text, None, turn_no=2, native=True)
    assert [(c.id, c.name, c.arguments) for c in native.tool_calls] == [("call_2_0", "f", {"a": 1})]
    assert native.raw == text and native.content == "Plan." and native.format_error is None
    assert turn_from_text(text, None, turn_no=2).tool_calls == []  # BUTTON text only: a plain message
    broken = turn_from_text("<tool_call>{oops</tool_call>", None, turn_no=1, native=True)
    assert broken.format_error is not None and broken.raw == "<tool_call>{oops</tool_call>"


def _generated(tokenizer: Any, messages: list[dict[str, Any]], tools: Any, index: int) -> str:
    """Assistant message `index` as generation gives it back: what the template writes after the
    generation prompt, as tokens, decoded without the special tokens (the end of turn)."""
    prompt = tokenizer.apply_chat_template(
        messages[:index], tools=tools, tokenize=False, add_generation_prompt=True
    )
    full = tokenizer.apply_chat_template(messages[: index + 1], tools=tools, tokenize=False)
    assert full.startswith(prompt)
    ids = tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"]
    return str(tokenizer.decode(ids, skip_special_tokens=True))


@pytest.mark.parametrize("template", ["QWEN_TOOLS", "LLAMA3_TOOLS"])
def test_what_real_templates_write_is_read_back(
    tmp_path_factory: pytest.TempPathFactory, template: str
) -> None:
    _, sessions = data.build_export_db(tmp_path_factory.mktemp("export"))
    with sessions() as session:
        conversations = [
            c
            for c in store.iter_conversations(session, status=None)
            if c.models["assistant"] != data.REJECTED_MODEL
        ]
    records = [trl_record(c) for c in conversations]
    corpus = [m["content"] or "" for r in records for m in r["messages"]] + [r["tools"] for r in records]
    tokenizer = tiny.build_tokenizer(corpus, getattr(tiny, template), vocab_size=600)
    read = 0
    for conversation, record in zip(conversations, records, strict=True):
        messages, tools = record["messages"], json.loads(record["tools"])
        expected = iter(e for e in expected_exchanges(conversation.trajectory) if e.role == "assistant")
        for index, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            parsed, want = parse_native_text(_generated(tokenizer, messages, tools, index)), next(expected)
            assert (parsed.calls, parsed.final, parsed.error) == (want.calls, want.final, None), (
                conversation.id
            )
            assert parsed.content == want.text
            read += len(parsed.calls)
    assert read > 50


def test_native_calls_written_as_text_go_back_as_native_calls(
    tiny_sequential_task: Any, tiny_executor: Any, tiny_world: Any
) -> None:
    """A native assistant that writes its call as text (as a local model does) gets the call back as a
    native call and its result as a tool message, the layout it was trained on; BUTTON text stays text."""
    call = '{"name": "get_book_author", "arguments": {"title": "The Great Gatsby"}}'
    tagged, button_call = f"Plan.\n<tool_call>\n{call}\n</tool_call>", f"<call>[{call}]</call>"
    for reply, native in ((tagged, True), (button_call, False)):
        assistant = tiny_world.ListClient([reply, "<final>F. Scott Fitzgerald</final>"])
        user, tool = OfflineUserClient(tiny_sequential_task), OfflineToolClient(tiny_executor)
        clients = RoleClients(user=user, assistant=assistant, tool=tool, assistant_native=True)
        trajectory = asyncio.run(run_episode(tiny_sequential_task, clients, EpisodeConfig()))
        assert [c.name for c in trajectory.turns[1].tool_calls] == ["get_book_author"]  # type: ignore[union-attr]
        called, answered = assistant.seen[1][-2:]
        assert isinstance(called, AssistantMessage) and isinstance(called.content, list) == native
        assert isinstance(answered, FunctionExecutionResultMessage if native else UserMessage)
