"""The prefix KV cache of the local transformers client, on a tiny random Llama built in the test: the
same greedy replies with and without it, reuse on every later turn, interleaved conversations kept apart,
and a model that returns no cache running uncached."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from pathlib import Path
from types import ModuleType

import pytest
import torch
from autogen_core.models import (
    AssistantMessage,
    FunctionExecutionResult,
    FunctionExecutionResultMessage,
    LLMMessage,
    SystemMessage,
    UserMessage,
)
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig
from transformers.cache_utils import DynamicCache

from roles.hf_client import HFChatCompletionClient, LoadedModel, PrefixKVCache, loaded_model
from tests.conftest import load_test_module

SYSTEM = (
    "You are a careful assistant. Call the functions listed below to answer the user, one call at a time, "
    "and finish with the answer inside a final block once every result is known."
)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tiny_lm: ModuleType = load_test_module(
        "button_tests_tiny_lm", Path(__file__).parents[1] / "training" / "tiny_lm.py"
    )
    corpus = [SYSTEM, "Who wrote the book?", '{"author": "Ann"}', "<final>Ann</final>"] * 10
    tokenizer = tiny_lm.build_tokenizer(corpus, tiny_lm.CHATML, vocab_size=400)
    torch.manual_seed(0)
    # Untied embeddings and a wider init than the default: with tied ones a random model just repeats its
    # last input token, and a reply that ignores the context would hide a wrongly cropped cache.
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        tie_word_embeddings=False,
        initializer_range=0.1,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    folder = tmp_path_factory.mktemp("tiny-llama")
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def fresh(path: Path) -> LoadedModel:
    """The process-wide model with an empty cache of its own, so tests never see each other's entries."""
    return dataclasses.replace(loaded_model(str(path)), prefix_cache=PrefixKVCache())


def opening(system: str = SYSTEM) -> list[LLMMessage]:
    return [SystemMessage(content=system), UserMessage(content="Who wrote the book?", source="user")]


def take_turn(client: HFChatCompletionClient, messages: list[LLMMessage], turn: int) -> tuple[str, int]:
    """One assistant call, then the reply and a tool result (or user message) appended to the conversation;
    returns the reply and how many prompt tokens it took from the cache."""
    before = client.reused_prompt_tokens
    result = asyncio.run(client.create(messages))
    assert isinstance(result.content, str)
    messages.append(AssistantMessage(content=result.content, source="assistant"))
    if turn % 2 == 0:
        outcome = FunctionExecutionResult(call_id=f"c{turn}", name="find_author", content='{"author": "Ann"}')
        messages.append(FunctionExecutionResultMessage(content=[outcome]))
    else:
        messages.append(UserMessage(content="And when was it published?", source="user"))
    return result.content, client.reused_prompt_tokens - before


def test_cached_replies_equal_uncached_and_later_turns_reuse_the_prefix(tiny_checkpoint: Path) -> None:
    cached = HFChatCompletionClient(fresh(tiny_checkpoint), max_new_tokens=8)
    plain = HFChatCompletionClient(fresh(tiny_checkpoint), max_new_tokens=8, prefix_cache=False)
    with_cache, without_cache = opening(), opening()
    turns = [(take_turn(cached, with_cache, t), take_turn(plain, without_cache, t)) for t in range(3)]
    assert [c[0] for c, _ in turns] == [p[0] for _, p in turns]
    first, second, third = (reused for (_, reused), _ in turns)
    assert first == 0 and second >= 32 and third > second
    assert cached.prefix_cache_hits == 2 and plain.prefix_cache_hits == plain.reused_prompt_tokens == 0


def test_interleaved_conversations_each_resume_their_own_prefix(tiny_checkpoint: Path) -> None:
    client = HFChatCompletionClient(fresh(tiny_checkpoint), max_new_tokens=6)
    reference = HFChatCompletionClient(fresh(tiny_checkpoint), max_new_tokens=6, prefix_cache=False)
    other_system = "Answer in one short sentence. " + SYSTEM
    convs = {"a": opening(), "b": opening(other_system)}
    refs = {"a": opening(), "b": opening(other_system)}
    for turn in range(2):
        for key in ("a", "b"):
            reply, reused = take_turn(client, convs[key], turn)
            assert reply == take_turn(reference, refs[key], turn)[0]
            assert (reused > 0) == (turn > 0)
    assert client.prefix_cache_hits == 2


def test_a_model_that_returns_no_cache_runs_uncached(tiny_checkpoint: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(tiny_checkpoint).eval()
    model.generation_config.use_cache = False  # generate keeps and returns no KV cache
    loaded = LoadedModel(model, AutoTokenizer.from_pretrained(tiny_checkpoint), threading.Lock())
    client = HFChatCompletionClient(loaded, max_new_tokens=4)
    reference = HFChatCompletionClient(fresh(tiny_checkpoint), max_new_tokens=4, prefix_cache=False)
    messages, expected = opening(), opening()
    for turn in range(2):
        assert take_turn(client, messages, turn) == (take_turn(reference, expected, turn)[0], 0)
    assert len(loaded.prefix_cache) == 0 and client.prefix_cache_hits == 0


def _cache(length: int) -> DynamicCache:
    keys = torch.arange(length, dtype=torch.float32).reshape(1, 1, length, 1)
    return DynamicCache(ddp_cache_data=[(keys, keys.clone())])


def test_lookup_crops_a_copy_and_leaves_one_token_to_encode() -> None:
    prefixes = PrefixKVCache(capacity=2, min_prefix=4)
    prefixes.store(torch.arange(11), _cache(10))  # the last generated token is never cached
    past, reused = prefixes.lookup(torch.cat([torch.arange(8), torch.tensor([99])]))
    assert reused == 8 and past.get_seq_length() == 8
    assert prefixes.lookup(torch.arange(6))[1] == 5  # a prompt inside the entry still encodes one token
    assert prefixes.lookup(torch.tensor([0, 1, 2, 99, 4, 5]))[0] is None  # 3 shared tokens: under min_prefix
    assert prefixes.lookup(torch.arange(20))[1] == 10  # the stored entry was not cropped in place


def test_store_drops_prefixes_of_the_new_entry_and_the_least_recently_used() -> None:
    prefixes = PrefixKVCache(capacity=2, min_prefix=4)
    prefixes.store(torch.arange(6), _cache(5))
    prefixes.store(torch.arange(9), _cache(8))  # extends the first entry, which goes
    assert len(prefixes) == 1
    prefixes.store(torch.arange(100, 106), _cache(5))
    assert prefixes.lookup(torch.arange(100, 120))[1] == 5  # the newer entry is now the most recent too
    assert prefixes.lookup(torch.arange(20))[1] == 8  # and now the older one is
    prefixes.store(torch.arange(200, 206), _cache(5))  # evicts the least recently used
    assert prefixes.lookup(torch.arange(100, 120))[0] is None and prefixes.lookup(torch.arange(20))[1] == 8
    prefixes.store(torch.arange(3), _cache(2))  # too short to be worth keeping
    assert len(prefixes) == 2
