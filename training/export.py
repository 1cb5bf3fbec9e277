"""Write stored conversations to a training file, one JSON record per line, in a chosen format."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from db import store
from db.store import StoredConversation
from training.button_format import button_record

__all__ = ["EXPORTERS", "ExportError", "export_conversations"]

Exporter = Callable[[StoredConversation], dict[str, Any]]

EXPORTERS: dict[str, Exporter] = {"button": button_record}


class ExportError(Exception):
    """The export cannot be written as asked; the message says why."""


def _records(
    sessions: sessionmaker[Session], exporter: Exporter, run_id: int | None, status: str | None
) -> Iterator[dict[str, Any]]:
    with sessions() as session:
        for conversation in store.iter_conversations(session, run_id=run_id, status=status):
            yield exporter(conversation)


def export_conversations(
    sessions: sessionmaker[Session],
    fmt: str,
    out: Path,
    *,
    run_id: int | None = None,
    status: str | None = "accepted",
    on_record: Callable[[int], None] = lambda _: None,
) -> int:
    """Write every matching conversation to `out` (JSON Lines); returns how many were written.

    The file is written beside its target and moved into place at the end, so an interrupted export never
    leaves a truncated file where a good one stood.
    """
    if fmt not in EXPORTERS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of: {', '.join(sorted(EXPORTERS))}")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    count = 0
    with partial.open("w", encoding="utf-8") as sink:
        for record in _records(sessions, EXPORTERS[fmt], run_id, status):
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
            on_record(count)
    if count == 0:
        partial.unlink()
        raise ExportError(
            "no conversation matches: nothing exported (check --run, or use --all for rejected ones)"
        )
    partial.replace(out)
    return count
