"""Conversations that teach more than one request, in every export format: every user turn in order, a
question or refusal as a plain assistant message, a failed call's error as the tool message's payload with
the retry after it, each final answer its own assistant message; and every format parses back the whole
dialogue. ShareGPT keeps LLaMA-Factory's alternation, at the cost of the few sequences it cannot hold."""

from __future__ import annotations

import json
from itertools import takewhile
from pathlib import Path
from typing import Any

import pytest

from datamodel.button_format import parse_assistant_text
from db.store import StoredConversation
from tests.conftest import load_test_module
from training.formats import FORMATS, ParsedExchange, expected_exchanges
from training.formats.common import dumps

dialogue = load_test_module("button_tests_dialogue_data", Path(__file__).with_name("dialogue_data.py"))

# What ShareGPT cannot hold as it is (test_sharegpt_* below say how it holds it instead).
SHAREGPT_RESHAPED = {"ends_on_tool_error", "ends_on_user", "two_user_turns"}
SIDE = {"human": "user", "gpt": "assistant", "function_call": "assistant", "observation": "tool"}


@pytest.fixture(scope="module")
def dialogues(tmp_path_factory: pytest.TempPathFactory) -> dict[str, StoredConversation]:
    return dialogue.build_dialogue_db(tmp_path_factory.mktemp("dialogues"))  # type: ignore[no-any-return]


def _record(fmt: str, conversation: StoredConversation) -> dict[str, Any]:
    """The record as a trainer reads it: through JSON, as it is written to the file."""
    return json.loads(json.dumps(FORMATS[fmt].render(conversation), ensure_ascii=False))


def _messages(fmt: str, conversation: StoredConversation) -> list[tuple[str, str]]:
    """(role, everything the message says) per message: user, assistant or tool, in every format."""
    record = _record(fmt, conversation)
    if fmt == "sharegpt":
        return [(SIDE[t["from"]], t["value"]) for t in record["conversations"]]
    return [
        (m["role"], (m["content"] or "") + (dumps(m["tool_calls"]) if "tool_calls" in m else ""))
        for m in record["messages"]
        if m["role"] != "system"
    ]


def test_realistic_dialogue_has_every_behaviour(dialogues: dict[str, StoredConversation]) -> None:
    conversation = dialogues["realistic"]
    steps = expected_exchanges(conversation.trajectory)
    plain = [s.text for s in steps if s.role == "assistant" and not s.calls and s.final is None]
    assert [s.role for s in steps].count("user") == 4
    assert plain == [dialogue.QUESTION, dialogue.REFUSAL]
    assert [s.final for s in steps if s.final] == [
        "Fitzgerald was 29 when The Great Gatsby came out.",
        "Tender Is the Night came out in 1934 — nine years later.",
    ]
    assert {"error": "timeout"} in steps[3].results and steps[4].calls[0].name == "get_publication_year"
    assert conversation.status == "accepted"


@pytest.mark.parametrize(
    ("fmt", "name"),
    [
        (fmt, name)
        for fmt in FORMATS
        for name in dialogue.DIALOGUES
        if not (fmt == "sharegpt" and name in SHAREGPT_RESHAPED)
    ],
)
def test_every_format_parses_back_the_whole_dialogue(
    fmt: str, name: str, dialogues: dict[str, StoredConversation]
) -> None:
    conversation = dialogues[name]
    assert FORMATS[fmt].parse(_record(fmt, conversation)) == expected_exchanges(conversation.trajectory)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_user_turn_appears_in_order(fmt: str, dialogues: dict[str, StoredConversation]) -> None:
    turns = dialogues["realistic"].trajectory.turns
    said = [text for role, text in _messages(fmt, dialogues["realistic"]) if role == "user"]
    assert said == [t.content for t in turns if t.role == "user"]


def _role(message: dict[str, Any]) -> str:
    return SIDE[message["from"]] if "from" in message else str(message["role"])


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_question_and_refusal_are_plain_assistant_messages_answered_by_the_user(
    fmt: str, dialogues: dict[str, StoredConversation]
) -> None:
    record = _record(fmt, dialogues["realistic"])
    messages = record["conversations" if fmt == "sharegpt" else "messages"]
    for text in (dialogue.QUESTION, dialogue.REFUSAL):
        plain = (
            {"from": "gpt", "value": text} if fmt == "sharegpt" else {"role": "assistant", "content": text}
        )
        position = messages.index(plain)  # exactly this message: no tool_calls, no block, no thought tags
        assert _role(messages[position + 1]) == "user"


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_failed_call_is_an_error_payload_and_the_retry_follows(
    fmt: str, dialogues: dict[str, StoredConversation]
) -> None:
    messages = _messages(fmt, dialogues["realistic"])
    first = next(i for i, (role, _) in enumerate(messages) if role == "tool")
    results = list(takewhile(lambda m: m[0] == "tool", messages[first:]))  # one per result in openai, trl
    assert any('{"error": "timeout"}' in text or '{"error":"timeout"}' in text for _, text in results)
    role, retry = messages[first + len(results)]
    assert role == "assistant" and "did not come back" in retry and "get_publication_year" in retry


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_each_final_answer_is_its_own_assistant_message(
    fmt: str, dialogues: dict[str, StoredConversation]
) -> None:
    messages = _messages(fmt, dialogues["realistic"])
    finals = [i for i, (role, text) in enumerate(messages) if role == "assistant" and "<final>" in text]
    stored = [t.final_answer for t in dialogues["realistic"].trajectory.turns if t.role == "assistant"]
    answers = [parse_assistant_text(messages[i][1]).final for i in finals]
    assert answers == [a.strip() for a in stored if a is not None] and len(answers) == 2
    assert messages[finals[0] + 1][0] == "user" and finals[1] == len(messages) - 1


