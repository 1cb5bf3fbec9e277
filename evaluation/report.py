"""Evaluation results for people: a comparison table, a JSON report, a PNG bar chart.

Every output takes a list of EvalReports (one per model), so one model and a base-vs-fine-tuned
comparison read the same way: rows are the cuts (all tasks, each strategy, each number of sub-tasks,
each behaviour), one line per model within a cut.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from db.reports import Table
from evaluation.metrics import LOOK_ALIKE_GROUP, MetricSummary, behaviour_sort_key
from evaluation.runner import EvalReport

__all__ = ["CUT_TITLES", "LEGEND", "comparison_table", "save_chart", "write_json_report"]

CUT_TITLES = {
    "overall": "all tasks",
    "strategy": "strategy",
    "n_subtasks": "sub-tasks",
    "behaviour": "behaviour",
}
_COLUMNS = ["tasks", "model", "n", "succ%", "prog%", "grnd%", "fmt%", "turns", "par%", "beh%"]
LEGEND = (
    "succ: final answer right · prog: required calls made right, in order · grnd: calls to an offered "
    "function with valid arguments · fmt: malformed replies · par: call turns with parallel calls · beh: "
    "the behaviour's check passed (asked instead of guessing, answered every follow-up, refused when "
    "nothing fits, recovered from the error; on the +look-alikes line: called no look-alike)"
)
_SHORT = {
    "parallel_then_sequential": "par-then-seq",
    "follow_up": "follow-up",
    "tool_error": "tool error",
    "look_alike": "+look-alikes",
}


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _row(cut: str, key: str, label: str, summary: MetricSummary) -> tuple[Any, ...]:
    turns = "–" if summary.mean_turns is None else f"{summary.mean_turns:.1f}"
    return (
        _cut_name(cut, key),
        label,
        summary.n,
        _percent(summary.success_rate),
        _percent(summary.progress_rate),
        _percent(summary.grounding),
        _percent(summary.format_error_rate),
        turns,
        _percent(summary.parallel_use),
        _percent(_value(summary, cut, key, "behaviour_rate")),
    )


def _cut_name(cut: str, key: str) -> str:
    """Short enough for an 80-column terminal: 'all', 'sequential', 'par-then-seq', '3 sub-tasks'."""
    if cut == "overall":
        return "all"
    if cut == "n_subtasks":
        return f"{key} sub-task{'s' if key != '1' else ''}"
    return _SHORT.get(key, key)


def _has_behaviours(reports: Sequence[EvalReport]) -> bool:
    """Whether any task evaluated had a behaviour or look-alikes (else the behaviour cut only repeats
    'all')."""
    return any(set(r.breakdowns.get("behaviour", {})) - {"plain"} for r in reports)


def _cuts(reports: Sequence[EvalReport]) -> list[str]:
    return [cut for cut in CUT_TITLES if cut != "behaviour" or _has_behaviours(reports)]


def comparison_table(
    reports: Sequence[EvalReport], title: str = "evaluation (held-out tasks, no sub-task hints)"
) -> Table:
    """Every cut any report has, each model's line under it (a dash where a model has no such tasks)."""
    rows: list[tuple[Any, ...]] = []
    for cut in _cuts(reports):
        keys = sorted({k for r in reports for k in r.breakdowns.get(cut, {})}, key=_sort_key(cut))
        for key in keys:
            for report in reports:
                summary = report.breakdowns.get(cut, {}).get(key)
                if summary is not None:
                    rows.append(_row(cut, key, _label(report), summary))
    columns = list(_COLUMNS)
    if all(row[-1] == "–" for row in rows):  # no task had a behaviour: plain tasks keep 80 columns
        columns, rows = columns[:-1], [row[:-1] for row in rows]
    return Table(title, columns, rows)


def _sort_key(cut: str) -> Any:
    if cut == "n_subtasks":
        return lambda key: int(key)
    return behaviour_sort_key if cut == "behaviour" else (lambda key: key)


def _label(report: EvalReport) -> str:
    return f"{report.label} #{report.eval_run_id}"


def write_json_report(reports: Sequence[EvalReport], path: Path) -> Path:
    """The reports as one JSON document: each evaluation's provenance and every metric of every cut."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"evaluations": [report.as_json() for report in reports]}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


_CHART_METRICS = (
    ("success_rate", "success rate"),
    ("progress_rate", "progress rate"),
    ("behaviour_rate", "behaviour check passed"),
)


def save_chart(reports: Sequence[EvalReport], path: Path) -> Path:
    """Grouped bars, one colour per model: success, progress and behaviour rate (rows) per cut (columns).
    The behaviour row's look-alike group shows the twin rate (its own check)."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers; must precede pyplot
    import matplotlib.pyplot as plt

    cuts = _cuts(reports)
    metrics = [m for m in _CHART_METRICS if m[0] != "behaviour_rate" or _has_behaviours(reports)]
    widths = [max(1, len({k for r in reports for k in r.breakdowns.get(c, {})})) for c in cuts]
    figure, axes = plt.subplots(
        len(metrics),
        len(cuts),
        figsize=(4 + 1.6 * sum(widths), 3.3 * len(metrics)),
        squeeze=False,
        gridspec_kw={"width_ratios": widths},
    )
    for row, (metric, metric_title) in enumerate(metrics):
        for column, cut in enumerate(cuts):
            _bars(axes[row][column], reports, cut, metric)
            where = "all tasks" if cut == "overall" else f"by {CUT_TITLES[cut]}"
            axes[row][column].set_title(f"{metric_title}, {where}", fontsize=10)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=min(4, len(reports)), frameon=False)
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _value(summary: MetricSummary, cut: str, key: str, metric: str) -> float | None:
    """A cell or bar: the metric, except that look-alikes are judged by their own check (right_twin)."""
    if metric == "behaviour_rate" and cut == "behaviour" and key == LOOK_ALIKE_GROUP:
        return summary.twin_rate
    value = getattr(summary, metric)
    return value if value is None else float(value)


def _bars(axes: Any, reports: Sequence[EvalReport], cut: str, metric: str) -> None:
    keys = sorted({k for r in reports for k in r.breakdowns.get(cut, {})}, key=_sort_key(cut))
    width = 0.8 / max(1, len(reports))
    for i, report in enumerate(reports):
        groups = report.breakdowns.get(cut, {})
        values = [_value(groups[k], cut, k, metric) if k in groups else None for k in keys]
        heights = [100 * v if v is not None else 0.0 for v in values]
        positions = [x + (i - (len(reports) - 1) / 2) * width for x in range(len(keys))]
        bars = axes.bar(positions, heights, width, label=_label(report))
        for bar, value in zip(bars, values, strict=True):
            text = "–" if value is None else f"{100 * value:.0f}"
            axes.annotate(
                text,
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
            )
    axes.set_xticks(range(len(keys)), [_cut_name(cut, k) for k in keys], fontsize=8)
    axes.set_ylim(0, 110)
    axes.set_ylabel("%")
    axes.grid(axis="y", alpha=0.3)
