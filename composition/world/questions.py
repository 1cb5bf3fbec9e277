"""Logic steps with their wording, and the final question of a task.

Each logic step carries a noun-phrase template, question templates and a hint for its sub-task, so the
generator can word any tree: "How many flights are there from A to B?", "Which is higher, ... or ...?".
"""

from __future__ import annotations

import random
from typing import Any

from composition.world.expr import Call, Literal, Logic, Node, Reject, phrase
from composition.world.phrasing import LIST_WRAPPERS, capitalize, wrappers_for
from datamodel.reference import LogicOp

__all__ = ["ask", "atomic_question", "compare_logic", "equal_logic", "pick_logic", "two_value_logic"]


def pick_logic(list_call: Call, op: LogicOp, item_key: str | None) -> Logic:
    """Max/min over one item field of a list output, or a count of its items."""
    param = list_call.fn.output(list_call.out_key)
    info = param.listing
    assert info is not None
    items = list_call.value
    if op is LogicOp.COUNT:
        return Logic(
            op,
            [list_call],
            "count",
            f"the number of {info.plural} {info.qualifier}",
            questions=(
                f"How many {info.plural} are there {info.qualifier}?",
                f"Can you count the {info.plural} {info.qualifier}?",
            ),
            hint=f"Count the {info.plural} found in step {{0}}.",
        ).evaluate()
    assert item_key is not None
    _check_pick(items, item_key, info.label_key, op)
    pattern = info.superlatives[item_key][0 if op is LogicOp.MAX else 1].format(item=info.singular)
    label = next(i for i in param.items if i.key == info.label_key)
    return Logic(
        op,
        [list_call],
        label.stype,
        f"the {pattern} {info.qualifier}",
        key=item_key,
        label_key=info.label_key,
        questions=(f"Which is the {pattern} {info.qualifier}?", f"What is the {pattern} {info.qualifier}?"),
        hint=f"From the {info.plural} found in step {{0}}, pick the {pattern}.",
    ).evaluate()


def _check_pick(items: list[dict[str, Any]], key: str, label_key: str, op: LogicOp) -> None:
    if not items:
        raise Reject("empty list")
    labels = [item[label_key] for item in items]
    if len(set(labels)) != len(labels):
        raise Reject("list labels repeat")
    values = [item[key] for item in items]
    best = max(values) if op is LogicOp.MAX else min(values)
    if values.count(best) > 1:
        raise Reject("tie at the extreme")


_DIFFERENCE = (
    "What is the difference between {a} and {b}?",
    "By how much does {a} exceed {b}?",
    "How much larger is {a} than {b}?",
    "Subtract {b} from {a}: what do you get?",
)
_YEARS = ("How many years passed between {b} and {a}?", "How many years separate {b} from {a}?")
_SUM = (
    "What is {a} plus {b}?",
    "What do {a} and {b} add up to?",
    "What is the combined total of {a} and {b}?",
)


def two_value_logic(op: LogicOp, a: Node, b: Node, stype: str, rng: random.Random) -> Logic:
    """Difference (a - b, a >= b) or sum of two independent branch results."""
    if op is LogicOp.DIFFERENCE:
        questions = _DIFFERENCE + (_YEARS if stype == "year" else ())
        template, hint = (
            "the difference between {a} and {b}",
            "Subtract the value found in step {1} from the value found in step {0}.",
        )
    else:
        questions, template, hint = (
            _SUM,
            "the sum of {a} and {b}",
            "Add the values found in steps {0} and {1}.",
        )
    return Logic(op, [a, b], stype, template, questions=questions, hint=hint).evaluate()


_COMPARE = (
    "Which is {more}: {a} or {b}? Answer with {la} or {lb}.",
    "Comparing {a} with {b}, which is {more}? Reply {la} or {lb}.",
    "Between {la} and {lb}, whose figure is {more} when you compare {a} and {b}?",
    "I want to compare {a} and {b}. Which of {la} and {lb} comes out {more}?",
)


def compare_logic(op: LogicOp, a: Node, b: Node, la: Literal, lb: Literal, rng: random.Random) -> Logic:
    """Max/min over two scalar branch results, reporting the subject (label) of the winner."""
    more = (
        rng.choice(("higher", "greater", "larger")) if op is LogicOp.MAX else rng.choice(("lower", "smaller"))
    )
    fill = {"{more}": more, "{la}": la.text, "{lb}": lb.text}
    questions = tuple(_replace(q, fill) for q in _COMPARE)
    hint = _replace(
        f"Compare the values found in steps {{0}} and {{1}} and say whether {{la}} or {{lb}} has the "
        f"{more} one.",
        fill,
    )
    return Logic(
        op, [a, b], la.stype, "{a} versus {b}", labels=[la.value, lb.value], questions=questions, hint=hint
    ).evaluate()


_EQUAL = (
    "Is {a} the same as {b}?",
    "Are {a} and {b} identical?",
    "Do {a} and {b} match?",
    "Is {a} equal to {b}?",
)


def equal_logic(a: Node, b: Node, rng: random.Random) -> Logic:
    """Whether two branch results are equal: yes or no."""
    return Logic(
        LogicOp.EQUAL,
        [a, b],
        "boolean",
        "whether {a} equals {b}",
        questions=_EQUAL,
        hint="Check whether the values found in steps {0} and {1} are the same.",
    ).evaluate()


def _replace(text: str, fill: dict[str, str]) -> str:
    for key, value in fill.items():
        text = text.replace(key, value)
    return text


def ask(root: Node, rng: random.Random) -> str:
    """The whole task as one question, with every literal value written out."""
    if isinstance(root, Logic):
        templates = list(root.questions)
        if root.op in (LogicOp.MAX, LogicOp.MIN, LogicOp.COUNT) and len(root.operands) == 1:
            templates += [w.replace("{np}", root.template) for w in wrappers_for(root.stype)]
        return capitalize(phrase(_with_template(root, rng.choice(templates))))
    return atomic_question(root, rng)


def atomic_question(node: Node, rng: random.Random) -> str:
    """One call asked on its own (literal arguments only for the first step of a task)."""
    stype = node.stype if not isinstance(node, Call) else node.fn.output(node.out_key).stype
    wrappers = LIST_WRAPPERS if stype.startswith("list:") else wrappers_for(stype)
    return capitalize(wrap(rng.choice(wrappers), phrase(node)))


def wrap(wrapper: str, noun_phrase: str) -> str:
    """Put a noun phrase in a question, avoiding a doubled preposition ("plays for for me")."""
    if noun_phrase.endswith(" for") and "{np} for" in wrapper:
        wrapper = wrapper.replace("{np} for me", "{np}, for me")
    return wrapper.replace("{np}", noun_phrase)


def _with_template(node: Logic, template: str) -> Logic:
    return Logic(
        node.op,
        node.operands,
        node.stype,
        template,
        labels=node.labels,
        key=node.key,
        label_key=node.label_key,
        value=node.value,
    )
