"""Argument/result validation and tool-reply parsing."""

from __future__ import annotations

from types import ModuleType

import pytest

from toolmock.validate import parse_tool_output, validate_arguments, validate_result


def test_valid_arguments_and_results(tiny_world: ModuleType) -> None:
    assert validate_arguments(tiny_world.GET_AUTHOR, {"title": "Dune"}) is None
    assert validate_result(tiny_world.GET_BIRTH, {"birth_year": 1920}) is None


@pytest.mark.parametrize(
    ("arguments", "needle"),
    [
        ({}, "'title' is a required property"),
        ({"title": 5}, "arguments.title: 5 is not of type 'string'"),
        ({"title": "Dune", "extra": 1}, "Additional properties"),
        (["Dune"], "must be a JSON object"),
    ],
)
def test_invalid_arguments_name_the_path(tiny_world: ModuleType, arguments: object, needle: str) -> None:
    reason = validate_arguments(tiny_world.GET_AUTHOR, arguments)
    assert reason is not None and reason.startswith("get_book_author:") and needle in reason


def test_invalid_result(tiny_world: ModuleType) -> None:
    reason = validate_result(tiny_world.GET_BIRTH, {"birth_year": "long ago"})
    assert reason is not None and "results.birth_year" in reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"author": "X"}', ({"author": "X"}, None)),
        ('```json\n{"author": "X"}\n```', ({"author": "X"}, None)),
        ('{"error": "no such book"}', (None, "no such book")),
    ],
)
def test_parse_tool_output(text: str, expected: tuple[object, object]) -> None:
    assert parse_tool_output(text) == expected


@pytest.mark.parametrize(("text", "needle"), [("not json", "not JSON"), ("[1]", "must be a JSON object")])
def test_parse_tool_output_errors(text: str, needle: str) -> None:
    result, error = parse_tool_output(text)
    assert result is None and error is not None and needle in error
