"""Training files and the manifest beside each: where the data came from, what it holds, its checksum.

`<file>.manifest.json` has the keys {format, db, filters, split, count, conversation_ids,
task_fingerprints, sha256, created_at} (plus a few extras); `button train` reads it to record which
conversations a model learnt from, and `button eval` reads `task_fingerprints` to keep those tasks out of
an evaluation, so those keys stay as they are. The database URL is stored with its password masked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["RecordSink", "manifest_path", "write_manifest"]


def manifest_path(path: Path) -> Path:
    """Where the manifest of a training file goes: beside it, named after it."""
    return path.with_name(path.name + ".manifest.json")


class RecordSink:
    """A JSON Lines file written beside its target and moved into place on success.

    It hashes the bytes as they are written and notes each record's conversation id, so the manifest
    costs no second pass over the file; on an error the partial file is removed and the target untouched.
    """

    def __init__(self, path: Path, split: str | None) -> None:
        self.path, self.split = path, split
        self.conversation_ids: list[int] = []
        self.task_fingerprints: set[str] = set()
        self._digest = hashlib.sha256()
        self._partial = path.with_name(path.name + ".partial")
        self._file = self._partial.open("wb")

    @property
    def count(self) -> int:
        """Records written so far."""
        return len(self.conversation_ids)

    @property
    def sha256(self) -> str:
        """Hex sha256 of the bytes written so far (the whole file, once closed)."""
        return self._digest.hexdigest()

    def write(self, conversation_id: int, record: dict[str, Any], task_fingerprint: str = "") -> None:
        """Append one record as a line of JSON; note its conversation and its task's fingerprint."""
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        self._file.write(line)
        self._digest.update(line)
        self.conversation_ids.append(conversation_id)
        if task_fingerprint:
            self.task_fingerprints.add(task_fingerprint)

    def __enter__(self) -> RecordSink:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._file.close()
        if kind is None:
            self._partial.replace(self.path)
        else:
            self._partial.unlink(missing_ok=True)


def write_manifest(
    sink: RecordSink, *, fmt: str, db_url: str, filters: dict[str, Any], extra: dict[str, Any]
) -> Path:
    """Write the manifest of a finished sink's file; returns its path. `db_url` comes already masked."""
    manifest = {
        "format": fmt,
        "db": db_url,
        "filters": filters,
        "split": sink.split,
        "count": sink.count,
        "conversation_ids": sink.conversation_ids,
        "task_fingerprints": sorted(sink.task_fingerprints),
        "sha256": sink.sha256,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **extra,
    }
    path = manifest_path(sink.path)
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
