"""Rich renderables of one stored conversation, shared by `button show`, `button replay --plain` and the
replay app (Textual draws Rich renderables as they are), so a turn looks the same everywhere.

A fork's shared turns (before its fork turn) are marked as such and its first own turn as the point
where it diverges from its parent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from datamodel.checks import CheckResult
from datamodel.trajectory import ToolResult, ToolTurn, Turn, Usage, UserTurn
from db.conversation_store import StoredConversation

__all__ = [
    "ROLE_COLOURS",
    "checks_table",
    "conversation_renderables",
    "divergence_rule",
    "functions_line",
    "header_panel",
    "hints_panel",
    "turn_panel",
    "turn_text",
    "usage_label",
]

ROLE_COLOURS = {"user": "cyan", "assistant": "green", "tool": "yellow"}


def _json(value: Any) -> Syntax:
    """Highlighted JSON: one line per item when that is short enough to read, else indented."""
    items = value if isinstance(value, list) else [value]
    lines = [json.dumps(item, ensure_ascii=False) for item in items]
    if all(len(line) <= 120 for line in lines):
        text = "\n".join(lines)
    else:
        text = json.dumps(value, indent=2, ensure_ascii=False)
    return Syntax(text, "json", theme="ansi_dark", word_wrap=True)


def usage_label(usage: Usage | None) -> str:
    """Tokens, latency and model of a turn, where recorded ('' when nothing was)."""
    if usage is None:
        return ""
    parts = []
    if usage.prompt_tokens or usage.completion_tokens:
        parts.append(f"{usage.prompt_tokens}+{usage.completion_tokens} tok")
    if usage.latency_ms:
        parts.append(f"{usage.latency_ms:.1f} ms")
    if usage.model:
        parts.append(usage.model)
    return " · ".join(parts)


def _result_shown(result: ToolResult) -> dict[str, Any]:
    if result.error is None:
        return {"name": result.name, "results": result.results}
    return {"name": result.name, "error": result.error}


def _body(turn: Turn) -> RenderableType:
    if isinstance(turn, UserTurn):
        return Text(turn.content)
    if isinstance(turn, ToolTurn):
        return _json([_result_shown(r) for r in turn.results])
    parts: list[RenderableType] = [Text(turn.content)] if turn.content else []
    if turn.tool_calls:
        parts.append(_json([{"name": c.name, "arguments": c.arguments} for c in turn.tool_calls]))
    if turn.final_answer is not None:
        parts.append(Text.from_markup("[bold]final:[/bold] ") + Text(turn.final_answer))
    if turn.format_error:
        parts.append(Text.from_markup("[red]format error:[/red] ") + Text(turn.format_error))
    return Group(*parts)


def turn_panel(index: int, turn: Turn, *, shared_with: int | None = None) -> Panel:
    """One turn in its role's colour; `shared_with`: the parent it is shared with (fork prefix)."""
    colour = ROLE_COLOURS[turn.role]
    title = f"[{index}] {turn.role}"
    if shared_with is not None:
        title += f" · shared with #{shared_with}"
    return Panel(
        _body(turn),
        title=title,
        title_align="left",
        subtitle=usage_label(turn.usage) or None,
        subtitle_align="right",
        border_style=f"dim {colour}" if shared_with is not None else colour,
    )


def turn_text(turn: Turn) -> str:
    """Everything a person can read in a turn, for searching."""
    if isinstance(turn, UserTurn):
        return turn.content
    if isinstance(turn, ToolTurn):
        return json.dumps([r.model_dump(exclude={"call_id"}) for r in turn.results], ensure_ascii=False)
    calls = json.dumps([c.model_dump(exclude={"id"}) for c in turn.tool_calls], ensure_ascii=False)
    parts = (turn.content, calls if turn.tool_calls else "", turn.final_answer or "")
    return "\n".join(p for p in parts if p)


def divergence_rule(conv: StoredConversation) -> Rule:
    """The line drawn where a fork leaves its parent."""
    last = (conv.fork_turn or 1) - 1
    shared = "turn 0" if last == 0 else f"turns 0–{last}"
    return Rule(
        f"◆ fork of #{conv.forked_from_id}: {shared} shared, new from here",
        style="bold magenta",
    )


def header_panel(conv: StoredConversation) -> Panel:
    """The task, its strategy, the verdict and the models; a fork names its parent and fork turn."""
    task = conv.task
    verdict = conv.status + (f" ({conv.rejected_by})" if conv.rejected_by else "")
    models = " · ".join(f"{role} {model}" for role, model in conv.models.items())
    lines = [
        Text(task.instruction),
        Text(""),
        Text(
            f"strategy {task.strategy.value} · {len(task.subtasks)} sub-tasks · run {conv.run_id} · "
            f"task {conv.task_id} · {verdict}",
            style="dim",
        ),
    ]
    if models:
        lines.append(Text(models, style="dim"))
    if conv.forked_from_id is not None:
        lines.append(Text(f"fork of #{conv.forked_from_id} at turn {conv.fork_turn}", style="bold magenta"))
    return Panel(Group(*lines), title=f"conversation {conv.id}", title_align="left", border_style="bold")


def hints_panel(conv: StoredConversation) -> Panel:
    """The sub-task decomposition the assistant saw (never exported)."""
    hints = Text()
    for n, s in enumerate(conv.task.subtasks):
        hints.append(("\n" if n else "") + f"{s.index + 1}. {s.instruction}  ")
        hints.append(", ".join(s.functions) or "no function", style="dim")
    return Panel(
        hints, title="sub-task hints (hidden from training data)", title_align="left", border_style="magenta"
    )


def functions_line(conv: StoredConversation) -> Text:
    """The functions offered in the task."""
    return Text(f"functions offered: {', '.join(f.name for f in conv.task.functions)}", style="dim")


def checks_table(checks: list[CheckResult]) -> Table:
    """Every verification layer with its verdict and reason."""
    table = Table(title="checks", title_justify="left", expand=True)
    for column in ("check", "verdict", "reason"):
        table.add_column(column, overflow="fold")
    for check in checks:
        verdict = "n/a" if not check.applicable else ("[green]pass" if check.passed else "[red]fail")
        table.add_row(check.name.value, verdict, Text(check.reason))
    return table


def conversation_renderables(conv: StoredConversation) -> Iterator[RenderableType]:
    """The whole conversation, top to bottom, as `button show` and `button replay --plain` print it."""
    yield header_panel(conv)
    yield hints_panel(conv)
    yield functions_line(conv)
    fork_turn = conv.fork_turn if conv.forked_from_id is not None else None
    for index, turn in enumerate(conv.trajectory.turns):
        if index == fork_turn:
            yield divergence_rule(conv)
        shared = conv.forked_from_id if fork_turn is not None and index < fork_turn else None
        yield turn_panel(index, turn, shared_with=shared)
    yield checks_table(conv.checks)
