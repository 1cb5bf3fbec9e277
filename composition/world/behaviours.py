"""Behaviours beyond one answerable request, given to a world task as it is assembled.

Each behaviour reshapes a plain task from the same tree, with what the simulated roles and the verifier
need (datamodel/behaviours.py):
- clarify: a value of the first call is left out of the request (the user has it in mind);
- follow_up: one or two more requests, each a call on a value the conversation already found;
- irrelevant: the request comes from another domain, and none of the offered functions can serve it;
- tool_error: one call fails as real APIs do (a transient error, a misspelt value, a service down);
- look-alikes: offered distractors include near twins of a needed function (same inputs, a similar
  name, another job), on top of any of the above.
A task that cannot take the drawn behaviour (no value to withhold, nothing to follow up on) stays plain.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from composition.compose import compose_sequential
from composition.logic import LogicError, render_value
from composition.world.expr import Call, Literal, Logic, Node, Reject, Steps, phrase
from composition.world.phrasing import capitalize, noun_of, value_format, with_article, wrappers_for
from composition.world.questions import atomic_question
from composition.world.types import feeds
from datamodel.behaviours import Behaviour, BehaviourMix, FollowUp, ToolFault, Withheld
from datamodel.reference import LiteralArg, RefArg, ReferenceStep, TaskReference
from datamodel.tasks import CompositionalTask, Strategy, SubTask

if TYPE_CHECKING:
    from composition.world.offline import OfflineWorld

__all__ = [
    "DOWN_MESSAGES",
    "GENERIC_NAME_WORDS",
    "TRANSIENT_MESSAGES",
    "draw_behaviour",
    "look_alikes_of",
    "vague_phrases",
    "with_behaviour",
]

# Values a person may leave out and give when asked: names and titles, not numbers or dates; and how
# a request refers to one it leaves out.
_NAMED = ("_name", "_title", "city", "country")
_VAGUE_PHRASES = (
    "my favourite {noun}",
    "a certain {noun}",
    "the {noun} I'm thinking of",
    "{a_noun} a friend told me about",
    "{a_noun} I want to check",
)


def vague_phrases(noun: str) -> tuple[str, ...]:
    """The ways a request can refer to a {noun} it leaves out ("a certain course", "an album I want
    to check")."""
    return tuple(p.format(noun=noun, a_noun=with_article(noun)) for p in _VAGUE_PHRASES)


# What a failing service says: once (transient) and for good (down, by domain).
TRANSIENT_MESSAGES = (
    "Service temporarily unavailable (HTTP 503). Please retry.",
    "The request timed out. Try again.",
    "Rate limit exceeded (HTTP 429); retry in a moment.",
    "Upstream connection reset. Please try the request again.",
    "Temporary internal error. Retrying usually helps.",
)
DOWN_MESSAGES = (
    "The {domain} service is down for maintenance.",
    "The {domain} data provider is unreachable right now.",
    "Service unavailable: the {domain} backend is offline.",
    "The {domain} lookup is disabled until further notice.",
    "No {domain} data can be served at the moment (outage).",
)


# Words of a function name that say nothing of what it is about.
GENERIC_NAME_WORDS = frozenset({"get", "list", "find", "search", "by", "info", "details", "in", "of"})


def draw_behaviour(mix: BehaviourMix, rng: random.Random) -> tuple[Behaviour, bool]:
    """A task's behaviour and whether it offers look-alikes, drawn by the mix's shares."""
    shares = mix.shares()
    behaviour = rng.choices(list(shares), weights=list(shares.values()))[0]
    return behaviour, rng.random() < mix.look_alike


def look_alikes_of(world: OfflineWorld, name: str) -> list[str]:
    """Near twins of a function: the same input types and a word of the name in common, another job."""
    fn = world.world_functions[name]
    inputs = sorted(p.stype for p in fn.inputs)
    outputs = {p.key for p in fn.outputs}
    words = set(name.split("_")) - GENERIC_NAME_WORDS
    return [
        other.name
        for other in world.world_functions.values()
        if other.name != name
        and sorted(p.stype for p in other.inputs) == inputs
        and not outputs & {p.key for p in other.outputs}  # another job: none of the same fields
        and words & (set(other.name.split("_")) - GENERIC_NAME_WORDS)
    ]


def with_behaviour(
    world: OfflineWorld,
    task: CompositionalTask,
    steps: Steps,
    behaviour: Behaviour,
    look_alike: bool,
    rng: random.Random,
) -> CompositionalTask:
    """The task with the behaviour (or plain when it cannot take it) and, if drawn, look-alikes."""
    makers: dict[Behaviour, Callable[[], CompositionalTask | None]] = {
        Behaviour.PLAIN: lambda: task,
        Behaviour.CLARIFY: lambda: _clarify(task, steps, rng),
        Behaviour.FOLLOW_UP: lambda: _follow_up(world, task, steps, rng),
        Behaviour.IRRELEVANT: lambda: _irrelevant(world, task, rng),
        Behaviour.TOOL_ERROR: lambda: _tool_error(world, task, steps, rng),
    }
    shaped = makers[behaviour]() or task
    return _offer_look_alikes(world, shaped, rng) if look_alike else shaped


def _withholdable(steps: Steps, instruction: str) -> list[tuple[int, str, Literal]]:
    """(step, argument, literal) of the named values written once in the request, first step first."""
    found = []
    for index, node in enumerate(steps.nodes):
        if not isinstance(node, Call):
            continue
        for argument, arg in node.args.items():
            named = isinstance(arg, Literal) and isinstance(arg.value, str) and arg.stype.endswith(_NAMED)
            if named and isinstance(arg, Literal) and instruction.count(arg.text) == 1:
                found.append((index, argument, arg))
    return found


def _clarify(task: CompositionalTask, steps: Steps, rng: random.Random) -> CompositionalTask | None:
    candidates = _withholdable(steps, task.instruction)
    if not candidates:
        return None
    index, argument, literal = candidates[0]
    noun = noun_of(literal.stype)
    vague = rng.choice(vague_phrases(noun))
    hidden = [
        sub.model_copy(
            update={"instruction": sub.instruction.replace(literal.text, f"the {noun} the user names")}
        )
        for sub in task.subtasks
    ]
    withheld = Withheld(
        step=index, argument=argument, value=literal.value, text=str(literal.value), noun=noun
    )
    return task.model_copy(
        update={
            "instruction": task.instruction.replace(literal.text, vague),
            "subtasks": hidden,
            "behaviour": Behaviour.CLARIFY,
            "withheld": withheld,
        }
    )


def _follow_up(
    world: OfflineWorld, task: CompositionalTask, steps: Steps, rng: random.Random
) -> CompositionalTask | None:
    """One or two more requests, each a call on the last answer (or an earlier value) of the dialogue."""
    nodes: list[Call | Logic] = list(steps.nodes)
    follow_ups: list[FollowUp] = []
    for _ in range(1 if rng.random() < 0.6 else 2):
        made = _next_request(world, nodes, {c.fn.name for c in nodes if isinstance(c, Call)}, rng)
        if made is None:
            break
        node, base, question = made
        index = len(nodes)
        nodes.append(node)
        follow_ups.append(
            FollowUp(
                instruction=question,
                steps=[_step(node, index, {id(n): i for i, n in enumerate(nodes)})],
                answer=node.value,
                answer_text=_answer_text(node.value),
            )
        )
    if not follow_ups:
        return None
    offered = [f.name for f in task.functions]
    needed = [s.function for f in follow_ups for s in f.steps if s.function and s.function not in offered]
    functions = [*task.functions, *(world.functions[n] for n in dict.fromkeys(needed))]
    update = {"behaviour": Behaviour.FOLLOW_UP, "follow_ups": follow_ups, "functions": functions}
    return task.model_copy(update=update)


def _next_request(
    world: OfflineWorld, nodes: Sequence[Call | Logic], used: set[str], rng: random.Random
) -> tuple[Call, Node, str] | None:
    """A call that takes a value found so far (the latest first) and asks something new about it."""
    composer = world.composer
    for base in reversed(nodes):
        if isinstance(base.value, (list, dict, bool)) or base.value is None:
            continue
        options = [
            (fn, param)
            for fn in world.world_functions.values()
            if fn.name not in used
            for param in fn.inputs
            if feeds(base.stype, param.stype)
        ]
        rng.shuffle(options)
        for fn, param in options[:6]:
            keys = [k for k, p in ((k, fn.output(k)) for k in fn.phrases) if not p.is_list]
            if not keys:
                continue
            args: dict[str, Node] = {
                p.key: base if p is param else composer.literal(p, rng) for p in fn.inputs
            }
            try:
                node = composer.call(fn, rng.choice(keys), args, rng)
            except Exception:  # noqa: BLE001 - a call the world cannot serve: try another
                continue
            refer = phrase(node, _refer_to(base))
            question = capitalize(rng.choice(wrappers_for(node.stype)).replace("{np}", refer))
            first = question.split(" ", 1)[0]
            if first not in ("I", "I'd", "I'm", "I'll"):
                question = question[:1].lower() + question[1:]
            return node, base, f"And {question}"
    return None


def _refer_to(base: Node) -> Callable[[Node], str | None]:
    """How a follow-up names the value it builds on: 'that city'."""
    noun = noun_of(base.stype)

    def refer(node: Node) -> str | None:
        return f"that {noun}" if node is base else None

    return refer


def _step(node: Call, index: int, positions: dict[int, int]) -> ReferenceStep:
    def binding(arg: Node) -> LiteralArg | RefArg:
        if isinstance(arg, Literal):
            return LiteralArg(value=arg.value)
        field = arg.out_key if isinstance(arg, Call) else None
        return RefArg(step=positions[id(arg)], field=field)

    return ReferenceStep(
        subtask=index,
        function=node.fn.name,
        arguments={k: binding(a) for k, a in node.args.items()},
        result=node.result,
        phrase=phrase(node, lambda n: f"{{{positions[id(n)]}}}" if id(n) in positions else None),
        noun=noun_of(node.stype),
        value_format=value_format(node.stype),
    )


def _answer_text(value: Any) -> str:
    return render_value(value)


def _irrelevant(world: OfflineWorld, task: CompositionalTask, rng: random.Random) -> CompositionalTask | None:
    """A request from a domain none of the offered functions belongs to."""
    offered = {
        world.world_functions[f.name].domain for f in task.functions if f.name in world.world_functions
    }
    for _ in range(12):
        try:
            node = compose_sequential(world.composer, 1, rng)
        except (Reject, LogicError):
            continue
        if isinstance(node, Call) and node.fn.domain not in offered:
            refusal = SubTask(index=0, instruction="None of the offered functions can do this: say so.")
            return task.model_copy(
                update={
                    "instruction": atomic_question(node, rng),
                    "strategy": Strategy.ATOMIC,
                    "subtasks": [refusal],
                    "reference": TaskReference(steps=[], answer=None, answer_text=""),
                    "behaviour": Behaviour.IRRELEVANT,
                }
            )
    return None


def _misspelt(value: str, rng: random.Random) -> str | None:
    """The value with two neighbouring letters of one longer word swapped, as a hurried person types."""
    words = value.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long:
        return None
    i = rng.choice(long)
    word = words[i]
    j = rng.randrange(1, len(word) - 2)
    swapped = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    if swapped == word:
        return None
    return " ".join([*words[:i], swapped, *words[i + 1 :]])


def _tool_error(
    world: OfflineWorld, task: CompositionalTask, steps: Steps, rng: random.Random
) -> CompositionalTask | None:
    """One call fails: a misspelt value in the request (when there is one to misspell), else a transient
    error or a service that stays down."""
    calls = [i for i, node in enumerate(steps.nodes) if isinstance(node, Call)]
    typo_able = _withholdable(steps, task.instruction)
    if typo_able and rng.random() < 0.35:
        index, argument, literal = typo_able[0]
        typo = _misspelt(str(literal.value), rng)
        if typo is not None:
            noun = noun_of(literal.stype)
            fault = ToolFault(
                step=index,
                kind="typo",
                message=f"No {noun} named '{typo}' was found. Did you mean '{literal.value}'?",
                expected="correct",
                argument=argument,
                typo=typo,
            )
            said = literal.text.replace(str(literal.value), typo)
            # The hints read as the request: an assistant that sees them knows only the misspelling.
            hints = [
                sub.model_copy(update={"instruction": sub.instruction.replace(literal.text, said)})
                for sub in task.subtasks
            ]
            update = {"instruction": task.instruction.replace(literal.text, said), "subtasks": hints}
            return task.model_copy(update={**update, "behaviour": Behaviour.TOOL_ERROR, "fault": fault})
    index = rng.choice(calls)
    node = steps.nodes[index]
    assert isinstance(node, Call)
    if rng.random() < 0.6:
        fault = ToolFault(
            step=index, kind="transient", message=rng.choice(TRANSIENT_MESSAGES), expected="retry"
        )
    else:
        message = rng.choice(DOWN_MESSAGES).format(domain=node.fn.domain)
        fault = ToolFault(step=index, kind="unavailable", message=message, expected="report")
    return task.model_copy(update={"behaviour": Behaviour.TOOL_ERROR, "fault": fault})


def _offer_look_alikes(world: OfflineWorld, task: CompositionalTask, rng: random.Random) -> CompositionalTask:
    """Up to two near twins of needed functions among the offered ones, in place of other distractors."""
    if task.behaviour is Behaviour.IRRELEVANT or task.reference is None:
        return task
    needed = {s.function for s in task.reference.steps if s.function}
    needed |= {s.function for f in task.follow_ups for s in f.steps if s.function}
    offered = [f.name for f in task.functions]
    twins = sorted({t for n in sorted(needed) for t in look_alikes_of(world, n)} - needed - set(offered))
    if not twins:
        return task
    chosen = rng.sample(twins, min(2, len(twins)))
    others = [n for n in offered if n not in needed]
    kept = [n for n in offered if n in needed or n in others[len(chosen) :]]
    names = kept + chosen
    rng.shuffle(names)
    return task.model_copy(
        update={"functions": [world.functions[n] for n in names], "look_alikes": sorted(chosen)}
    )
