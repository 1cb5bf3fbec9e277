"""Base models: a GGUF file (written here with gguf-py) becomes a plain model with the same logits,
cached so the conversion runs once; checkpoint folders pass through; anything else is a clear error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch

from roles import local_models as models
from roles.local_models import ModelPathError, load_model, load_tokenizer, resolve_base_model
from tests.conftest import load_test_module

tiny = load_test_module("button_tests_tiny_lm", Path(__file__).parents[1] / "training" / "tiny_lm.py")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def gguf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gguf") / "tiny"
    folder.mkdir()
    tiny.write_tiny_gguf(folder / "tiny.gguf")
    return folder


@pytest.fixture(scope="module")
def converted(gguf_dir: Path) -> Path:
    return resolve_base_model(gguf_dir)


def test_gguf_becomes_a_plain_model_with_the_same_logits(gguf_dir: Path, converted: Path) -> None:
    from transformers import AutoModelForCausalLM

    assert converted == gguf_dir.with_name("tiny-plain")
    quantized = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file="tiny.gguf", dtype=torch.float32)
    plain = load_model(converted)
    assert getattr(plain, "hf_quantizer", None) is None
    assert not hasattr(plain.config, "quantization_config")
    probe = torch.tensor([[5, 17, 99, 200, 42, 7]])
    with torch.no_grad():
        delta = (quantized(probe).logits - plain(probe).logits).abs().max().item()
    assert delta <= models.LOGIT_TOLERANCE
    tokenizer = load_tokenizer(converted)
    assert tokenizer.chat_template == tiny.CHATML and tokenizer.eos_token == "<|im_end|>"


def test_conversion_is_cached(gguf_dir: Path, converted: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any) -> None:
        raise AssertionError("converted twice")

    monkeypatch.setattr(models, "convert_gguf", refuse)
    assert resolve_base_model(gguf_dir / "tiny.gguf") == converted
    assert resolve_base_model(converted) == converted  # a checkpoint folder passes through


def test_a_changed_gguf_is_converted_again(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    tiny.write_tiny_gguf(folder / "m.gguf", seed=1)
    first = resolve_base_model(folder)
    tiny.write_tiny_gguf(folder / "m.gguf", seed=2, layers=1)
    assert resolve_base_model(folder) == first
    assert load_model(first).config.num_hidden_layers == 1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "nowhere", "does not exist: expected a checkpoint directory"),
        (
            lambda p: (p / "notes.txt").write_text("x") and p,
            "is not a model: expected a checkpoint directory",
        ),
        (lambda p: (p / "config.json").write_text("{}") and p, "is not a model"),
        (lambda p: [(p / n).write_bytes(b"") for n in ("a.gguf", "b.gguf")] and p, "several GGUF files"),
    ],
)
def test_a_path_that_is_not_a_model_is_named(tmp_path: Path, make: Any, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(ModelPathError, match=message) as caught:
        resolve_base_model(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
