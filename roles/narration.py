"""What the offline assistant says in its own words: a plan, a note on each new result, every logic step
worked out, and the answer as a sentence in the question's terms.

A student model learns what the assistant turns show, so they show what a capable assistant would write: on
the first turn, what the request names in the user's words, then the plan in plain words (or, for a value the
request leaves out, the question about it), saying how many steps it takes; after results, which steps they
complete ("Steps 1 and 2 of 3 done.", each step labelled as it is taken, so the answer comes only after the
last step), then only the new results and only the fields that matter; each logic step's working (the
operands, the values compared, the count) before its result is used; the answer as a sentence, with its unit.
The wording comes from the task's reference (each step's noun phrase in the question's terms, its noun and
unit: datamodel.tasks.ReferenceStep), never from the hidden sub-task hints. Each kind of move has several
phrasings, picked by a generator seeded per task and turn, so no single template dominates a dataset and the
same seed gives the same text.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from typing import Any

from composition.logic import answer_matches, render_value
from composition.world.phrasing import with_article
from datamodel.reference import LiteralArg, LogicOp, RefArg, ReferenceStep, TaskReference

__all__ = ["Narrator", "parameter_noun"]

_PLAN_OPENERS = (
    "Here's my plan, {count}: {steps}.",
    "My plan, in {count}: {steps}.",
    "I'll do it in {count}: {steps}.",
    "This takes {count}: {steps}.",
    "Plan, {count}: {steps}.",
)
# Where the work stands, at the start of every turn after results ("Step 1 of 3 done."), and the label
# of each step as it is taken ("Step 2 of 3: ..."): the count the plan gave, so the turn that answers is
# the one after the last step, never one after an earlier result.
_DONE = (
    "Step {k} of {n} done.",
    "Step {k} of {n} is done.",
    "Done with step {k} of {n}.",
    "That completes step {k} of {n}.",
    "Step {k} of {n}: done.",
)
_DONE_MANY = (
    "Steps {k} of {n} done.",
    "Steps {k} of {n} are done.",
    "Done with steps {k} of {n}.",
    "That completes steps {k} of {n}.",
    "Steps {k} of {n}: done.",
)
_CALL_STEPS = (
    "look up {p} with {fn}",
    "use {fn} to find {p}",
    "get {p} from {fn}",
    "find {p} via {fn}",
    "call {fn} for {p}",
)
_LOGIC_STEPS = {
    LogicOp.DIFFERENCE: ("subtract one from the other", "work out the difference", "take the difference"),
    LogicOp.SUM: ("add them up", "work out the total", "sum them"),
    LogicOp.COUNT: ("count them", "count the results", "see how many there are"),
    LogicOp.MAX: ("compare them", "see which comes out higher", "compare the figures"),
    LogicOp.MIN: ("compare them", "see which comes out lower", "compare the figures"),
    LogicOp.EQUAL: ("check whether they match", "compare the two", "see if they are the same"),
}
_SIGNATURES = (
    "{fn} ({inp} -> {out})",
    "{fn}, which takes {a_inp} and gives {out}",
    "{fn} ({inp} in, {out} out)",
    "{fn}, from {a_inp} to {out}",
    "{fn} (it turns {a_inp} into {out})",
)
_PICK_STEPS = ("pick out {p}", "find {p} among them", "choose {p}", "single out {p}", "work out {p}")
_JOINS = (
    ("first ", ", then ", ", and finally "),
    ("", ", then ", ", and then "),
    ("first ", "; next ", "; last "),
    ("", ", after that ", ", and at the end "),
    ("first ", ", next ", ", and last "),
)
_NOTES = (
    "{P} is {v}.",
    "{fn} says {p} is {v}.",
    "Got it: {p} is {v}.",
    "So {p} is {v}.",
    "{P}: {v}.",
)
_LIST_NOTES = (
    "{fn} found {items}.",
    "{fn} returned {items}.",
    "{fn} lists {items}.",
    "The results: {items}.",
    "Here they are: {items}.",
)
_NEXT = (
    "Next, I'll {desc}.",
    "Now I can {desc}.",
    "With that, I'll {desc}.",
    "That lets me {desc}.",
    "Now to {desc}.",
)
_WORKINGS = {
    LogicOp.DIFFERENCE: (
        "Difference: {a} - {b} = {r}.",
        "Subtracting: {a} - {b} = {r}.",
        "Subtracting, {a} minus {b} is {r}.",
        "The difference: {a} - {b} = {r}.",
        "Difference: taking {b} from {a} leaves {r}.",
    ),
    LogicOp.SUM: (
        "Sum: {a} + {b} = {r}.",
        "Adding up: {a} + {b} = {r}.",
        "Adding, {a} plus {b} is {r}.",
        "The total: {a} + {b} = {r}.",
        "Sum: {a} and {b} make {r}.",
    ),
    LogicOp.COUNT: (
        "That makes {r}.",
        "Counting them gives {r}.",
        "So there are {r}.",
        "In all: {r}.",
        "I count {r}.",
    ),
}
_PICKS = (
    "Comparing {what}: {pairs}. The {extreme} is {winner}.",
    "By {what}: {pairs}, so {winner} is the {extreme}.",
    "Looking at {what}: {pairs}. {Winner} is the {extreme}.",
    "{What}: {pairs}. The {extreme} of these is {winner}.",
    "Side by side, {what}: {pairs}. That makes {winner} the {extreme}.",
)
_COMPARES = (
    "{la} has {a} and {lb} has {b}.",
    "Comparing {a} ({la}) with {b} ({lb}).",
    "{la}: {a}; {lb}: {b}.",
    "Side by side: {a} for {la}, {b} for {lb}.",
    "{a} against {b}, for {la} and {lb}.",
)
_RELATIONS = (
    "{big} is more than {small}.",
    "{small} is less than {big}.",
    "{big} > {small}.",
    "{big} is the larger number.",
    "{small} is the smaller number.",
)
_EQUALS = {
    True: (
        "Matching: {a} and {b} are the same.",
        "Matching: both are {a}, so they match.",
        "Checking: {a} equals {b}.",
        "Checking whether they match: {a} and {b} do.",
        "Matching: {a} on both sides, the same.",
    ),
    False: (
        "Matching: {a} and {b} are not the same.",
        "Matching: {a} is not {b}, so they differ.",
        "Checking: they differ, {a} versus {b}.",
        "Checking: {a} does not equal {b}.",
        "Checking whether they match: {a} and {b} do not.",
    ),
}
_ANSWERS = (
    "{P} is {v}.",
    "So {p} is {v}.",
    "Putting it together, {p} is {v}.",
    "That means {p} is {v}.",
    "The answer: {p} is {v}.",
)
_COMPARE_ANSWERS = (
    "So {winner} comes out {more}, with {w} against {l}.",
    "{Winner} is the {more} of the two: {w} against {l}.",
    "That makes {winner} the {more} one ({w} against {l}).",
    "{Winner}: its {w} is {more} than {l}.",
    "{Winner} has the {more} figure, {w} against {l}.",
)
_EQUAL_ANSWERS = {
    True: (
        "Yes, {pa} is the same as {pb}.",
        "Yes: {pa} and {pb} are the same.",
        "Yes, {pa} equals {pb}.",
        "Yes, {pa} and {pb} match.",
        "Yes. {Pa} is also {pb}.",
    ),
    False: (
        "No, {pa} is not the same as {pb}.",
        "No: {pa} and {pb} differ.",
        "No, {pa} does not equal {pb}.",
        "No, {pa} and {pb} do not match.",
        "No. {Pa} and {pb} are different.",
    ),
}
_SINGLE_ANSWERS = (
    "{P} is {v}.",
    "According to {fn}, {p} is {v}.",
    "{fn} reports that {p} is {v}.",
    "Here it is: {p} is {v}.",
    "I found it: {p} is {v}.",
)


def parameter_noun(parameter: str) -> str:
    """What kind of value a parameter takes, in words: "person_name" -> "person", "city_b" -> "city",
    "origin_city" -> "origin city"."""
    words = parameter.split("_")
    if len(words) > 1 and words[-1] in {"a", "b", "name"}:
        words = words[:-1]
    return " ".join(words)


_GIVENS = (
    "You mention {items}.",
    "Your request names {items}.",
    "So this is about {items}.",
    "Going from what you gave me: {items}.",
    "Noted: {items}.",
)
# Said right after a vague phrase in the list of what the request names, so the turn's first line already
# tells a value left out from one given, and the question follows from it.
_UNNAMED = (" (no name given)", " (not named)", " (name left out)", " (unnamed)", " (no name yet)")
_ASKS = (
    "Which {noun} do you mean?",
    "Could you tell me which {noun} you have in mind?",
    "Which {noun} should I look up?",
    "I need the {noun} to go on. Which one is it?",
    "Before I start: which {noun} is it?",
)
_RETRIES = (
    "That call failed ({error}). Trying again.",
    'The service answered: "{error}". I\'ll retry.',
    "Got an error ({error}), so I'll make the same call again.",
    '"{error}": that may be temporary, so one more try.',
    "The call did not go through ({error}). Retrying.",
)
_CORRECTIONS = (
    "There is no '{typo}', but the service suggests '{right}'. I'll use that.",
    "'{typo}' looks misspelt; the right name is '{right}'. Retrying.",
    "No match for '{typo}'. It must be '{right}', so I'll call again with it.",
    "The lookup failed for '{typo}' and suggested '{right}'. Trying '{right}'.",
    "'{typo}' was not found; I'll correct it to '{right}' and retry.",
)
_REPORTS = (
    'I couldn\'t get {p}. The service said: "{error}" Please try again later.',
    'Sorry, I can\'t find {p} right now. The service said: "{error}"',
    'I wasn\'t able to look up {p} ("{error}"). You may want to try again later.',
    'Unfortunately {p} is not available at the moment; the service reports: "{error}"',
    'I tried twice, but {p} could not be fetched. The error was: "{error}"',
)
_REFUSALS = (
    "I can't help with that: none of the functions I have ({names}) can answer it.",
    "Sorry, I can't do that: it is outside what my tools cover ({names}).",
    "None of the functions available to me ({names}) covers that request, so I can't look it up.",
    "I don't have a function for that. The ones I can use are {names}, and none of them fits.",
    "That request can't be answered with the functions I have ({names}).",
)
_LABEL_KEYS = ("name", "title", "flight_number", "code", "date", "day")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _humane(key: str) -> str:
    """A result field as words: `price_per_night_usd` → 'price per night'."""
    words = [w for w in key.split("_") if w not in ("usd", "c", "km", "m", "mm", "mg", "g", "kg", "cm")]
    return " ".join(words) or key


class Narrator:
    """The words of one task's offline assistant; `rng` is seeded per task and turn by the caller."""

    def __init__(self, reference: TaskReference, answered: int = 0) -> None:
        """`answered`: how many of the reference's steps earlier requests of the conversation solved (a
        follow-up's reference starts with them); its answer names their results by value."""
        self._reference = reference
        self._steps = reference.steps
        self._answered = answered
        self._fields = self._used_fields()
        # The field that names the items of a list result: the one the step consuming the list reports.
        self._item_names = {
            b.step: s.label_key
            for s in self._steps
            for b in s.operands
            if isinstance(b, RefArg) and s.label_key
        }

    def _used_fields(self) -> dict[int, str | None]:
        """Which field of each call's result the task uses: what its dependents read, or the answer."""
        fields: dict[int, str | None] = {}
        for step in self._steps:
            for binding in [*step.arguments.values(), *step.operands]:
                if isinstance(binding, RefArg):
                    fields.setdefault(binding.step, binding.field)
        last = self._steps[-1]
        if last.function is not None and isinstance(last.result, dict):
            answer = self._reference.answer
            fields[last.subtask] = next((k for k, v in last.result.items() if v == answer), None)
        return fields

    # -- values as words --------------------------------------------------------------------------

    def value_of(self, index: int, values: dict[int, Any]) -> Any:
        """The value step `index` hands on: the used field of a call's result, or a logic value."""
        value = values[index]
        field = self._fields.get(index)
        if field is not None and isinstance(value, dict):
            return value.get(field)
        return value

    def _shown(self, index: int, values: dict[int, Any]) -> str:
        value = self.value_of(index, values)
        if isinstance(value, list):
            return f"{len(value)} {self._steps[index].noun or 'items'}"
        return self._steps[index].value_format.format(render_value(value))

    def _bare(self, binding: LiteralArg | RefArg, values: dict[int, Any]) -> str:
        if isinstance(binding, LiteralArg):
            return render_value(binding.value)
        return render_value(self.value_of(binding.step, values))

    def _phrase(self, step: ReferenceStep, fill: Any) -> str:
        text = step.phrase or f"the result of step {step.subtask + 1}"
        for other in range(step.subtask):
            mark = f"{{{other}}}"
            if mark in text:
                text = text.replace(mark, fill(other))
        return text

    def phrase_with_values(self, step: ReferenceStep, values: dict[int, Any]) -> str:
        """The step's noun phrase with the values it builds on written out ('the latitude of Valport')."""
        return self._phrase(step, lambda k: self._shown(k, values))

    def _phrase_in_plan(self, step: ReferenceStep) -> str:
        return self._phrase(step, lambda k: f"that {self._steps[k].noun or 'result'}")

    def phrase_as_asked(self, step: ReferenceStep, values: dict[int, Any] | None = None) -> str:
        """The step's noun phrase in the question's own terms, inner steps spelled out in full; given the
        values, what an earlier request found is named by its value, as the follow-up's "that city"
        points at it ("the city served by airport BRB", not "the city served by airport the airport code
        of ..."; a two-way comparison by its winner, not "A versus B": one only ever ends a request)."""

        def inner(k: int) -> str:
            if values is not None and k in values and k < self._answered:
                return self._shown(k, values)
            return self.phrase_as_asked(self._steps[k], values)

        return self._phrase(step, inner)

    # -- moves --------------------------------------------------------------------------------------

    def plan(self, rng: random.Random) -> str:
        """The whole plan in plain words, for the first turn."""
        parts = []
        for step in self._steps:
            if step.function is not None:
                template = rng.choice(_CALL_STEPS)
                parts.append(template.format(p=self._phrase_in_plan(step), fn=self._signature(step, rng)))
            elif step.operation in (LogicOp.MAX, LogicOp.MIN) and not step.labels:
                parts.append(rng.choice(_PICK_STEPS).format(p=self._phrase_in_plan(step)))
            else:
                assert step.operation is not None
                parts.append(rng.choice(_LOGIC_STEPS[step.operation]))
        first, middle, last = rng.choice(_JOINS)
        if len(parts) == 1:
            steps = parts[0]
        else:
            steps = first + parts[0] + "".join(middle + p for p in parts[1:-1]) + last + parts[-1]
        count = f"{len(parts)} step" + ("s" if len(parts) > 1 else "")
        return rng.choice(_PLAN_OPENERS).format(steps=steps, count=count)

    def done(self, indices: Collection[int], rng: random.Random) -> list[str]:
        """Which steps the new results complete, counted as the plan counted them ("Steps 1 and 2 of 3
        done."); nothing for a follow-up request, which has no plan of its own."""
        if not indices or self._answered:
            return []
        templates = _DONE if len(indices) == 1 else _DONE_MANY
        listed = _listed([str(i + 1) for i in sorted(indices)])
        return [rng.choice(templates).format(k=listed, n=len(self._steps))]

    def labelled(self, step: ReferenceStep, text: str) -> str:
        """A step's line as it is taken, with its place in the plan ("Step 2 of 3: ...")."""
        if self._answered:
            return text
        return f"Step {step.subtask + 1} of {len(self._steps)}: {text}"

    def _signature(self, step: ReferenceStep, rng: random.Random) -> str:
        """A function as the plan names it: with the kind of value it takes and what the task reads from
        its result, so the choice follows the spec's parameters and response fields."""
        assert step.function is not None
        inp = " and ".join(dict.fromkeys(parameter_noun(p) for p in step.arguments)) or "request"
        a_inp = with_article(inp)
        field = self._fields.get(step.subtask)
        out = field or f"a list of {step.noun or 'items'}"  # as the spec's `responses` spell it
        return rng.choice(_SIGNATURES).format(fn=step.function, inp=inp, a_inp=a_inp, out=out)

    def note(self, step: ReferenceStep, values: dict[int, Any], rng: random.Random) -> str:
        """What a new result says, naming only the field the task uses."""
        value = self.value_of(step.subtask, values)
        if isinstance(value, list):
            name = self._item_names.get(step.subtask)
            items = ", ".join(_label(item, name) for item in value) or "nothing"
            return rng.choice(_LIST_NOTES).format(fn=step.function, items=items)
        p = self.phrase_with_values(step, values)
        v = self._shown(step.subtask, values)
        return rng.choice(_NOTES).format(P=_cap(p), p=p, v=v, fn=step.function)

    def next_call(self, step: ReferenceStep, values: dict[int, Any], rng: random.Random) -> str:
        """The call about to be made, with the values it takes."""
        desc = rng.choice(_CALL_STEPS).format(p=self.phrase_with_values(step, values), fn=step.function)
        return rng.choice(_NEXT).format(desc=desc)

    def working(self, step: ReferenceStep, values: dict[int, Any], rng: random.Random) -> str:
        """A logic step worked out in the open: its operands and how they give the result."""
        op = step.operation
        assert op is not None
        result = self._shown(step.subtask, values)
        if op in (LogicOp.DIFFERENCE, LogicOp.SUM):
            a, b = (self._bare(binding, values) for binding in step.operands[:2])
            return _cap(rng.choice(_WORKINGS[op]).format(a=a, b=b, r=result))
        if op is LogicOp.COUNT:
            return rng.choice(_WORKINGS[op]).format(r=render_value(values[step.subtask]))
        if op is LogicOp.EQUAL:
            a, b = (self._bare(binding, values) for binding in step.operands[:2])
            return _cap(rng.choice(_EQUALS[bool(values[step.subtask])]).format(a=a, b=b))
        if step.labels:
            return _cap(self._compare(step, values, rng))
        return _cap(self._pick(step, values, rng))

    def is_picked_from(self, step: ReferenceStep) -> bool:
        """Whether a list result goes straight into a max/min pick, whose working names its items."""
        return any(
            isinstance(b, RefArg) and b.step == step.subtask and s.key is not None
            for s in self._steps
            for b in s.operands
        )

    def _compare(self, step: ReferenceStep, values: dict[int, Any], rng: random.Random) -> str:
        a, b = (self._bare(binding, values) for binding in step.operands[:2])
        winner = render_value(values[step.subtask])
        more = "higher" if step.operation is LogicOp.MAX else "lower"
        template = rng.choice(_COMPARES)
        la, lb = step.labels[:2]
        listed = template.format(a=a, b=b, la=la, lb=lb, winner=winner, Winner=_cap(winner), more=more)
        return f"{listed} {self._relation(step, values, rng)}"

    def _relation(self, step: ReferenceStep, values: dict[int, Any], rng: random.Random) -> str:
        """Which of two compared values is larger, said before the answer picks a side."""
        raw = [
            b.value if isinstance(b, LiteralArg) else self.value_of(b.step, values) for b in step.operands[:2]
        ]
        a, b = (self._bare(binding, values) for binding in step.operands[:2])
        if raw[0] == raw[1]:
            return f"{a} and {b} are equal."
        big, small = (a, b) if raw[0] > raw[1] else (b, a)
        return _cap(rng.choice(_RELATIONS).format(big=big, small=small))

    def _pick(self, step: ReferenceStep, values: dict[int, Any], rng: random.Random) -> str:
        binding = step.operands[0]
        items = self.value_of(binding.step, values) if isinstance(binding, RefArg) else binding.value
        key, label_key = step.key or "", step.label_key or ""
        pairs = ", ".join(f"{item.get(label_key)} ({render_value(item.get(key))})" for item in items)
        winner = render_value(values[step.subtask])
        extreme = "highest" if step.operation is LogicOp.MAX else "lowest"
        what = _humane(key)
        return rng.choice(_PICKS).format(
            what=what, What=_cap(what), pairs=pairs, extreme=extreme, winner=winner, Winner=_cap(winner)
        )

    def answer(self, values: dict[int, Any], rng: random.Random) -> str:
        """The final answer as a sentence in the question's terms; it always states the answer the results
        give (a plain sentence is the fallback when a phrasing would not)."""
        last = self._steps[-1]
        sentence = self._answer_sentence(last, values, rng)
        if answer_matches(sentence, render_value(self.value_of(last.subtask, values))):
            return sentence
        return f"The answer is {self._shown(last.subtask, values)}."

    def _answer_sentence(self, last: ReferenceStep, values: dict[int, Any], rng: random.Random) -> str:
        if last.operation in (LogicOp.MAX, LogicOp.MIN) and last.labels:
            winner = render_value(values[last.subtask])
            more = "higher" if last.operation is LogicOp.MAX else "lower"
            a, b = (self._bare(binding, values) for binding in last.operands[:2])
            w, lose = (a, b) if winner == last.labels[0] else (b, a)
            template = rng.choice(_COMPARE_ANSWERS)
            return template.format(winner=winner, Winner=_cap(winner), more=more, w=w, l=lose)
        if last.operation is LogicOp.EQUAL:
            pa, pb = (self._asked(binding) for binding in last.operands[:2])
            template = rng.choice(_EQUAL_ANSWERS[bool(values[last.subtask])])
            return template.format(pa=pa, Pa=_cap(pa), pb=pb)
        p = self.phrase_as_asked(last, values)
        v = self._shown(last.subtask, values)
        templates = _SINGLE_ANSWERS if len(self._steps) == 1 else _ANSWERS
        return rng.choice(templates).format(P=_cap(p), p=p, v=v, fn=last.function)

    # -- behaviours ----------------------------------------------------------------------------------

    @staticmethod
    def typed(noun: str, value: str) -> str:
        """A value with its kind before it ("the stadium Weshaven Arena"), unless its name says the kind
        already ("Hotel Salt Citadel")."""
        if noun.lower() in value.lower():
            return value
        return f"the {noun} {value}"

    @staticmethod
    def given(items: list[str], rng: random.Random, unnamed: str | None = None) -> str:
        """What the request names, in the user's words, before deciding what to do with it. The vague
        phrase `unnamed` (a value left out) is marked as naming nothing where it is copied, and the list
        stops there: the question about it comes next, right after the mark."""
        if unnamed in items:
            items = items[: items.index(unnamed) + 1]
        marked = [item + rng.choice(_UNNAMED) if item == unnamed else item for item in items]
        return rng.choice(_GIVENS).format(items=_listed(marked))

    @staticmethod
    def refusal(functions: list[str], rng: random.Random) -> str:
        """No offered function can do what is asked: say so, naming what there is."""
        return rng.choice(_REFUSALS).format(names=", ".join(functions))

    @staticmethod
    def ask(noun: str, rng: random.Random) -> str:
        """A value the request left out: ask for it instead of guessing."""
        return rng.choice(_ASKS).format(noun=noun)

    def retry(self, error: str, rng: random.Random) -> str:
        """A transient failure: say so and call again."""
        return rng.choice(_RETRIES).format(error=error.rstrip("."))

    def correct(self, typo: str, right: str, rng: random.Random) -> str:
        """A misspelt value the error points out: say what will be used instead."""
        return rng.choice(_CORRECTIONS).format(typo=typo, right=right)

    def report(self, step: ReferenceStep, values: dict[int, Any], error: str, rng: random.Random) -> str:
        """A service that stays down: tell the user what could not be found, and why."""
        p = self.phrase_with_values(step, values)
        text = error if error.endswith(".") else error + "."
        return rng.choice(_REPORTS).format(p=p, error=text)

    def _asked(self, binding: LiteralArg | RefArg) -> str:
        if isinstance(binding, LiteralArg):
            return render_value(binding.value)
        return self.phrase_as_asked(self._steps[binding.step])


def _listed(items: list[str]) -> str:
    """Items as a sentence lists them: "A", "A and B", "A, B and C"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _label(item: Any, name: str | None) -> str:
    """How a list item is named in a note: the field the task reports, a name-like field, else its first
    text field."""
    if not isinstance(item, dict):
        return render_value(item)
    for key in ((name,) if name else ()) + _LABEL_KEYS:
        if key in item:
            return render_value(item[key])
    text = next((v for v in item.values() if isinstance(v, str)), None)
    return text if text is not None else render_value(next(iter(item.values()), ""))
