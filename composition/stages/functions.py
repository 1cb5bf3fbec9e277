"""Task-first function synthesis: specs for each sub-task, validated, chained consistently.

A reply is turned into a `CompositionalTask` only when every check passes; otherwise the `ReplyError`
lists every problem found, so one regeneration can fix them all:

1. each spec is a `FunctionSpec` (valid JSON Schemas of type object, `required` names properties,
   `responses` present); a top-level `required` list, as the paper writes it, is moved into `parameters`;
2. function names are unique in the task, every name a step lists is defined, every defined function is
   used by some step, every step is listed once, and at least one step needs a function;
3. chaining (`chaining_problems`): for every sub-task S with functions and every sub-task P it depends
   on that has functions too, some function of S has a parameter whose *name equals* the name of an
   output property of some function of P and whose *type is compatible* with it. Output properties are
   those of `responses` plus, recursively, those of nested objects and of the item objects of arrays.
   Types are compatible when either side declares none, they share a JSON type, or an integer output
   feeds a number parameter. Steps without functions (logic, arithmetic) are not checked: the assistant
   carries those values itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from composition.prompts import PromptTemplate
from composition.stages.judge import describe_steps
from composition.stages.replies import ReplyError, describe_validation_error, parse_json_object
from composition.stages.types import DraftTask
from datamodel.tasks import CompositionalTask, FunctionSpec, SubTask

__all__ = ["chaining_problems", "output_fields", "parse_functions", "render_functions"]

_MAX_NESTING = 3


def render_functions(template: PromptTemplate, draft: DraftTask) -> str:
    return template.render(composed_task=draft.instruction, subtasks=describe_steps(draft.subtasks))


def _types(schema: Any) -> set[str]:
    declared = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {t for t in declared if isinstance(t, str)}
    return set()


def _walk(properties: Any, depth: int) -> Iterator[tuple[str, set[str]]]:
    if not isinstance(properties, dict) or depth > _MAX_NESTING:
        return
    for name, schema in properties.items():
        yield name, _types(schema)
        if not isinstance(schema, dict):
            continue
        yield from _walk(schema.get("properties"), depth + 1)
        items = schema.get("items")
        if isinstance(items, dict):
            yield from _walk(items.get("properties"), depth + 1)


def output_fields(spec: FunctionSpec) -> dict[str, set[str]]:
    """Every property a function returns, nested ones included: name → declared JSON types."""
    fields: dict[str, set[str]] = {}
    for name, types in _walk(spec.responses.get("properties"), 0):
        fields.setdefault(name, set()).update(types)
    return fields


def _compatible(produced: set[str], consumed: set[str]) -> bool:
    if not produced or not consumed or produced & consumed:
        return True
    return "integer" in produced and "number" in consumed


def _linked(consumers: list[FunctionSpec], producers: list[FunctionSpec]) -> bool:
    outputs: dict[str, set[str]] = {}
    for spec in producers:
        for name, types in output_fields(spec).items():
            outputs.setdefault(name, set()).update(types)
    for spec in consumers:
        for name, schema in spec.parameters.get("properties", {}).items():
            if name in outputs and _compatible(outputs[name], _types(schema)):
                return True
    return False


def _signature(specs: list[FunctionSpec], outputs: bool) -> str:
    parts = []
    for spec in specs:
        if outputs:
            fields = {n: sorted(t) for n, t in output_fields(spec).items()}
        else:
            fields = {n: sorted(_types(s)) for n, s in spec.parameters.get("properties", {}).items()}
        listed = ", ".join(f"{n}:{'|'.join(t) or 'any'}" for n, t in fields.items())
        parts.append(f"{spec.name}({listed})")
    return "; ".join(parts)


def chaining_problems(subtasks: list[SubTask], specs: dict[str, FunctionSpec]) -> list[str]:
    """Why each dependent step cannot take its producer's output (empty when the chain is consistent)."""
    problems = []
    for sub in subtasks:
        consumers = [specs[n] for n in sub.functions]
        for dep in sub.depends_on:
            producers = [specs[n] for n in subtasks[dep].functions]
            if consumers and producers and not _linked(consumers, producers):
                problems.append(
                    f"step {sub.index + 1} uses the result of step {dep + 1}, but no parameter of its "
                    f"functions [{_signature(consumers, outputs=False)}] has the name and type of an output "
                    f"of step {dep + 1}'s functions [{_signature(producers, outputs=True)}]"
                )
    return problems


