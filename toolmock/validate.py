"""Argument and result validation against a function spec's JSON Schemas, and tool-reply parsing.

Pure functions: a spec and a value (or a reply text) in, None or a one-line reason out. The validators
come from the spec's cached properties, so nothing is compiled per call (every call is validated).
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing.exceptions import Unresolvable

from datamodel.json_text import decode_json
from datamodel.tasks import FunctionSpec

__all__ = ["parse_tool_output", "validate_arguments", "validate_result"]


def _path(error: ValidationError, root: str) -> str:
    parts = [root, *(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)]
    return "".join(parts)


def _first_error(validator: Draft202012Validator, value: Any, root: str) -> str | None:
    """The most relevant error as 'path: message', or None when the value is valid. A value the schema
    cannot be checked on is a reason too: a `$ref` that resolves nowhere (a spec a model wrote), or a
    number jsonschema's `multipleOf` cannot divide (NaN, infinity, an integer past float range)."""
    try:
        if validator.is_valid(value):  # the fast path: no error objects built for valid values
            return None
        errors = sorted(
            validator.iter_errors(value), key=lambda e: (len(e.absolute_path), str(e.absolute_path))
        )
    except Unresolvable as exc:
        return f"{root}: cannot be checked, the schema's $ref {exc.ref!r} resolves nowhere"
    except (ValueError, ArithmeticError) as exc:
        return f"{root}: cannot be checked against the schema ({exc})"
    first = errors[0]
    return f"{_path(first, root)}: {first.message}"


def validate_arguments(spec: FunctionSpec, arguments: Any) -> str | None:
    """None when the arguments fit the spec's `parameters`, else why not, naming the argument path."""
    if not isinstance(arguments, dict):
        return f"{spec.name}: arguments must be a JSON object, got {type(arguments).__name__}"
    reason = _first_error(spec.argument_validator, arguments, "arguments")
    return None if reason is None else f"{spec.name}: {reason}"


def validate_result(spec: FunctionSpec, result: Any) -> str | None:
    """None when a result fits the spec's `responses`, else why not, naming the field path."""
    if not isinstance(result, dict):
        return f"{spec.name}: result must be a JSON object, got {type(result).__name__}"
    reason = _first_error(spec.response_validator, result, "results")
    return None if reason is None else f"{spec.name}: {reason}"


def parse_tool_output(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """A tool simulator's reply as (result, None), or (None, error).

    A reply whose only key is "error" is the simulator reporting a failed call (the tool-simulator
    contract); anything that is not one JSON object is a malformed reply. Code fences are tolerated.
    """
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    try:
        data = decode_json(body)
    except json.JSONDecodeError as exc:
        return None, f"tool reply is not JSON: {exc.msg} at char {exc.pos}"
    if not isinstance(data, dict):
        return None, f"tool reply must be a JSON object, got {type(data).__name__}"
    if set(data) == {"error"}:
        return None, str(data["error"])
    return data, None
