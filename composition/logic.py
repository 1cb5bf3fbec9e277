"""Logic steps the assistant does itself (difference, sum, max, min, count, equal) and answer matching.

Pure functions shared by the offline world (to compute ground truth), the scripted assistant (to act)
and the verifier (to judge a final answer).
"""

from __future__ import annotations

import re
from typing import Any

from datamodel.reference import LogicOp

__all__ = ["LogicError", "answer_matches", "apply_logic", "render_value"]


class LogicError(ValueError):
    """A logic step got operands it cannot work on."""


def _number(value: Any, op: LogicOp) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LogicError(f"{op.value} needs numbers, got {value!r}")
    return value


def _tidy(value: float) -> int | float:
    rounded = round(value, 2)
    return int(rounded) if float(rounded).is_integer() else rounded


def _extreme(
    op: LogicOp, operands: list[Any], labels: list[str], key: str | None, label_key: str | None
) -> Any:
    pick = max if op is LogicOp.MAX else min
    if len(operands) == 1 and isinstance(operands[0], list):
        items = operands[0]
        if not items or key is None or label_key is None:
            raise LogicError(f"{op.value} over a list needs items, key and label_key")
        best = pick(items, key=lambda item: _number(item[key], op))
        return best[label_key]
    if len(labels) != len(operands) or len(operands) < 2:
        raise LogicError(f"{op.value} needs two or more operands with one label each")
    values = [_number(v, op) for v in operands]
    return labels[values.index(pick(values))]


def apply_logic(
    op: LogicOp,
    operands: list[Any],
    labels: list[str] | None = None,
    key: str | None = None,
    label_key: str | None = None,
) -> Any:
    """Compute a logic step; raises LogicError when the operands do not fit the operation."""
    labels = labels or []
    if op is LogicOp.DIFFERENCE:
        if len(operands) != 2:
            raise LogicError("difference needs exactly two operands")
        return _tidy(_number(operands[0], op) - _number(operands[1], op))
    if op is LogicOp.SUM:
        return _tidy(sum(_number(v, op) for v in operands))
    if op in (LogicOp.MAX, LogicOp.MIN):
        return _extreme(op, operands, labels, key, label_key)
    if op is LogicOp.COUNT:
        if len(operands) != 1 or not isinstance(operands[0], list):
            raise LogicError("count needs one list operand")
        return len(operands[0])
    if op is LogicOp.EQUAL:
        if len(operands) != 2:
            raise LogicError("equal needs exactly two operands")
        return operands[0] == operands[1]
    raise LogicError(f"unknown operation {op!r}")


def render_value(value: Any) -> str:
    """The canonical text of an answer value: 12, 3.5, yes/no, 'a, b, c', or the string itself."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(_tidy(value))
    if isinstance(value, list):
        return ", ".join(render_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {render_value(v)}" for k, v in value.items())
    return str(value)


_DROPPED = re.compile(r"[^\w.\-:/ ]+")  # what _normalize turns into spaces
_LONE_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")  # a dot that is not a decimal point


def _normalize(text: str) -> str:
    text = _LONE_DOT.sub(" ", _DROPPED.sub(" ", text.lower().replace(",", " ")))
    return " ".join(text.split())


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"  # what \w matches in a str pattern


def answer_matches(final_text: str, answer_text: str) -> bool:
    """Whether a final reply states the expected answer (word-bounded, case- and punctuation-blind).

    Bounded means: no word character or dot just before it, no word character or decimal part just after
    it (so "12" is not found in "112", "12.5" or "v.12"). Searched with `str.find`, not a regex built
    from the answer: such a pattern is new for every conversation and its compilation cost more than
    the rest of the verification."""
    needle, hay = _normalize(answer_text), _normalize(final_text)
    if not needle:
        return False
    start = hay.find(needle)
    while start != -1:
        before, end = hay[start - 1 : start], start + len(needle)
        after = hay[end : end + 1]
        decimal_part = after == "." and hay[end + 1 : end + 2].isdecimal()
        bounded_before = not (before and (_is_word(before) or before == "."))
        bounded_after = not (after and _is_word(after)) and not decimal_part
        if bounded_before and bounded_after:
            return True
        start = hay.find(needle, start + 1)
    return False
