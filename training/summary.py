"""Counts gathered while exporting, for the CLI's closing line, the manifests and the dataset card.

Collected from each conversation as it streams past, so describing an export costs no second query.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from db.store import StoredConversation

__all__ = ["ExportStats"]


@dataclass
class ExportStats:
    """What went into an export: per split, strategies and verdicts; overall, runs and models."""

    by_split_strategy: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    by_depth: Counter[int] = field(default_factory=Counter)
    models: dict[str, Counter[str]] = field(default_factory=dict)
    runs: set[int] = field(default_factory=set)
    duplicates_skipped: int = 0  # conversations whose record repeated one already written

    def add(self, conversation: StoredConversation, split: str) -> None:
        """Count one exported conversation, written to `split`."""
        self.by_split_strategy[(split, conversation.task.strategy.value)] += 1
        self.by_status[conversation.status] += 1
        self.by_depth[conversation.task.depth] += 1
        for role, model in conversation.models.items():
            self.models.setdefault(role, Counter())[model] += 1
        self.runs.add(conversation.run_id)

    @property
    def total(self) -> int:
        """Conversations exported, over every split."""
        return sum(self.by_split_strategy.values())

    def split_count(self, split: str) -> int:
        """Conversations written to one split."""
        return sum(n for (name, _), n in self.by_split_strategy.items() if name == split)

    def strategies(self, split: str | None = None) -> dict[str, int]:
        """Conversations per strategy, in one split or all of them, most frequent first."""
        counts: Counter[str] = Counter()
        for (name, strategy), n in self.by_split_strategy.items():
            if split is None or name == split:
                counts[strategy] += n
        return dict(counts.most_common())
