"""Normalizing a client's reply (native calls or BUTTON text) into an AssistantTurn."""

from __future__ import annotations

from autogen_core import FunctionCall

from roles.assistant import tool_schema, turn_from_calls, turn_from_text


def test_native_calls_keep_ids_and_thought() -> None:
    calls = [
        FunctionCall(id="x1", name="f", arguments='{"a": 1}'),
        FunctionCall(id="", name="g", arguments=""),
    ]
    turn = turn_from_calls(calls, "thinking", turn_no=3)
    assert turn.format_error is None and turn.content == "thinking"
    assert [(c.id, c.name, c.arguments) for c in turn.tool_calls] == [
        ("x1", "f", {"a": 1}),
        ("call_3_1", "g", {}),
    ]


def test_native_call_with_bad_arguments_is_a_format_error() -> None:
    turn = turn_from_calls([FunctionCall(id="x", name="f", arguments="{oops")], None, turn_no=1)
    assert turn.format_error is not None and "call 0 (f)" in turn.format_error
    assert turn.tool_calls == [] and turn.raw == "f({oops)"


def test_text_reply_assigns_ids_and_keeps_raw() -> None:
    text = 'Looking.\n<call>[{"name": "f", "arguments": {}}, {"name": "f", "arguments": {"a": 2}}]</call>'
    turn = turn_from_text(text, None, turn_no=2)
    assert [c.id for c in turn.tool_calls] == ["call_2_0", "call_2_1"]
    assert turn.raw == text and turn.content == "Looking."


def test_malformed_text_is_kept_raw_with_the_error() -> None:
    turn = turn_from_text("<call>[not json]</call>", None, turn_no=1)
    assert turn.format_error is not None and turn.raw == "<call>[not json]</call>" and not turn.tool_calls


def test_tool_schema_comes_from_the_spec(tiny_world) -> None:
    schema = tool_schema(tiny_world.GET_AUTHOR)
    assert (
        schema["name"] == "get_book_author" and schema.get("parameters") == tiny_world.GET_AUTHOR.parameters
    )
