"""Assistant-only loss masks for any chat template, computed by rendering prefixes and diffing them.

Most chat templates (SmolLM2's ChatML among them) carry no `{% generation %}` markers, and TRL refuses
`assistant_only_loss` without them. Instead, each assistant message's span is found by rendering the
conversation up to the message with the generation prompt (where the assistant's output starts) and up
to and including it (where it ends). The span covers the message's content and calls plus its
end-of-turn token (`<|im_end|>`, `<|eot_id|>`, ...), so the model learns to stop; the assistant header
(`<|im_start|>assistant\\n`) is not trained: at inference the generation prompt supplies it. Whitespace
the template writes after the end-of-turn token is not trained either.

Spans map to tokens by token prefixes when the template's renderings tokenize as prefixes of each other,
and by character offsets otherwise. Each span is checked: it must end on a special token and show the
names of the calls the message makes, so a template that drops `tool_calls` or `tools` is reported
instead of trained on silently. Pure functions: a tokenizer and messages in, ids and labels out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from datamodel.button_format import called_names

__all__ = [
    "IGNORE_INDEX",
    "MaskError",
    "MaskedConversation",
    "assistant_char_spans",
    "call_names",
    "labels_from_spans",
    "mask_conversation",
    "render",
    "template_name",
]

IGNORE_INDEX = -100


class MaskError(ValueError):
    """The chat template cannot be masked or would train on the wrong thing; the message says which."""


@dataclass(frozen=True)
class MaskedConversation:
    """One conversation tokenized, with labels = token id on assistant spans and -100 elsewhere."""

    input_ids: list[int]
    labels: list[int]
    spans: list[tuple[int, int]]  # token [start, end) of each assistant message, in order


def template_name(tokenizer: Any) -> str:
    """A short name for the tokenizer's chat template, for error messages: where it came from and its hash."""
    template = tokenizer.chat_template or ""
    if isinstance(template, dict):
        template = json.dumps(template, sort_keys=True)
    digest = hashlib.sha256(template.encode()).hexdigest()[:12]
    return f"the chat template of {tokenizer.name_or_path or 'the tokenizer'} (sha256 {digest})"


def render(
    tokenizer: Any,
    messages: Sequence[dict[str, Any]],
    tools: list[dict[str, Any]] | None = None,
    *,
    add_generation_prompt: bool = False,
) -> str:
    """The template's text for these messages (never tokenized here: transformers 5 returns a dict then)."""
    text = tokenizer.apply_chat_template(
        list(messages), tools=tools, tokenize=False, add_generation_prompt=add_generation_prompt
    )
    if not isinstance(text, str):
        raise MaskError(f"{template_name(tokenizer)} rendered {type(text).__name__}, not text")
    return text


def call_names(message: dict[str, Any]) -> list[str]:
    """Names of the functions an assistant message calls: OpenAI/TRL `tool_calls` dicts, or BUTTON
    `<call>[...]</call>` blocks in its content (a block that is not JSON names nothing)."""
    names: list[str] = []
    for call in message.get("tool_calls") or []:
        function = call.get("function", call)
        if isinstance(function, dict) and function.get("name"):
            names.append(str(function["name"]))
    content = message.get("content")
    if isinstance(content, str):
        names.extend(called_names(content))
    return names


def _tool_names(tools: list[dict[str, Any]] | None) -> list[str]:
    names = []
    for tool in tools or []:
        function = tool.get("function", tool)
        if isinstance(function, dict) and function.get("name"):
            names.append(str(function["name"]))
    return names


def assistant_char_spans(
    tokenizer: Any, messages: Sequence[dict[str, Any]], tools: list[dict[str, Any]] | None = None
) -> tuple[str, list[tuple[int, int]]]:
    """The full rendering and, per assistant message, the character span of its output in it.

    Raises MaskError when a rendering is not a prefix of the next one (the template rewrites earlier
    turns), or when a span misses its calls' names or the tools are not shown to the model.
    """
    full = render(tokenizer, messages, tools)
    spans: list[tuple[int, int]] = []
    for index, message in enumerate(messages):
        if message.get("role") != "assistant":
            continue
        before = render(tokenizer, messages[:index], tools, add_generation_prompt=True)
        after = render(tokenizer, messages[: index + 1], tools).rstrip()
        if not (after.startswith(before) and full.startswith(after)):
            raise MaskError(
                f"{template_name(tokenizer)} does not render conversations incrementally (message {index}: "
                "a shorter conversation is not a prefix of the longer one), so its assistant span is unknown"
            )
        if len(after) == len(before):
            raise MaskError(f"{template_name(tokenizer)} renders assistant message {index} as nothing")
        _check_calls_shown(tokenizer, message, index, after[len(before) :])
        spans.append((len(before), len(after)))
    _check_tools_shown(tokenizer, tools, full[: spans[0][0]] if spans else full)
    return full, spans


