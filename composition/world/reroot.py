"""Twin branches for comparisons: the same chain of calls asked about a different subject.

"Which was published later, X or Y?" needs two branches of the same shape that differ only in their
subject (the first entity literal of the first call). The twin keeps every phrasing of the original so
the question reads symmetrically, and is re-executed for real.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from composition.world.expr import Call, Literal, Logic, Node, Reject
from composition.world.phrasing import ENTITY_OF_STYPE
from composition.world.questions import pick_logic

if TYPE_CHECKING:
    from composition.compose import Composer

__all__ = ["reroot"]

_TRIES = 12


def _subject(node: Node) -> tuple[Call, str]:
    """The first call in evaluation order and the key of its first entity literal."""
    while not isinstance(node, Literal):
        if isinstance(node, Logic):
            node = node.operands[0]
            continue
        deeper = next((a for a in node.args.values() if not isinstance(a, Literal)), None)
        if deeper is None:
            for key, arg in node.args.items():
                if isinstance(arg, Literal) and arg.stype in ENTITY_OF_STYPE:
                    return node, key
            raise Reject("first call has no entity subject")
        node = deeper
    raise Reject("branch is a bare literal")


def _rebuild(composer: Composer, node: Node, old: Literal, new: Literal) -> Node:
    if isinstance(node, Literal):
        return new if node is old else node
    if isinstance(node, Logic):
        inner = _rebuild(composer, node.operands[0], old, new)
        assert isinstance(inner, Call)
        return pick_logic(inner, node.op, node.key)
    args = {k: _rebuild(composer, a, old, new) for k, a in node.args.items()}
    twin = Call(node.fn, node.out_key, args, node.template)
    twin.result = composer.execute(node.fn, {k: a.value for k, a in args.items()})
    return twin


def reroot(
    composer: Composer, branch: Node, rng: random.Random, want_equal: bool = False
) -> tuple[Node, Literal, Literal]:
    """A twin of ``branch`` over another subject; with ``want_equal``, prefer a twin with the same value."""
    call, key = _subject(branch)
    old = call.args[key]
    assert isinstance(old, Literal)
    param = call.fn.input(key)
    fallback: tuple[Node, Literal] | None = None
    for _ in range(_TRIES):
        value = composer.sample(param, rng)
        if value == old.value:
            continue
        new = Literal(value, old.stype)
        twin = _rebuild(composer, branch, old, new)
        if not want_equal or twin.value == branch.value:
            return twin, old, new
        fallback = fallback or (twin, new)
    if fallback is None:
        raise Reject("no second subject found")
    return fallback[0], old, fallback[1]
