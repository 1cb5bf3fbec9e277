"""`button eval --model hf:PATH` with a PATH that is not a model: one `error:` line naming it, a non-zero
exit, and no eval run left behind (the model is checked before anything is stored), for the command and
for the service it calls."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli import app
from datamodel.run_config import EvalConfig
from db.engine import ensure_schema, make_engine, session_factory
from db.models import EvalRun, Run
from evaluation.runner import start_evaluation
from roles.local_models import ModelPathError
from tests.conftest import load_test_module

tiny = load_test_module("button_tests_tiny_lm", Path(__file__).parents[1] / "training" / "tiny_lm.py")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
runner = CliRunner()


def _empty_folder(root: Path) -> Path:
    (root / "README.md").write_text("notes, not a model")
    return root


def _config_without_weights(root: Path) -> Path:
    (root / "config.json").write_text('{"model_type": "qwen2"}')
    return root


def _unreadable_config(root: Path) -> Path:
    (root / "config.json").write_text("{not json")
    (root / "model.safetensors").write_bytes(b"\0" * 16)
    return root


def _no_tokenizer(root: Path) -> Path:
    tokenizer = tiny.build_tokenizer(["a b c"], tiny.CHATML, vocab_size=300)
    tiny.save_tiny_model(tokenizer, root)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"):
        (root / name).unlink(missing_ok=True)
    return root


def _no_chat_template(root: Path) -> Path:
    tokenizer = tiny.build_tokenizer(["a b c"], tiny.CHATML, vocab_size=300)
    tokenizer.chat_template = None  # a base model: nothing to render a conversation with
    return tiny.save_tiny_model(tokenizer, root)


def _not_gguf(root: Path) -> Path:
    path = root / "model.gguf"
    path.write_text("plain text")
    return path


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "empty folder": (_empty_folder, "is not a model (no config.json, weights or .gguf file)"),
    "no weights": (_config_without_weights, "is not a model (config.json but no weights)"),
    "bad config": (_unreadable_config, "its config does not load"),
    "no tokenizer": (_no_tokenizer, "its tokenizer has no vocabulary"),
    "no chat template": (_no_chat_template, "its tokenizer has no chat template"),
    "not gguf": (_not_gguf, "is not a GGUF file"),
}


def _counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    ensure_schema(engine)
    with session_factory(engine)() as session:
        runs = session.scalar(select(func.count()).select_from(Run))
        evals = session.scalar(select(func.count()).select_from(EvalRun))
    return int(runs or 0), int(evals or 0)


@pytest.mark.parametrize("case", list(CASES))
def test_a_folder_that_is_not_a_model_is_one_line_and_no_run(tmp_path: Path, case: str) -> None:
    make, reason = CASES[case]
    folder = tmp_path / "model"
    folder.mkdir()
    model = make(folder)
    url = f"sqlite:///{tmp_path / 'eval.db'}"
    # a good model first: nothing is stored for it either, since every model is checked first
    result = runner.invoke(
        app, ["eval", "--model", "offline", "--model", f"hf:{model}", "--n", "1", "--db", url]
    )
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert lines[0].startswith(f"error: --model hf:{model}: ") and reason in lines[0], lines[0]
    assert _counts(url) == (0, 0)


def test_the_service_checks_the_model_before_storing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'eval.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    config = EvalConfig(model=f"hf:{_empty_folder(tmp_path)}", label="x", n=1)
    with pytest.raises(ModelPathError, match="is not a model"):
        start_evaluation(session_factory(engine), config)
    assert _counts(url) == (0, 0)
