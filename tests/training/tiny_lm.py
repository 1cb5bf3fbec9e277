"""Hub-free language-model fixtures: a byte-level BPE tokenizer trained in-process, chat templates
(ChatML like SmolLM2's, and a tool-aware Llama-3-style one), a tiny Qwen2 model and a tiny GGUF file."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CHATML",
    "LLAMA3_TOOLS",
    "QWEN_TOOLS",
    "SPECIALS",
    "build_tokenizer",
    "export_tokenizer",
    "save_tiny_model",
    "write_tiny_gguf",
]

SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|begin_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
]

# SmolLM2-Instruct's template, verbatim in behaviour: plain ChatML that ignores tools and tool_calls.
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] "
    "+ '<|im_end|>' + '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Llama-3 layout (header tokens, <|eot_id|> ends a turn, no newline after it), tools listed in the
# system turn, tool_calls rendered as JSON objects, tool results as role "ipython".
LLAMA3_TOOLS = (
    "{{ '<|begin_of_text|>' }}"
    "{% for message in messages %}"
    "{% set role = 'ipython' if message['role'] == 'tool' else message['role'] %}"
    "{{ '<|start_header_id|>' + role + '<|end_header_id|>\n\n' }}"
    "{% if message['role'] == 'system' and tools %}{{ 'Tools:\n' }}"
    "{% for tool in tools %}{{ tool | tojson }}{{ '\n' }}{% endfor %}{% endif %}"
    "{% if message['content'] %}{{ message['content'] }}{% endif %}"
    "{% for call in message.get('tool_calls') or [] %}"
    '{{ \'{"name": "\' + call.function.name + \'", "parameters": \' }}'
    "{{ call.function.arguments | tojson }}{{ '}' }}"
    "{% endfor %}"
    "{{ '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

# Qwen2.5's tool layout (its template, shortened): the tools as JSON lines in the system turn, each call a
# `<tool_call>` block after the assistant's text, consecutive tool results in one user turn of
# `<tool_response>` blocks.
QWEN_TOOLS = (
    "{%- if tools %}{{ '<|im_start|>system\n' }}"
    "{%- if messages[0].role == 'system' %}{{ messages[0].content }}{% endif %}"
    "{{ '\n\n# Tools\n\n<tools>' }}{% for tool in tools %}{{ '\n' }}{{ tool | tojson }}{% endfor %}"
    "{{ '\n</tools><|im_end|>\n' }}"
    "{%- elif messages[0].role == 'system' %}"
    "{{ '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'user' %}{{ '<|im_start|>user\n' + message.content + '<|im_end|>\n' }}"
    "{%- elif message.role == 'assistant' %}{{ '<|im_start|>assistant' }}"
    "{%- if message.content %}{{ '\n' + message.content }}{% endif %}"
    "{%- for call in message.tool_calls or [] %}"
    '{{ \'\n<tool_call>\n{"name": "\' + call.function.name + \'", "arguments": \' }}'
    "{{ call.function.arguments | tojson }}{{ '}\n</tool_call>' }}"
    "{%- endfor %}{{ '<|im_end|>\n' }}"
    "{%- elif message.role == 'tool' %}"
    "{%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}{{ '<|im_start|>user' }}{% endif %}"
    "{{ '\n<tool_response>\n' + message.content + '\n</tool_response>' }}"
    "{%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}{{ '<|im_end|>\n' }}{% endif %}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def build_tokenizer(corpus: Iterable[str], template: str, vocab_size: int = 800) -> Any:
    """A byte-level BPE tokenizer trained on `corpus` (deterministic), with chat special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(list(corpus), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIALS[3:],
    )
    tokenizer.chat_template = template
    return tokenizer


def export_tokenizer(data: Path, vocab_size: int = 1000) -> Any:
    """A ChatML tokenizer trained on every message of a `button` export (so its records fit a tiny model)."""
    text = [m["content"] for line in data.read_text().splitlines() for m in json.loads(line)["messages"]]
    return build_tokenizer(text, CHATML, vocab_size=vocab_size)


def save_tiny_model(tokenizer: Any, folder: Path, seed: int = 0, hidden_size: int = 32) -> Path:
    """A 2-layer Qwen2 model (32 wide unless told) for this tokenizer, saved with it as a checkpoint."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen2Config

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _byte_vocab() -> list[str]:
    from tokenizers import pre_tokenizers

    return sorted(pre_tokenizers.ByteLevel.alphabet())


def write_tiny_gguf(path: Path, hidden: int = 64, layers: int = 2, seed: int = 0) -> Path:
    """A llama GGUF (Q8_0 matrices, Q4_1 embeddings, F32 norms) with a byte-level gpt2 vocabulary."""
    import gguf

    rng = np.random.default_rng(seed)
    tokens = _byte_vocab() + ["he"] + SPECIALS[:3]
    tokens += [f"<|unused{i}|>" for i in range(-len(tokens) % 32)]  # rows a multiple of 32
    writer = gguf.GGUFWriter(str(path), "llama")
    _write_metadata(writer, len(tokens), hidden, layers)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types([gguf.TokenType.NORMAL] * 257 + [gguf.TokenType.CONTROL] * (len(tokens) - 257))
    writer.add_token_merges(["h e"])  # one merge: an empty list sends transformers to BPE scores
    writer.add_token_scores([0.0] * len(tokens))
    writer.add_bos_token_id(tokens.index("<|im_start|>"))
    writer.add_eos_token_id(tokens.index("<|im_end|>"))
    writer.add_chat_template(CHATML)

    def weight(name: str, rows: int, cols: int, qtype: Any = gguf.GGMLQuantizationType.Q8_0) -> None:
        data = (rng.standard_normal((rows, cols)) * 0.05).astype(np.float32)
        writer.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)

    weight("token_embd.weight", len(tokens), hidden, gguf.GGMLQuantizationType.Q4_1)
    writer.add_tensor("output_norm.weight", np.ones(hidden, dtype=np.float32))
    for block in range(layers):
        writer.add_tensor(f"blk.{block}.attn_norm.weight", np.ones(hidden, dtype=np.float32))
        writer.add_tensor(f"blk.{block}.ffn_norm.weight", np.ones(hidden, dtype=np.float32))
        for part in ("attn_q", "attn_k", "attn_v", "attn_output"):
            weight(f"blk.{block}.{part}.weight", hidden, hidden)
        weight(f"blk.{block}.ffn_gate.weight", 2 * hidden, hidden)
        weight(f"blk.{block}.ffn_up.weight", 2 * hidden, hidden)
        weight(f"blk.{block}.ffn_down.weight", hidden, 2 * hidden)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _write_metadata(writer: Any, vocab: int, hidden: int, layers: int) -> None:
    writer.add_name("tiny-llama")
    writer.add_vocab_size(vocab)
    writer.add_context_length(256)
    writer.add_embedding_length(hidden)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(2 * hidden)
    writer.add_head_count(4)
    writer.add_head_count_kv(4)
    writer.add_rope_dimension_count(hidden // 4)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
