"""A local transformers model behind autogen-core's `ChatCompletionClient` (none ships with autogen).

Plain text out: the roles parse BUTTON `<call>`/`<final>` text, native calls written as text and tool
JSON, so this client never interprets a reply. What it does choose is the prompt's layout
(roles/chat_layouts.py): with tools (a native assistant) the conversation goes through the model's own
chat template with `tools=` and `tool_calls`, as the `trl` export trains it, or, when the template
ignores tools, in the Hermes layout of the `hermes` export.

Models load lazily, once per process (a path names a model directory or a GGUF file), and one
`generate` runs at a time per model on a worker thread, so the event loop stays free.
torch and transformers are imported only here, only when an `hf:` or `smollm2` role is used.

Each call re-renders the whole conversation, so on CPU re-encoding a 1-2k token prompt costs seconds every
turn. A small per-model LRU of KV caches (`PrefixKVCache`) lets `generate` resume from the longest token
prefix an earlier call already computed; only the new tail is encoded (bench/hf_generate.py measures it).
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from autogen_core import CancellationToken
from autogen_core.models import (
    ChatCompletionClient,
    CreateResult,
    LLMMessage,
    ModelCapabilities,
    ModelFamily,
    ModelInfo,
    RequestUsage,
)
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from roles.chat_layouts import ChatLayout, native_layout, to_chat
from roles.local_models import load_model, load_tokenizer, resolve_base_model

__all__ = [
    "HF_MODEL_INFO",
    "MIN_REUSED_PREFIX",
    "PREFIX_CACHE_ENTRIES",
    "HFChatCompletionClient",
    "LoadedModel",
    "PrefixKVCache",
    "loaded_model",
    "to_chat",
]

HF_MODEL_INFO = ModelInfo(
    vision=False,
    function_calling=False,
    json_output=False,
    family=ModelFamily.UNKNOWN,
    structured_output=False,
)
# Enough for several interleaved conversations; a 135M model's KV for 2k tokens is ~90 MB in float32.
PREFIX_CACHE_ENTRIES = 8
# Below this, copying and cropping a cache saves less than it costs.
MIN_REUSED_PREFIX = 32
_LOADED: dict[str, LoadedModel] = {}
_LOAD_LOCK = threading.Lock()


@dataclass(eq=False)  # identity: entries hold tensors, which `==` would compare elementwise
class _CachedPrefix:
    ids: Any  # 1-D LongTensor (CPU): exactly the tokens whose keys and values `cache` holds
    cache: Any  # transformers DynamicCache


class PrefixKVCache:
    """LRU of (token ids, KV cache) pairs from earlier `generate` calls on one model.

    Not thread-safe on its own: use it only under `LoadedModel.lock`, like the model. Entries are never
    handed out: `lookup` returns a cropped deep copy, because `generate` extends the cache it is given.
    Only a plain `DynamicCache` of full-attention layers is kept: that is what can be cropped back to any
    prefix; other caches (sliding windows, linear attention, none at all) are ignored, so such models
    simply run without the prefix cache.
    """

    def __init__(self, capacity: int = PREFIX_CACHE_ENTRIES, min_prefix: int = MIN_REUSED_PREFIX):
        self.capacity = capacity
        self.min_prefix = min_prefix
        self._entries: list[_CachedPrefix] = []  # least recently used first

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, prompt_ids: Any) -> tuple[Any, int]:
        """(a cache covering the first n prompt tokens, n) for the entry sharing the longest prefix, or
        (None, 0) when that prefix is under `min_prefix`. n stays below the prompt length: `generate`
        needs at least one uncached token to compute the next-token logits from."""
        best, reused = None, 0
        for entry in self._entries:
            common = _common_prefix_length(entry.ids, prompt_ids)
            if common > reused:
                best, reused = entry, common
        reused = min(reused, int(prompt_ids.shape[0]) - 1)
        if best is None or reused < self.min_prefix:
            return None, 0
        self._entries.remove(best)
        self._entries.append(best)
        cache = copy.deepcopy(best.cache)
        cache.crop(reused - cache.get_seq_length())  # a negative count removes that many tokens
        return cache, reused

    def store(self, sequence: Any, cache: Any) -> None:
        """Keep `cache` for the tokens it covers: generate leaves the last token of `sequence` uncached.
        Entries that are a prefix of the new one are dropped: the new one serves every prompt they could."""
        if not _is_croppable_dynamic_cache(cache):
            return
        covered = cache.get_seq_length()
        if covered < self.min_prefix or covered > int(sequence.shape[0]):
            return
        ids = sequence[:covered].detach().to("cpu")
        self._entries = [e for e in self._entries if _common_prefix_length(e.ids, ids) < len(e.ids)]
        self._entries.append(_CachedPrefix(ids, cache))
        del self._entries[: max(0, len(self._entries) - self.capacity)]


def _common_prefix_length(a: Any, b: Any) -> int:
    """How many leading tokens two 1-D id tensors share."""
    n = min(int(a.shape[0]), int(b.shape[0]))
    mismatches = (a[:n] != b[:n]).nonzero()
    return int(mismatches[0, 0]) if mismatches.numel() else n


def _is_croppable_dynamic_cache(cache: Any) -> bool:
    """Exact types on purpose: subclasses (sliding windows, offloading, ...) may not crop to any prefix."""
    from transformers.cache_utils import DynamicCache, DynamicLayer

    if type(cache) is not DynamicCache:
        return False
    return bool(cache.layers) and all(type(layer) is DynamicLayer for layer in cache.layers)


@dataclass
class LoadedModel:
    """A model, its tokenizer, the lock that keeps one `generate` at a time on it, and the prefix KV
    cache shared by every client of this model (guarded by the same lock)."""

    model: Any
    tokenizer: Any
    lock: threading.Lock
    prefix_cache: PrefixKVCache = field(default_factory=PrefixKVCache)

    @cached_property
    def native_layout(self) -> ChatLayout:
        """How native calls reach this model: through its template, or in the Hermes layout."""
        return native_layout(self.tokenizer)


def loaded_model(path: str) -> LoadedModel:
    """The model at `path` loaded once per process, through the one loader of local models
    (roles/local_models.py: a `.gguf` is converted once to a plain float checkpoint and cached)."""
    with _LOAD_LOCK:
        if path not in _LOADED:
            target = Path(path)
            if not target.exists():
                hint = " (run `make model`)" if target.suffix == ".gguf" else ""
                raise FileNotFoundError(f"no model at {path}{hint}")
            checkpoint = resolve_base_model(target)
            model = load_model(checkpoint).eval()
            _LOADED[path] = LoadedModel(model, load_tokenizer(checkpoint), threading.Lock())
        return _LOADED[path]


class HFChatCompletionClient(ChatCompletionClient):
    """Greedy (or sampled, with a temperature) generation with the tokenizer's chat template.

    With `prefix_cache` (the default) each call resumes from the model's `PrefixKVCache` and adds its own
    prompt + reply to it. Greedy replies are the same as without it (bar float rounding, since a cached
    prefix was summed in another order: only a near-tie could flip). Two counters show the reuse:
    `prefix_cache_hits` (calls that started from a cached prefix) and `reused_prompt_tokens` (prompt
    tokens taken from the cache instead of encoded), both totals over this client's calls.
    Generation stops at the model's eos, which for ChatML models such as SmolLM2 is `<|im_end|>`.
    """

    def __init__(
        self,
        loaded: LoadedModel,
        *,
        max_new_tokens: int = 256,
        temperature: float | None = None,
        prefix_cache: bool = True,
    ):
        self._loaded = loaded
        self._max_new_tokens = max_new_tokens
        self._temperature = temperature
        self._prefix_cache = prefix_cache
        self._usage = RequestUsage(prompt_tokens=0, completion_tokens=0)
        self.prefix_cache_hits = 0
        self.reused_prompt_tokens = 0

    @classmethod
    def for_path(
        cls,
        path: str,
        *,
        max_new_tokens: int = 256,
        temperature: float | None = None,
        prefix_cache: bool = True,
    ) -> HFChatCompletionClient:
        return cls(
            loaded_model(path),
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            prefix_cache=prefix_cache,
        )

    def _generate(
        self, chat: list[dict[str, Any]], tools: list[dict[str, Any]], cancelled: threading.Event
    ) -> tuple[str, int, int]:
        tokenizer = self._loaded.tokenizer
        encoded = tokenizer.apply_chat_template(
            chat, tools=tools or None, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        with self._loaded.lock:
            if cancelled.is_set():  # queued behind another generation while the run was stopped
                return "", 0, 0
            sequence = self._generate_locked(encoded, cancelled)
        prompt = int(encoded["input_ids"].shape[1])
        new = sequence[prompt:]
        return tokenizer.decode(new, skip_special_tokens=True), prompt, int(new.shape[0])

    def _generate_locked(self, encoded: Mapping[str, Any], cancelled: threading.Event) -> Any:
        """One `generate` (call with the lock held, which also guards the prefix cache and the counters).
        Given the full prompt and a cache of its first n tokens, `generate` encodes only the rest."""
        tokenizer, prefixes = self._loaded.tokenizer, self._loaded.prefix_cache
        options: dict[str, Any] = {"do_sample": False}
        if self._temperature:
            options = {"do_sample": True, "temperature": self._temperature}
        if self._prefix_cache:
            past, reused = prefixes.lookup(encoded["input_ids"][0])
            if past is not None:
                options["past_key_values"] = past
                self.prefix_cache_hits += 1
                self.reused_prompt_tokens += reused
        output = self._loaded.model.generate(
            **encoded,
            stopping_criteria=_stop_when(cancelled),
            max_new_tokens=self._max_new_tokens,
            pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
            return_dict_in_generate=self._prefix_cache,
            **options,
        )
        if not self._prefix_cache:
            return output[0]
        prefixes.store(output.sequences[0], getattr(output, "past_key_values", None))
        return output.sequences[0]

    def _chat(
        self, messages: Sequence[LLMMessage], tools: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The chat messages and the tools handed to the template: tools mean a native assistant, whose
        calls go through the template or, when it ignores tools, in the Hermes layout."""
        if not tools:
            return to_chat(messages), []
        layout = self._loaded.native_layout
        return to_chat(messages, layout, tools), tools if layout == "template" else []

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        schemas = [] if tool_choice == "none" else [_tool_dict(t) for t in tools]
        chat, template_tools = self._chat(messages, schemas)
        cancelled = threading.Event()
        try:
            text, prompt, completion = await asyncio.to_thread(
                self._generate, chat, template_tools, cancelled
            )
        except asyncio.CancelledError:
            # The thread cannot be cancelled, but generate checks this between tokens: Ctrl-C then stops
            # within a token instead of after up to max_new_tokens of them.
            cancelled.set()
            raise
        usage = RequestUsage(prompt_tokens=prompt, completion_tokens=completion)
        self._usage = RequestUsage(
            prompt_tokens=self._usage.prompt_tokens + prompt,
            completion_tokens=self._usage.completion_tokens + completion,
        )
        return CreateResult(finish_reason="stop", content=text, usage=usage, cached=False)

    async def create_stream(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        """One chunk with the whole text, then the CreateResult (the protocol's last item)."""
        result = await self.create(messages, tools=tools, tool_choice=tool_choice)
        assert isinstance(result.content, str)
        yield result.content
        yield result

    async def close(self) -> None:
        return None

    def actual_usage(self) -> RequestUsage:
        return self._usage

    def total_usage(self) -> RequestUsage:
        return self._usage

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        chat, template_tools = self._chat(messages, [_tool_dict(t) for t in tools])
        ids = self._loaded.tokenizer.apply_chat_template(
            chat, tools=template_tools or None, tokenize=True, return_dict=True
        )["input_ids"]
        return len(ids)

    def remaining_tokens(
        self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []
    ) -> int:
        limit = int(getattr(self._loaded.model.config, "max_position_embeddings", 2048))
        return max(0, limit - self.count_tokens(messages, tools=tools))

    @property
    def capabilities(self) -> ModelCapabilities:  # type: ignore[override]
        return ModelCapabilities(vision=False, function_calling=False, json_output=False)

    @property
    def model_info(self) -> ModelInfo:
        return HF_MODEL_INFO


def _stop_when(cancelled: threading.Event) -> Any:
    """A stopping criterion that ends generation once `cancelled` is set (transformers imported lazily)."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _Cancelled(StoppingCriteria):  # type: ignore[misc]
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            return torch.full((input_ids.shape[0],), cancelled.is_set(), dtype=torch.bool)

    return StoppingCriteriaList([_Cancelled()])


def _tool_dict(tool: Tool | ToolSchema) -> dict[str, Any]:
    schema = tool.schema if isinstance(tool, Tool) else tool
    return {"type": "function", "function": dict(schema)}
