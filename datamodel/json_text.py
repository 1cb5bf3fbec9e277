"""JSON written by models, tools and dataset files, decoded with one failure type: `json.JSONDecodeError`.

`json.loads` raises more than that on hostile text: a `RecursionError` for JSON nested deeper than the
interpreter's stack (`[[[[...` a few thousand deep), and a plain `ValueError` for an integer longer than
Python converts (4,300 digits). Both become a `JSONDecodeError` here, so every parser's existing
`except json.JSONDecodeError` turns them into its own typed reason, as it does for any other bad JSON.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["decode_json", "decode_json_at"]

_DECODER = json.JSONDecoder()


def _decode_error(exc: ValueError | RecursionError, text: str, start: int) -> json.JSONDecodeError:
    if isinstance(exc, json.JSONDecodeError):
        return exc
    if isinstance(exc, RecursionError):
        return json.JSONDecodeError("JSON nested too deeply", text, start)
    return json.JSONDecodeError("a number with too many digits", text, start)  # sys.get_int_max_str_digits


def decode_json(text: str) -> Any:
    """`json.loads(text)`, raising only `json.JSONDecodeError`."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _decode_error(exc, text, 0) from None


def decode_json_at(text: str, start: int = 0) -> tuple[Any, int]:
    """The JSON value starting at `start` and the index where it ends (`JSONDecoder.raw_decode`), text
    after it left alone; raises only `json.JSONDecodeError`."""
    try:
        return _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError) as exc:
        raise _decode_error(exc, text, start) from None
