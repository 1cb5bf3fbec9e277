"""Local models, loaded one way for inference (roles/hf_client.py) and fine-tuning (training/): a checkpoint
directory as is, a GGUF file converted once to a plain model.

A GGUF-loaded model is dequantized to float at load, yet transformers still flags it as GGUF-quantized:
it cannot be saved and Trainer refuses to fine-tune it, fully or with LoRA. So a GGUF base is rebuilt as
a plain model from its own config, its weights copied over, checked against the GGUF model's logits on a
probe input, and cached beside it (`.models/smollm2` → `.models/smollm2-plain`), so the slow GGUF load
happens once.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from datamodel.models import SMOLLM2_PATH

__all__ = [
    "DEFAULT_BASE_MODEL",
    "LOGIT_TOLERANCE",
    "ModelPathError",
    "check_local_model",
    "convert_gguf",
    "generate_reply",
    "is_checkpoint_dir",
    "load_model",
    "load_tokenizer",
    "plain_cache_dir",
    "resolve_base_model",
]

DEFAULT_BASE_MODEL = SMOLLM2_PATH.parent  # the folder `make model` fills
LOGIT_TOLERANCE = 1e-3
_WEIGHTS = ("*.safetensors", "pytorch_model*.bin")
_SOURCE_FILE = "converted_from.json"
_GGUF_MAGIC = b"GGUF"  # the first four bytes of every GGUF file


class ModelPathError(ValueError):
    """The path given as a model is not one; the message names it and what was expected."""


def is_checkpoint_dir(path: Path) -> bool:
    """A transformers checkpoint: config.json and at least one weights file."""
    return (path / "config.json").is_file() and any(any(path.glob(p)) for p in _WEIGHTS)


def _gguf_file(path: Path) -> Path | None:
    if path.is_file() and path.suffix == ".gguf":
        return path
    if path.is_dir():
        found = sorted(path.glob("*.gguf"))
        if len(found) > 1:
            names = ", ".join(f.name for f in found)
            raise ModelPathError(f"{path} holds several GGUF files ({names}); pass the one to use")
        return found[0] if found else None
    return None


def plain_cache_dir(gguf: Path) -> Path:
    """Where the plain copy of a GGUF model is kept: a sibling of its folder, suffixed `-plain`."""
    folder = gguf.resolve().parent
    return folder.with_name(f"{folder.name}-plain")


def _source_stamp(gguf: Path) -> dict[str, Any]:
    stat = gguf.stat()
    return {"gguf": gguf.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def resolve_base_model(path: Path, cache_dir: Path | None = None) -> Path:
    """A checkpoint directory for `path`: itself, or the cached plain conversion of its GGUF file."""
    if is_checkpoint_dir(path):
        return path
    gguf = _gguf_file(path)
    if gguf is None:
        what = "does not exist" if not path.exists() else "is not a model"
        raise ModelPathError(
            f"base model {path} {what}: expected a checkpoint directory (config.json and *.safetensors) "
            "or a .gguf file (or a directory holding one)"
        )
    cache = cache_dir or plain_cache_dir(gguf)
    stamp = cache / _SOURCE_FILE
    if is_checkpoint_dir(cache) and stamp.is_file():
        recorded = json.loads(stamp.read_text())
        if all(recorded.get(key) == value for key, value in _source_stamp(gguf).items()):
            return cache
    convert_gguf(gguf, cache)
    return cache


def check_local_model(path: Path) -> None:
    """Raise ModelPathError, naming the path and what was expected, unless `path` is a chat model the
    loader can open: a checkpoint folder whose config and tokenizer load, with a vocabulary and a chat
    template, or a GGUF file (or a folder holding one). No weights are read, so a command can check its
    models before it stores anything."""
    if is_checkpoint_dir(path):
        tokenizer = _loaded_parts(path)
        if len(tokenizer) < 2:  # transformers builds an empty tokenizer when the files are missing
            raise ModelPathError(f"{path}: its tokenizer has no vocabulary (no tokenizer files?)")
        if not tokenizer.chat_template:
            raise ModelPathError(f"{path}: its tokenizer has no chat template to render conversations")
        return
    gguf = _gguf_file(path)
    if gguf is not None:
        with gguf.open("rb") as source:
            if source.read(len(_GGUF_MAGIC)) != _GGUF_MAGIC:
                raise ModelPathError(f"{gguf} is not a GGUF file (it lacks the GGUF header)")
        return
    if not path.exists():
        raise ModelPathError(f"no model at {path}")
    has_config = (path / "config.json").is_file()
    found = "config.json but no weights" if has_config else "no config.json, weights or .gguf file"
    raise ModelPathError(
        f"{path} is not a model ({found}): expected a checkpoint folder (config.json, *.safetensors and "
        "the tokenizer files, as `button train` writes them) or a .gguf file"
    )


def _loaded_parts(path: Path) -> Any:
    """Load a checkpoint's config and tokenizer (the tokenizer is returned); ModelPathError says which
    part does not load and why."""
    from transformers import AutoConfig, AutoTokenizer

    loaded = None
    for part, auto in (("config", AutoConfig), ("tokenizer", AutoTokenizer)):
        try:
            loaded = auto.from_pretrained(path, local_files_only=True)
        except Exception as exc:  # transformers raises OSError, ValueError, KeyError, ...: all mean "no"
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelPathError(f"{path}: its {part} does not load ({reason})") from None
    return loaded


def convert_gguf(gguf: Path, out: Path, tolerance: float = LOGIT_TOLERANCE) -> float:
    """Rebuild a GGUF model as a plain float checkpoint in `out`; returns the probe's max |Δlogit|.

    Written to a temporary folder and moved into place, so an interrupted conversion leaves no cache.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = quantized.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(quantized.state_dict())
    plain.tie_weights()
    probe = torch.arange(1, 1 + min(16, config.vocab_size - 1)).unsqueeze(0)
    with torch.no_grad():
        delta = (quantized(probe).logits - plain(probe).logits).abs().max().item()
    if delta > tolerance:
        raise ModelPathError(f"converting {gguf} changed its logits (max |Δ| {delta:.2e} > {tolerance})")
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    plain.save_pretrained(partial)
    AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name).save_pretrained(partial)
    (partial / _SOURCE_FILE).write_text(json.dumps({**_source_stamp(gguf), "max_abs_logit_delta": delta}))
    shutil.rmtree(out, ignore_errors=True)
    partial.replace(out)
    return float(delta)


def load_tokenizer(checkpoint: Path) -> Any:
    """The checkpoint's tokenizer, with a pad token (the end-of-sequence one when it has none)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(checkpoint: Path, dtype: Any = None) -> Any:
    """A causal LM from a checkpoint directory (float32 unless told)."""
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(checkpoint, dtype=dtype or torch.float32)


def generate_reply(checkpoint: Path, messages: list[dict[str, Any]], max_new_tokens: int = 128) -> str:
    """Greedy reply of a saved model to a conversation, through its own chat template."""
    import torch

    if not is_checkpoint_dir(checkpoint):
        raise ModelPathError(f"model {checkpoint} is not a checkpoint directory (config.json and weights)")
    tokenizer, model = load_tokenizer(checkpoint), load_model(checkpoint)
    encoded = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
    )
    with torch.no_grad():
        output = model.generate(
            **encoded, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
        )
    return str(tokenizer.decode(output[0, encoded["input_ids"].shape[1] :], skip_special_tokens=True))
