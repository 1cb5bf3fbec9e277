"""The export's files: filters, the task-level train/validation split, manifests, the Hugging Face copy
and its card, and the `button export` command itself."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cli import app
from datamodel.tasks import Strategy
from db import store
from db.errors import masked_url
from tests.conftest import load_test_module
from training.export import ExportError, export_dataset
from training.export_config import ExportConfig
from training.manifest import manifest_path
from training.split import split_of

data = load_test_module("button_tests_export_data", Path(__file__).with_name("export_data.py"))
MANIFEST_KEYS = {"format", "db", "filters", "split", "count", "conversation_ids", "sha256", "created_at"}


@pytest.fixture(scope="module")
def export_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, sessionmaker[Session]]:
    return data.build_export_db(tmp_path_factory.mktemp("export"))  # type: ignore[no-any-return]


@pytest.fixture
def sessions(export_db: tuple[str, sessionmaker[Session]]) -> sessionmaker[Session]:
    return export_db[1]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _manifest(path: Path) -> dict[str, Any]:
    return json.loads(manifest_path(path).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _instructions(sessions: sessionmaker[Session], ids: list[int]) -> list[str]:
    with sessions() as session:
        wanted = set(ids)
        return [c.task.instruction for c in store.iter_conversations(session, status=None) if c.id in wanted]


def test_manifest_records_the_file_exactly(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    out = tmp_path / "data.jsonl"
    result = export_dataset(sessions, ExportConfig(format="openai", out=out, strategy=Strategy.SEQUENTIAL))
    manifest = _manifest(out)
    assert set(manifest) >= MANIFEST_KEYS
    assert manifest["format"] == "openai" and manifest["split"] is None
    assert manifest["count"] == result.count == len(_lines(out)) == len(manifest["conversation_ids"])
    assert manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert manifest["filters"]["strategy"] == "sequential" and manifest["filters"]["status"] == "accepted"
    assert manifest["db"].startswith("sqlite:///")
    assert not list(tmp_path.glob("*.partial"))


def test_password_is_masked_in_the_manifest_url() -> None:
    masked = masked_url("postgresql+psycopg://me:s3cret@db.example:5432/button")
    assert "s3cret" not in masked and masked.startswith("postgresql+psycopg://me:***@db.example")


@pytest.mark.parametrize(
    ("changes", "keep"),
    [
        ({}, lambda c: c.status == "accepted"),
        ({"include_rejected": True}, lambda c: True),
        ({"model": data.REJECTED_MODEL, "include_rejected": True}, lambda c: c.status == "rejected"),
        ({"depth": 3}, lambda c: c.status == "accepted" and c.task.depth == 3),
        ({"n_subtasks": 2}, lambda c: c.status == "accepted" and len(c.task.subtasks) == 2),
        ({"run": 2}, lambda c: c.status == "accepted" and c.run_id == 2),
    ],
)
def test_filters_select_the_same_conversations_as_a_python_filter(
    sessions: sessionmaker[Session], tmp_path: Path, changes: dict[str, Any], keep: Any
) -> None:
    out = tmp_path / "f.jsonl"
    export_dataset(sessions, ExportConfig(format="trl", out=out, **changes))
    with sessions() as session:
        expected = [c.id for c in store.iter_conversations(session, status=None) if keep(c)]
    assert _manifest(out)["conversation_ids"] == expected


def test_empty_selection_is_an_error_and_writes_nothing(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    out = tmp_path / "none.jsonl"
    with pytest.raises(ExportError, match="no conversation matches"):
        export_dataset(sessions, ExportConfig(out=out, run=99))
    assert list(tmp_path.iterdir()) == []


def test_split_is_by_task_and_deterministic(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    config = ExportConfig(format="sharegpt", out=tmp_path / "d.jsonl", val_fraction=0.3, split_seed=4)
    result = export_dataset(sessions, config)
    train, validation = tmp_path / "d.train.jsonl", tmp_path / "d.validation.jsonl"
    assert set(result.files.values()) == {train, validation} and not (tmp_path / "d.jsonl").exists()
    ids = {split: _manifest(path)["conversation_ids"] for split, path in (("t", train), ("v", validation))}
    assert ids["t"] and ids["v"]
    assert _manifest(train)["split"] == "train" and _manifest(validation)["split"] == "validation"
    train_tasks, val_tasks = (set(_instructions(sessions, ids[s])) for s in ("t", "v"))
    assert not train_tasks & val_tasks  # every instruction is in two runs, yet only ever on one side
    assert len(ids["t"]) + len(ids["v"]) == 50
    first = {p.name: p.read_bytes() for p in (train, validation)}
    export_dataset(sessions, config)
    assert {p.name: p.read_bytes() for p in (train, validation)} == first


def test_split_of_is_a_pure_hash_of_instruction_and_seed() -> None:
    names = [f"task number {i}" for i in range(2000)]
    held_out = [n for n in names if split_of(n, 0, 0.2) == "validation"]
    assert 300 < len(held_out) < 500
    assert held_out == [n for n in names if split_of(n, 0, 0.2) == "validation"]
    assert held_out != [n for n in names if split_of(n, 1, 0.2) == "validation"]
    assert all(split_of(n, 0, 0.0) == "train" for n in names)


@pytest.mark.parametrize("fmt", ["trl", "openai"])
def test_hub_copy_loads_back_equal_to_the_files(
    sessions: sessionmaker[Session], tmp_path: Path, fmt: str
) -> None:
    from datasets import load_from_disk

    hub = tmp_path / "hub"
    config = ExportConfig(format=fmt, out=tmp_path / "d.jsonl", val_fraction=0.3, to_hub_dir=hub)
    result = export_dataset(sessions, config)
    loaded = load_from_disk(str(hub))
    assert set(loaded) == {"train", "validation"}
    for split, path in result.files.items():
        assert [dict(row) for row in loaded[split or "train"]] == _lines(path)  # no null-filled arguments


def test_dataset_card_describes_the_export(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    export_dataset(sessions, ExportConfig(format="hermes", out=tmp_path / "d.jsonl", to_hub_dir=hub))
    card = (hub / "README.md").read_text(encoding="utf-8")
    _, front, prose = card.split("---\n", 2)
    meta = yaml.safe_load(front)
    assert meta["license"] == "apache-2.0" and meta["size_categories"] == ["n<1K"]
    assert {"task_categories", "tags"} <= set(meta)
    assert meta["configs"][0]["data_files"] == [{"split": "train", "path": "train/*.arrow"}]
    for words in (
        "BUTTON",
        "offline world",
        "Verification",
        "| sequential |",
        "accepted only",
        "<tool_call>",
    ):
        assert words in prose


def test_cli_exports_with_filters_split_and_manifest(export_db: tuple[str, Any], tmp_path: Path) -> None:
    url = export_db[0]
    out = tmp_path / "cli.jsonl"
    args = ["export", "--format", "trl", "--db", url, "--out", str(out), "--strategy", "sequential"]
    result = CliRunner().invoke(app, [*args, "--val-fraction", "0.5", "--split-seed", "1"])
    assert result.exit_code == 0, result.output
    assert "cli.train.jsonl" in result.output and "cli.validation.jsonl" in result.output
    assert _manifest(tmp_path / "cli.train.jsonl")["filters"]["strategy"] == "sequential"
    bad = CliRunner().invoke(app, ["export", "--db", url, "--out", str(out), "--strategy", "zigzag"])
    assert bad.exit_code == 1 and "--strategy" in bad.output
