"""`button train` end to end on a tiny model built here: generate → export → train a few steps (the loss
falls) → the saved model loads and answers → the run is in the database; and bad input fails cleanly."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli import app
from db.engine import make_engine, session_factory
from db.models import TrainingRun
from tests.conftest import load_test_module
from training.config import TrainConfig
from training.data import file_sha256

tiny = load_test_module("button_tests_tiny_lm", Path(__file__).with_name("tiny_lm.py"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
runner = CliRunner()


def button(*args: Any) -> Any:
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An exported offline run (20 tasks), and a tiny Qwen2 model whose tokenizer learnt that data."""
    root = tmp_path_factory.mktemp("train")
    db = f"sqlite:///{root / 'button.db'}"
    assert button("generate", "--n", 20, "--workers", 0, "--db", db).exit_code == 0
    data = root / "data.jsonl"
    assert button("export", "--format", "button", "--out", data, "--db", db).exit_code == 0
    tokenizer = tiny.export_tokenizer(data)
    model = tiny.save_tiny_model(tokenizer, root / "tiny-model")
    return {"root": root, "db": db, "data": data, "model": model}


def train_args(ws: dict[str, Any], out: Path, *extra: Any, max_length: int = 1024) -> list[Any]:
    return [
        "train", "--data", ws["data"], "--base-model", ws["model"], "--out", out, "--db", ws["db"],
        "--batch-size", 2, "--micro-batch", 2, "--max-length", max_length, "--seed", 3, *extra,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def trained(workspace: dict[str, Any]) -> dict[str, Any]:
    out = workspace["root"] / "trained"
    result = button(*train_args(workspace, out, "--max-steps", 8, "--lr", 3e-3))
    assert result.exit_code == 0, result.output
    return {**workspace, "out": out, "output": result.output}


def test_loss_falls_over_a_few_steps_and_the_run_is_recorded(trained: dict[str, Any]) -> None:
    with session_factory(make_engine(trained["db"]))() as session:
        run = session.scalars(select(TrainingRun)).one()
    assert run.status == "finished" and run.finished_at is not None
    losses = [row["loss"] for row in run.loss_history or []]
    assert len(losses) == 8
    assert losses[-1] < losses[0]
    assert run.final_loss == losses[-1]
    assert run.data_sha256 == file_sha256(trained["data"])
    manifest = run.data_manifest or {}
    assert manifest.get("format") == "button" and len(manifest.get("conversation_ids", [])) == 20
    assert run.n_examples and run.n_examples + (run.n_dropped or 0) == 20
    assert run.config["learning_rate"] == 3e-3 and run.config["max_steps"] == 8
    assert TrainConfig(**run.config).learning_rate == 3e-3  # read back by the class that wrote it
    assert run.output_dir == str(trained["out"])
    assert "training run 1" in trained["output"]


def test_saved_model_loads_and_generates(trained: dict[str, Any]) -> None:
    out = trained["out"]
    assert (out / "loss.png").stat().st_size > 1000
    result = button(
        "chat", "Weather in Valport?", "--model", out, "--data", trained["data"], "--max-new-tokens", 5
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip()


def test_lora_trains_and_saves_a_merged_model(workspace: dict[str, Any]) -> None:
    out = workspace["root"] / "lora"
    result = button(*train_args(workspace, out, "--max-steps", 2, "--lora", "--lr", 1e-3))
    assert result.exit_code == 0, result.output
    assert (out / "model.safetensors").is_file() and not (out / "adapter_config.json").exists()
    assert button("chat", "hi", "--model", out, "--max-new-tokens", 3).exit_code == 0


def test_long_conversations_are_cut_at_a_turn_with_a_warning(workspace: dict[str, Any]) -> None:
    out = workspace["root"] / "cut"
    result = button(*train_args(workspace, out, "--max-steps", 1, max_length=900))
    assert result.exit_code == 0, result.output
    assert "cut at the last whole assistant turn" in result.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"data": "empty"}, "is empty: no records"),
        ({"data": "missing"}, "does not exist"),
        ({"data": "not-json"}, "line 1: not JSON"),
        ({"max_length": 40}, "none has a whole assistant turn within --max-length 40"),
        ({"base_model": "not-a-model"}, "is not a model: expected a checkpoint directory"),
        ({"data": "trl-rows"}, "drops the calls of assistant message"),
        ({"epochs": -1}, "invalid --epochs"),
    ],
)
def test_bad_input_is_one_clean_line(workspace: dict[str, Any], change: dict[str, Any], message: str) -> None:
    root = workspace["root"]
    (root / "empty.jsonl").write_text("\n")
    (root / "not-json.jsonl").write_text("{oops\n")
    (root / "not-a-model").mkdir(exist_ok=True)
    (root / "not-a-model" / "readme.txt").write_text("hello")
    trl_row = {
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"function": {"name": "f", "arguments": {}}}],
            },
        ]
    }
    (root / "trl-rows.jsonl").write_text(json.dumps(trl_row) + "\n")
    paths = {"data": lambda v: root / f"{v}.jsonl", "base_model": lambda v: root / v}
    args = {"data": workspace["data"], "base_model": workspace["model"], "max_length": 1024}
    args |= {key: paths.get(key, lambda v: v)(value) for key, value in change.items()}
    flags = [item for key, value in args.items() for item in (f"--{key.replace('_', '-')}", value)]
    result = button("train", "--out", root / "bad", "--db", workspace["db"], *flags)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(("data", "message"), [("empty", "is empty: no records"), ("not-json", "not JSON")])
def test_bad_data_is_named_before_the_base_model_is_touched(
    workspace: dict[str, Any], data: str, message: str
) -> None:
    """The data is checked first: a base model that does not exist is never reached (before, a GGUF
    base was converted and loaded, ~90 s, before an empty file was noticed)."""
    root = workspace["root"]
    (root / "empty.jsonl").write_text("\n")
    (root / "not-json.jsonl").write_text("{oops\n")
    result = button(
        "train", "--out", root / "early", "--db", workspace["db"], "--data", root / f"{data}.jsonl",
        "--base-model", root / "no-such-model",
    )  # fmt: skip
    assert result.exit_code == 1 and message in result.output, result.output
    assert "no-such-model" not in result.output


def test_the_default_base_model_does_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from training.config import TrainConfig

    monkeypatch.chdir(tmp_path)
    default = Path(TrainConfig(data="x.jsonl").base_model)
    assert default.is_absolute() and default.parent.name == ".models" and default.name == "smollm2"


def test_no_matplotlib_means_no_loss_plot_not_a_failed_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from training.loss_plot import save_loss_plot

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the `train` extra were not installed
    assert save_loss_plot([{"step": 1, "loss": 1.0}], tmp_path / "loss.png") is None
    assert not (tmp_path / "loss.png").exists()
