"""The BUTTON text format: parse, render, round trip, malformed input."""

from __future__ import annotations

import json

import pytest

from datamodel.button_format import (
    ParsedCall,
    parse_assistant_text,
    render_assistant_text,
    render_tool_results,
)
from datamodel.trajectory import AssistantTurn, ToolCall, ToolResult, ToolTurn


def test_parse_calls_with_content() -> None:
    text = 'I will look it up.\n<call>[{"name": "get_book_author", "arguments": {"title": "Dune"}}]</call>'
    parsed = parse_assistant_text(text)
    assert parsed.error is None
    assert parsed.content == "I will look it up."
    assert parsed.calls == [ParsedCall("get_book_author", {"title": "Dune"})]
    assert parsed.final is None


def test_parse_final() -> None:
    parsed = parse_assistant_text("Done.\n<final>He was 45.</final>")
    assert (parsed.content, parsed.final, parsed.calls, parsed.error) == ("Done.", "He was 45.", [], None)


def test_plain_text_is_a_message_not_an_error() -> None:
    parsed = parse_assistant_text("Which edition do you mean?")
    assert parsed.error is None and parsed.content == "Which edition do you mean?"
    assert parsed.calls == [] and parsed.final is None


def test_lenient_forms_single_object_and_string_arguments() -> None:
    parsed = parse_assistant_text('<call>{"name": "f", "arguments": "{\\"a\\": 1}"}</call>')
    assert parsed.error is None and parsed.calls == [ParsedCall("f", {"a": 1})]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty reply"),
        ('<call>[{"name": "f", "arguments": {}}]', "unclosed <call>"),
        ("<call>[{name: f}]</call>", "not JSON"),
        ("<call>[]</call>", "non-empty JSON list"),
        ('<call>[{"arguments": {}}]</call>', "no string 'name'"),
        ('<call>[{"name": "f", "arguments": [1]}]</call>', "not a JSON object"),
        ('<call>[{"name": "f", "arguments": {}}]</call><final>x</final>', "more than one block"),
        ("<final>  </final>", "empty <final>"),
    ],
)
def test_malformed_text_names_the_problem(text: str, needle: str) -> None:
    parsed = parse_assistant_text(text)
    assert parsed.error is not None and needle in parsed.error
    assert parsed.calls == [] and parsed.final is None


@pytest.mark.parametrize(
    "turn",
    [
        AssistantTurn(
            content="Plan: two lookups.",
            tool_calls=[
                ToolCall(id="a", name="get_book_author", arguments={"title": "Dune"}),
                ToolCall(id="b", name="get_book_publication_year", arguments={"title": "Dune é"}),
            ],
        ),
        AssistantTurn(content="", tool_calls=[ToolCall(id="a", name="f", arguments={"n": [1, 2.5, None]})]),
        AssistantTurn(content="All done.", final_answer="The answer is 45."),
        AssistantTurn(content="", final_answer="yes"),
        AssistantTurn(content="Which book do you mean?"),
    ],
)
def test_render_then_parse_round_trips(turn: AssistantTurn) -> None:
    parsed = parse_assistant_text(render_assistant_text(turn))
    assert parsed.error is None
    assert parsed.content == turn.content
    assert [(c.name, c.arguments) for c in parsed.calls] == [(c.name, c.arguments) for c in turn.tool_calls]
    assert parsed.final == turn.final_answer


def test_render_tool_results_uses_error_objects() -> None:
    turn = ToolTurn(
        results=[
            ToolResult(call_id="a", name="f", arguments={"x": 1}, results={"y": 2}),
            ToolResult(call_id="b", name="g", arguments={}, error="no such thing"),
        ]
    )
    assert json.loads(render_tool_results(turn)) == [
        {"name": "f", "arguments": {"x": 1}, "results": {"y": 2}},
        {"name": "g", "arguments": {}, "results": {"error": "no such thing"}},
    ]
