"""Write stored conversations to training files in a chosen format, with a manifest beside each.

One streaming pass: conversations come from the store a batch at a time (tasks loaded once per batch),
each is rendered and written to its split's file at once, so memory stays flat however many there are.
Files are written beside their targets and moved into place only when the whole export succeeded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from db import store
from db.errors import masked_url
from training.export_config import ExportConfig
from training.formats import FORMATS
from training.manifest import RecordSink, write_manifest
from training.split import SPLITS, split_of
from training.summary import ExportStats

__all__ = [
    "ExportError",
    "ExportResult",
    "export_conversations",
    "export_dataset",
    "split_paths",
]


class ExportError(Exception):
    """The export cannot be written as asked; the message says why."""


@dataclass(frozen=True)
class ExportResult:
    """The files an export wrote (split → path; None is the single unsplit file) and what they hold."""

    files: dict[str | None, Path]
    stats: ExportStats
    hub_dir: Path | None = None

    @property
    def count(self) -> int:
        """Conversations exported, over every file."""
        return self.stats.total


def split_paths(out: Path, val_fraction: float) -> dict[str | None, Path]:
    """`out` itself, or `<stem>.train.jsonl` and `<stem>.validation.jsonl` beside it when splitting."""
    if val_fraction == 0:
        return {None: out}
    return {split: out.with_name(f"{out.stem}.{split}.jsonl") for split in SPLITS}


def _source_url(sessions: sessionmaker[Session]) -> str:
    """The database URL, password masked once here: every file the export writes quotes this form."""
    with sessions() as session:
        return masked_url(session.get_bind().engine.url)


def _write_files(
    sessions: sessionmaker[Session], config: ExportConfig, on_record: Callable[[int], None]
) -> tuple[dict[str | None, RecordSink], ExportStats]:
    render = FORMATS[config.format].render
    stats = ExportStats()
    with ExitStack() as stack:
        sinks = {
            split: stack.enter_context(RecordSink(path, split))
            for split, path in split_paths(config.out, config.val_fraction).items()
        }
        written: set[bytes] = set()  # digests of the records written: the same content goes in once
        with sessions() as session:
            for conversation in store.iter_conversations(session, **config.store_filters()):
                record = render(conversation)
                if not config.duplicates:
                    digest = hashlib.sha256(json.dumps(record, ensure_ascii=False).encode()).digest()
                    if digest in written:
                        stats.duplicates_skipped += 1
                        continue
                    written.add(digest)
                split = None
                if config.val_fraction:
                    split = split_of(conversation.task.instruction, config.split_seed, config.val_fraction)
                sinks[split].write(conversation.id, record, conversation.task.fingerprint())
                stats.add(conversation, split or "train")
                on_record(stats.total)
        if stats.total == 0:
            raise ExportError(
                "no conversation matches: nothing exported "
                "(check the filters, or use --all for rejected ones)"
            )
    return sinks, stats


def export_dataset(
    sessions: sessionmaker[Session],
    config: ExportConfig,
    *,
    on_record: Callable[[int], None] = lambda _: None,
) -> ExportResult:
    """Export every matching conversation as `config` says: the file(s), their manifests, the hub copy."""
    config.out.parent.mkdir(parents=True, exist_ok=True)
    sinks, stats = _write_files(sessions, config, on_record)
    db_url = _source_url(sessions)
    for split, sink in sinks.items():
        extra = {
            "by_strategy": stats.strategies(split or "train"),
            "val_fraction": config.val_fraction,
            "split_seed": config.split_seed,
            "duplicates_skipped": stats.duplicates_skipped,
        }
        write_manifest(sink, fmt=config.format, db_url=db_url, filters=config.manifest_filters(), extra=extra)
    files = {split: sink.path for split, sink in sinks.items()}
    hub_dir = None
    if config.to_hub_dir is not None:
        from training.hub import write_hub_dataset  # datasets is heavy: imported only when asked for

        hub_dir = write_hub_dataset(files, config, stats, db_url)
    return ExportResult(files=files, stats=stats, hub_dir=hub_dir)


def export_conversations(
    sessions: sessionmaker[Session],
    fmt: str,
    out: Path,
    *,
    run_id: int | None = None,
    status: str | None = "accepted",
    on_record: Callable[[int], None] = lambda _: None,
) -> int:
    """One unsplit file of one format (accepted conversations, or all with status=None); returns the count."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if status not in ("accepted", None):
        raise ExportError(f"status must be 'accepted' or None (everything), got {status!r}")
    config = ExportConfig(format=fmt, out=out, run=run_id, include_rejected=status is None)
    return export_dataset(sessions, config, on_record=on_record).count
