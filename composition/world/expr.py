"""Expression trees of a compositional task, and their linearization into sub-tasks and reference steps.

A task is a tree: leaves are literal values from the KB, inner nodes are function calls (one output field
used) or logic steps. Nodes are evaluated as they are built, so the composition strategies can reject a
degenerate tree (a tie, an empty list) at once. A post-order walk turns the tree into ordered sub-tasks
whose arguments point back at earlier steps with ``RefArg``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from composition.logic import apply_logic, render_value
from composition.world.phrasing import noun_of, render_literal, value_format
from composition.world.types import WorldFunction
from datamodel.reference import ArgBinding, LiteralArg, LogicOp, RefArg, ReferenceStep
from datamodel.tasks import SubTask

__all__ = [
    "Call",
    "Literal",
    "Logic",
    "Node",
    "Reject",
    "Steps",
    "answer_of",
    "linearize",
    "node_value",
    "phrase",
]


class Reject(Exception):
    """A candidate composition is degenerate (tie, empty list, equal roots); the strategy tries again."""


@dataclass
class Literal:
    """A value written out in the question."""

    value: Any
    stype: str

    @property
    def text(self) -> str:
        return render_literal(self.value, self.stype)


@dataclass
class Call:
    """A function call whose ``out_key`` field is what the parent (or the answer) uses."""

    fn: WorldFunction
    out_key: str
    args: dict[str, Node]
    template: str
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def stype(self) -> str:
        return self.fn.output(self.out_key).stype

    @property
    def value(self) -> Any:
        return self.result[self.out_key]


@dataclass
class Logic:
    """A step with no function: difference, sum, max, min, count or equal over earlier results."""

    op: LogicOp
    operands: list[Node]
    stype: str
    template: str  # noun phrase with {a}/{b} (two operands) or the list wording already filled in
    labels: list[Any] = field(default_factory=list)
    key: str | None = None
    label_key: str | None = None
    hint: str = ""
    value: Any = None
    questions: tuple[str, ...] = ()

    def evaluate(self) -> Logic:
        """Compute the value from the operands' values (raises LogicError on a misfit)."""
        self.value = apply_logic(
            self.op,
            [node_value(o) for o in self.operands],
            [str(x) for x in self.labels] or None,
            self.key,
            self.label_key,
        )
        return self


Node = Literal | Call | Logic


def node_value(node: Node) -> Any:
    """The value a node hands to its parent."""
    return node.value


RefText = Callable[[Node], str | None]


def phrase(node: Node, ref_text: RefText | None = None) -> str:
    """The noun phrase of a node; ``ref_text`` may stand in for inner steps ("the city from step 1")."""
    if isinstance(node, Literal):
        return node.text
    if isinstance(node, Call):
        return _said_once(node.template.format(**{k: _inner(a, ref_text) for k, a in node.args.items()}))
    if len(node.operands) == 2 and "{a}" in node.template:
        a, b = (_inner(o, ref_text) for o in node.operands)
        return node.template.format(a=a, b=b)
    list_call = node.operands[0]
    assert isinstance(list_call, Call)
    return node.template.format(**{k: _inner(a, ref_text) for k, a in list_call.args.items()})


_KIND_TWICE = re.compile(r"\b(the \w+) \1\b")


def _said_once(text: str) -> str:
    """A kind named before an inner phrase that names it itself is said once: "the home city of the
    brand {x}" around "the brand that makes ..." reads "the home city of the brand that makes ..."."""
    return _KIND_TWICE.sub(r"\1", text)


def _inner(node: Node, ref_text: RefText | None) -> str:
    if ref_text is not None and not isinstance(node, Literal):
        replaced = ref_text(node)
        if replaced is not None:
            return replaced
    return phrase(node, ref_text)


@dataclass
class Steps:
    """The linearized task: sub-tasks, reference steps, and the steps' nodes in order."""

    subtasks: list[SubTask]
    reference: list[ReferenceStep]
    nodes: list[Call | Logic]


def linearize(root: Node) -> Steps:
    """Post-order walk: every node's inputs come before it, so dependencies always point backwards."""
    order: list[Call | Logic] = []
    _collect(root, order)
    index = {id(node): i for i, node in enumerate(order)}

    def ref_text(node: Node) -> str:
        return f"the {noun_of(node.stype)} found in step {index[id(node)] + 1}"

    def placeholder(node: Node) -> str:
        return f"{{{index[id(node)]}}}"

    def wording(node: Call | Logic) -> dict[str, Any]:
        """How the offline assistant names this step's value: the question's noun phrase with the inner
        steps left as {k} for their values, a short noun, and the unit."""
        return {
            "phrase": phrase(node, placeholder),
            "noun": noun_of(node.stype),
            "value_format": value_format(node.stype),
        }

    steps = Steps([], [], order)
    for i, node in enumerate(order):
        children = _children(node)
        depends = sorted({index[id(c)] for c in children if not isinstance(c, Literal)})
        if isinstance(node, Call):
            hint = f"Find {phrase(node, ref_text)}."
            args: dict[str, ArgBinding] = {k: _binding(a, index) for k, a in node.args.items()}
            steps.reference.append(
                ReferenceStep(
                    subtask=i, function=node.fn.name, arguments=args, result=node.result, **wording(node)
                )
            )
            steps.subtasks.append(
                SubTask(index=i, instruction=hint, depends_on=depends, functions=[node.fn.name])
            )
            continue
        steps.reference.append(
            ReferenceStep(
                subtask=i,
                operation=node.op,
                operands=[_binding(o, index) for o in node.operands],
                labels=[str(x) for x in node.labels],
                key=node.key,
                label_key=node.label_key,
                result=node.value,
                **wording(node),
            )
        )
        hint = node.hint.format(*[index[id(c)] + 1 for c in children])
        steps.subtasks.append(SubTask(index=i, instruction=hint, depends_on=depends, functions=[]))
    return steps


def _children(node: Call | Logic) -> list[Node]:
    return list(node.args.values()) if isinstance(node, Call) else list(node.operands)


def _collect(node: Node, order: list[Call | Logic]) -> None:
    if isinstance(node, Literal):
        return
    for child in _children(node):
        _collect(child, order)
    order.append(node)


def _binding(node: Node, index: dict[int, int]) -> ArgBinding:
    if isinstance(node, Literal):
        return LiteralArg(value=node.value)
    field_name = node.out_key if isinstance(node, Call) else None
    return RefArg(step=index[id(node)], field=field_name)


def answer_of(root: Node) -> tuple[Any, str]:
    """The final answer value and its canonical text."""
    value = node_value(root)
    return value, render_value(value)