def _check_calls_shown(tokenizer: Any, message: dict[str, Any], index: int, text: str) -> None:
    missing = [name for name in call_names(message) if name not in text]
    if missing:
        raise MaskError(
            f"{template_name(tokenizer)} drops the calls of assistant message {index} "
            f"({', '.join(missing)} not in its rendering): use a tool-aware template or the button format"
        )


def _check_tools_shown(tokenizer: Any, tools: list[dict[str, Any]] | None, prompt: str) -> None:
    missing = [name for name in _tool_names(tools) if name not in prompt]
    if missing:
        raise MaskError(
            f"{template_name(tokenizer)} does not show the `tools` column to the model "
            f"({', '.join(missing[:3])} missing): use a tool-aware template or the button format"
        )


def _encode(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _token_spans_by_prefix(
    tokenizer: Any, full_ids: list[int], full: str, char_spans: list[tuple[int, int]]
) -> list[tuple[int, int]] | None:
    """Token spans when every span boundary tokenizes as a prefix of the full ids; None otherwise."""
    spans = []
    for start, end in char_spans:
        head, upto = _encode(tokenizer, full[:start]), _encode(tokenizer, full[:end])
        if full_ids[: len(head)] != head or full_ids[: len(upto)] != upto:
            return None
        spans.append((len(head), len(upto)))
    return spans


def _token_spans_by_offsets(
    tokenizer: Any, full: str, char_spans: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Token spans from character offsets: a token belongs to the span it starts in."""
    if not getattr(tokenizer, "is_fast", False):
        raise MaskError(
            f"{template_name(tokenizer)} does not tokenize its renderings as prefixes of each other and "
            "the tokenizer gives no character offsets (not a fast tokenizer)"
        )
    offsets = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    spans = []
    for start, end in char_spans:
        inside = [i for i, (s, e) in enumerate(offsets) if start <= s < end and e > s]
        spans.append((inside[0], inside[-1] + 1) if inside else (0, 0))
    return spans


def labels_from_spans(input_ids: Sequence[int], spans: Sequence[tuple[int, int]]) -> list[int]:
    """Labels that train exactly the tokens inside the spans; everything else is -100."""
    labels = [IGNORE_INDEX] * len(input_ids)
    for start, end in spans:
        labels[start:end] = input_ids[start:end]
    return labels


def _check_ends_on_special(tokenizer: Any, ids: list[int], spans: list[tuple[int, int]]) -> None:
    special = set(tokenizer.all_special_ids) | set(getattr(tokenizer, "added_tokens_decoder", {}) or {})
    for number, (start, end) in enumerate(spans):
        if end <= start:
            raise MaskError(f"{template_name(tokenizer)}: assistant message {number} maps to no tokens")
        if ids[end - 1] not in special:
            raise MaskError(
                f"{template_name(tokenizer)} ends assistant turns without a special end-of-turn token "
                f"(turn {number} ends with {tokenizer.convert_ids_to_tokens(ids[end - 1])!r}): "
                "the model would never learn to stop"
            )


def mask_conversation(
    tokenizer: Any, messages: Sequence[dict[str, Any]], tools: list[dict[str, Any]] | None = None
) -> MaskedConversation:
    """Tokenize a conversation with its template and label exactly its assistant outputs."""
    full, char_spans = assistant_char_spans(tokenizer, messages, tools)
    ids = _encode(tokenizer, full)
    spans = _token_spans_by_prefix(tokenizer, ids, full, char_spans)
    if spans is None:
        spans = _token_spans_by_offsets(tokenizer, full, char_spans)
    _check_ends_on_special(tokenizer, ids, spans)
    return MaskedConversation(input_ids=ids, labels=labels_from_spans(ids, spans), spans=spans)
