"""The dataset card (README.md) of a Hugging Face export: YAML metadata, then what the data is and how
it was made, its fields, its counts, and the filters that selected it.

Plain string building: the card must say exactly what this export holds, from the counts gathered while
writing it, and the YAML is simple enough that JSON-quoted scalars keep it valid.
"""

from __future__ import annotations

import json

from training.export_config import ExportConfig
from training.summary import ExportStats

__all__ = ["FIELDS", "dataset_card", "size_category"]

FIELDS = {
    "button": "`messages`: system (tools inside `<tool>`, the reply rules), user, assistant (plan or "
    "observation, then `<call>[...]</call>` or `<final>...</final>`), tool (a JSON list of "
    '`{"name", "arguments", "results"}`).',
    "openai": "`messages` with assistant `tool_calls` (`arguments` a JSON string) and `tool` messages "
    "answering a `tool_call_id`; `tools` (OpenAI function tools); `parallel_tool_calls`.",
    "trl": "`messages` with assistant `tool_calls` (`arguments` an object) and `tool` messages with "
    "`name` and `tool_call_id`; `tools` as a JSON string, as TRL's SFTTrainer reads it.",
    "sharegpt": "`conversations` (from: human, function_call, observation, gpt), `system`, and `tools` as "
    "a JSON string, as LLaMA-Factory reads ShareGPT data with tools.",
    "hermes": "`messages` (system, user, assistant, tool): tools inside `<tools>` in the system prompt, "
    "calls as `<tool_call>` JSON in assistant text, results as `<tool_response>` JSON in tool messages.",
}

_SIZES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))


def size_category(n: int) -> str:
    """The Hub's size_categories bucket for n examples."""
    return next((name for limit, name in _SIZES if n < limit), "n>1M")


def _front_matter(config: ExportConfig, split_sizes: dict[str, int]) -> str:
    data_files = "\n".join(
        f"  - split: {name}\n    path: {json.dumps(f'{name}/*.arrow')}" for name in split_sizes
    )
    tags = ["function-calling", "tool-use", "multi-turn", "synthetic", "compositional", config.format]
    return (
        "---\nlicense: apache-2.0\nlanguage:\n- en\ntask_categories:\n- text-generation\n"
        f"tags:\n{''.join(f'- {tag}' + chr(10) for tag in tags)}"
        f"size_categories:\n- {json.dumps(size_category(sum(split_sizes.values())))}\n"
        f"pretty_name: BUTTON-style compositional function calling ({config.format})\n"
        f"configs:\n- config_name: default\n  data_files:\n{data_files}\n---\n"
    )


def _models_text(stats: ExportStats) -> str:
    if not stats.models:
        return "The models of the three roles were not recorded."
    offline = all(m.startswith("offline") for models in stats.models.values() for m in models)
    lead = (
        "Every role was played by the **offline world**'s scripted clients, not an LLM: a seeded knowledge "
        "base executes each call, so every result is real and every task has a known plan and answer."
        if offline
        else "The three roles were played by these models (conversations per model):"
    )
    lines = [
        f"- {role}: " + ", ".join(f"`{model}` ({n})" for model, n in models.most_common())
        for role, models in sorted(stats.models.items())
    ]
    return lead + "\n\n" + "\n".join(lines)


def _counts_table(stats: ExportStats, split_sizes: dict[str, int]) -> str:
    names = list(split_sizes)
    rows = ["| strategy | " + " | ".join(names) + " | all |", "|---|" + "---|" * (len(names) + 1)]
    for strategy, total in stats.strategies().items():
        per_split = [str(stats.by_split_strategy[(name, strategy)]) for name in names]
        rows.append(f"| {strategy} | " + " | ".join(per_split) + f" | {total} |")
    rows.append("| **all** | " + " | ".join(str(split_sizes[n]) for n in names) + f" | {stats.total} |")
    return "\n".join(rows)


def _filters_text(config: ExportConfig, stats: ExportStats, db_url: str) -> str:
    verdict = "accepted and rejected" if config.include_rejected else "accepted only"
    chosen = {k: v for k, v in config.manifest_filters().items() if v is not None and k != "status"}
    split = (
        f"{config.val_fraction:g} of tasks held out for validation, chosen by a hash of the task's "
        f"instruction (seed {config.split_seed}), so no task is in both splits"
        if config.val_fraction
        else "one split (train)"
    )
    return (
        f"- source: `{db_url}`, run(s) {', '.join(map(str, sorted(stats.runs)))}\n"
        f"- verdict: {verdict}\n"
        f"- other filters: {', '.join(f'`{k}={v}`' for k, v in chosen.items()) or 'none'}\n"
        f"- split: {split}\n"
    )


_METHOD = """\
The data follows BUTTON (Chen et al., *Facilitating Multi-turn Function Calling for LLMs via
Compositional Instruction Tuning*, ICLR 2025, arXiv 2410.12952), re-implemented by button-sim:

1. **Bottom-up tasks.** Simple one-step tasks from everyday scenarios are combined into compositional
   ones: *sequential* (one step's output feeds the next) and *parallel-then-sequential* (independent
   steps first, then one that uses them all); logic steps such as a difference or a maximum need no
   function. The functions each task needs are written for it, with JSON-Schema parameters and responses.
2. **Top-down conversations.** Three agents play each task out: a user who asks for it, an assistant who
   plans, calls functions and answers, and a tool that returns each call's result. The assistant saw the
   task's sub-task decomposition as a private hint while simulating; the hint is in none of the records.
3. **Verification.** Every conversation is checked layer by layer: the calls parse, name offered
   functions and validate against their schemas, cover every sub-task in a valid dependency order, and
   the final answer is present and (where the answer is known) right. Only conversations that pass every
   check are *accepted*."""


def dataset_card(config: ExportConfig, stats: ExportStats, db_url: str, split_sizes: dict[str, int]) -> str:
    """The README.md of the saved DatasetDict."""
    sections = [
        _front_matter(config, split_sizes),
        f"# Compositional multi-turn function calling, `{config.format}` format\n",
        f"{stats.total} synthetic conversations in which an assistant solves a multi-step request by "
        "calling functions over several turns, planning first and using earlier results in later calls.\n",
        "## How it was made\n\n" + _METHOD + "\n",
        _models_text(stats) + "\n",
        "## Fields\n\n" + FIELDS[config.format] + "\n\nNested columns are stored as JSON values "
        "(`datasets.Json`), so each call's arguments load back exactly as written.\n",
        "## Counts by strategy\n\n" + _counts_table(stats, split_sizes) + "\n",
        "## Selection\n\n" + _filters_text(config, stats, db_url),
    ]
    return "\n".join(sections)