@pytest.mark.parametrize("fmt", ["openai", "trl", "hermes", "sharegpt"])
def test_native_formats_call_only_from_calling_turns(
    fmt: str, dialogues: dict[str, StoredConversation]
) -> None:
    """A question, a refusal or an answer carries no tool_calls (no <tool_call>, no function_call)."""
    for conversation in dialogues.values():
        record = _record(fmt, conversation)
        calling = [t for t in conversation.trajectory.turns if t.role == "assistant" and t.tool_calls]
        if fmt == "sharegpt":
            found = [t for t in record["conversations"] if t["from"] == "function_call"]
        elif fmt == "hermes":
            found = [m for m in record["messages"][1:] if "<tool_call>" in m["content"]]
        else:
            found = [m for m in record["messages"] if "tool_calls" in m]
        assert len(found) == len(calling), conversation.trajectory


def _alternates_as_llama_factory_requires(turns: list[dict[str, str]]) -> bool:
    """LLaMA-Factory's SharegptDatasetConverter skips an example whose turns do not alternate
    human/observation (even positions) with gpt/function_call (odd ones), or whose count is odd."""
    sides = (("human", "observation"), ("gpt", "function_call"))
    return len(turns) % 2 == 0 and all(t["from"] in sides[i % 2] for i, t in enumerate(turns))


def test_sharegpt_alternates_for_every_dialogue(dialogues: dict[str, StoredConversation]) -> None:
    for name, conversation in dialogues.items():
        assert _alternates_as_llama_factory_requires(_record("sharegpt", conversation)["conversations"]), name


def test_sharegpt_drops_turns_at_the_end_that_answer_nothing(
    dialogues: dict[str, StoredConversation],
) -> None:
    """An episode that stopped on a tool or user turn: the trailing observation or human turn has no
    response after it to learn, and would make the count odd, so LLaMA-Factory would skip the whole
    example; it goes, and the record ends on the assistant's last turn."""
    tool_end = dialogues["ends_on_tool_error"]
    *before, last = expected_exchanges(tool_end.trajectory)
    turns = _record("sharegpt", tool_end)["conversations"]
    assert [t["from"] for t in turns] == ["human", "function_call"]
    assert FORMATS["sharegpt"].parse(_record("sharegpt", tool_end)) == [
        *before,
        ParsedExchange(calls=last.calls, text=last.text),
    ]
    user_end = dialogues["ends_on_user"]
    turns = _record("sharegpt", user_end)["conversations"]
    assert turns == [
        {"from": "human", "value": "How old was he?"},
        {"from": "gpt", "value": dialogue.QUESTION},
    ]
    assert (
        FORMATS["sharegpt"].parse(_record("sharegpt", user_end))
        == expected_exchanges(user_end.trajectory)[:-1]
    )


def test_sharegpt_joins_user_turns_in_a_row(dialogues: dict[str, StoredConversation]) -> None:
    """Two user turns in a row cannot alternate; user text is prompt, never trained, so one human turn
    holding both, in order, teaches the same."""
    record = _record("sharegpt", dialogues["two_user_turns"])
    joined = "When did The Great Gatsby come out?\n\nJust the year, please."
    assert record["conversations"][0] == {"from": "human", "value": joined}
    assert FORMATS["sharegpt"].parse(record) == [
        ParsedExchange(role="user", text=joined),
        ParsedExchange(final="1925."),
    ]


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "sharegpt"])
def test_other_formats_keep_every_turn_as_it_is(fmt: str, dialogues: dict[str, StoredConversation]) -> None:
    for name in SHAREGPT_RESHAPED:
        conversation = dialogues[name]
        roles = [role for role, _ in _messages(fmt, conversation)]
        expected: list[str] = []
        for turn in conversation.trajectory.turns:
            split = turn.role == "tool" and fmt in ("openai", "trl")  # one tool message per result
            expected += [turn.role] * (len(turn.results) if split else 1)  # type: ignore[union-attr]
        assert roles == expected, name