def _spec(item: Any, domain: str, position: int) -> FunctionSpec:
    if not isinstance(item, dict):
        raise ReplyError(f"functions[{position}] is not an object")
    data = dict(item)
    required = data.pop("required", None)
    if isinstance(data.get("parameters"), dict) and isinstance(required, list):
        data["parameters"] = {**data["parameters"], "required": required}
    name = data.get("name", f"#{position}")
    try:
        return FunctionSpec.model_validate({**data, "domain": domain})
    except ValidationError as exc:
        raise ReplyError(f"function {name!r}: {describe_validation_error(exc)}") from None


def _specs(items: Any, domain: str) -> dict[str, FunctionSpec]:
    if not isinstance(items, list):
        raise ReplyError('"functions" must be a list of function objects')
    specs: dict[str, FunctionSpec] = {}
    for position, item in enumerate(items):
        spec = _spec(item, domain, position)
        if spec.name in specs:
            raise ReplyError(f"function name {spec.name!r} is used twice; names must be unique")
        specs[spec.name] = spec
    return specs


def _step_functions(steps: Any, n_steps: int, specs: dict[str, FunctionSpec]) -> list[list[str]]:
    """The function names of each step, by 1-based "step" number; every step exactly once."""
    if not isinstance(steps, list):
        raise ReplyError('"steps" must be a list of {"step": N, "functions": [names]}')
    by_step: dict[int, list[str]] = {}
    for entry in steps:
        number = entry.get("step") if isinstance(entry, dict) else None
        names = entry.get("functions") if isinstance(entry, dict) else None
        if not isinstance(number, int) or not 1 <= number <= n_steps:
            raise ReplyError(f'every step entry needs a "step" number from 1 to {n_steps}: {entry!r}')
        if number in by_step:
            raise ReplyError(f"step {number} is listed twice")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ReplyError(f'step {number}: "functions" must be a list of function names')
        unknown = [n for n in names if n not in specs]
        if unknown:
            raise ReplyError(f"step {number} uses functions that are not defined: {unknown}")
        by_step[number] = list(dict.fromkeys(names))
    missing = [n for n in range(1, n_steps + 1) if n not in by_step]
    if missing:
        raise ReplyError(f"steps {missing} are missing; list every step, with [] if it needs no function")
    return [by_step[n] for n in range(1, n_steps + 1)]


def parse_functions(text: str, draft: DraftTask) -> CompositionalTask:
    """The finished task, or a ReplyError naming every problem of the reply's functions."""
    data = parse_json_object(text)
    specs = _specs(data.get("functions"), draft.atomic.scenario.domain)
    per_step = _step_functions(data.get("steps"), len(draft.subtasks), specs)
    used = {name for names in per_step for name in names}
    problems = [f"function {n!r} is defined but no step uses it" for n in specs if n not in used]
    if not used:
        problems.append("no step needs a function; at least one step must be done by a function")
    subtasks = [
        s.model_copy(update={"functions": names}) for s, names in zip(draft.subtasks, per_step, strict=True)
    ]
    problems += chaining_problems(subtasks, specs)
    if problems:
        raise ReplyError("; ".join(problems))
    ordered = [specs[name] for name in dict.fromkeys(n for names in per_step for n in names)]
    return CompositionalTask(
        instruction=draft.instruction,
        strategy=draft.strategy,
        scenario=draft.atomic.scenario,
        atomic=draft.atomic,
        subtasks=subtasks,
        functions=ordered,
        reference=None,
    )
