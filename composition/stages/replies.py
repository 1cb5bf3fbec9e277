"""Pure parsing of model replies: one JSON object, a yes/no verdict, and readable validation errors.

Every failure is a `ReplyError` whose message is written for the model: it goes back verbatim as the
feedback of the next attempt. JSON is parsed strictly (`json.loads` semantics), never partially: a
truncated object must fail, not parse into half an answer (the pitfall of lenient partial-JSON parsers).
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from datamodel.json_text import decode_json_at

__all__ = ["ReplyError", "describe_validation_error", "parse_json_object", "parse_verdict", "require_text"]

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_ANSWER = re.compile(r"<ans>\s*(yes|no)\s*</ans>", re.IGNORECASE)


class ReplyError(ValueError):
    """The reply cannot be used; the message says why, in words the model can act on."""


def describe_validation_error(error: ValidationError) -> str:
    """A pydantic error as short 'where: what' clauses."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "value"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_json_object(text: str) -> dict[str, Any]:
    """The one JSON object in a reply, inside a ```json fence or bare, with prose around it allowed."""
    fenced = _FENCE.search(text)
    body = fenced.group(1) if fenced else text
    start = body.find("{")
    if start == -1:
        raise ReplyError("the reply holds no JSON object; answer with one JSON object")
    try:
        value, _end = decode_json_at(body, start)
    except json.JSONDecodeError as exc:
        raise ReplyError(f"the JSON object is not valid ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, dict):
        raise ReplyError("expected a JSON object")
    return value


def require_text(data: dict[str, Any], field: str, max_words: int) -> str:
    """A non-empty string field of at most `max_words` words."""
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ReplyError(f'"{field}" must be a non-empty string')
    words = len(value.split())
    if words > max_words:
        raise ReplyError(f'"{field}" has {words} words; at most {max_words} are allowed')
    return value.strip()


def parse_verdict(text: str) -> tuple[bool, str]:
    """(accepted, analysis) from a reply ending in <ans>yes</ans> or <ans>no</ans>; the last tag counts."""
    found = list(_ANSWER.finditer(text))
    if not found:
        raise ReplyError("no verdict found; end with <ans>yes</ans> or <ans>no</ans> on its own line")
    last = found[-1]
    analysis = text[: last.start()].strip()
    if not analysis:
        raise ReplyError("the analysis is missing; explain your reasoning before the verdict")
    return last.group(1).lower() == "yes", analysis
