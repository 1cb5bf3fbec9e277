"""The export as a Hugging Face `datasets` DatasetDict on disk (save_to_disk), with a dataset card.

Columns holding lists of messages or tools are `List(Json())` and other nested values `Json()`: stored as
JSON text, they load back exactly, where Arrow's struct inference would merge every call's arguments into
one struct and fill the keys a call did not use with nulls (notes/stack.md 3.4).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict, Features, Json, List, Value
from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

from training.card import dataset_card
from training.data import read_json_lines
from training.export_config import ExportConfig
from training.summary import ExportStats

__all__ = ["hub_features", "write_hub_dataset"]


def hub_features(record: dict[str, Any]) -> Features:
    """Features for records shaped like this one: strings and booleans as such, nested values as JSON."""
    columns: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, bool):
            columns[key] = Value("bool")
        elif isinstance(value, str):
            columns[key] = Value("string")
        elif isinstance(value, list):
            columns[key] = List(Json())
        else:
            columns[key] = Json()
    return Features(columns)


def _records(path: Path) -> Iterator[dict[str, Any]]:
    return (record for _where, record in read_json_lines(path))


def _first_record(files: dict[str | None, Path]) -> dict[str, Any]:
    for path in files.values():
        for record in _records(path):
            return record
    raise ValueError("no records to describe: every export file is empty")


def write_hub_dataset(
    files: dict[str | None, Path], config: ExportConfig, stats: ExportStats, db_url: str
) -> Path:
    """Save the exported files as a DatasetDict (train [+ validation]) and its README.md; returns the dir."""
    assert config.to_hub_dir is not None
    features = hub_features(_first_record(files))
    splits = DatasetDict(
        {
            split or "train": Dataset.from_list(list(_records(path)), features=features)
            for split, path in files.items()
        }
    )
    target = config.to_hub_dir
    quiet = are_progress_bars_disabled()
    disable_progress_bars()  # the CLI shows its own progress; datasets' bars would interleave with it
    try:
        splits.save_to_disk(str(target))
    finally:
        if not quiet:
            enable_progress_bars()
    card = dataset_card(config, stats, db_url, {name: len(ds) for name, ds in splits.items()})
    (target / "README.md").write_text(card, encoding="utf-8")
    return target
