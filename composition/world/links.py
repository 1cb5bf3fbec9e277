"""The typed link graph: which function outputs can feed which inputs, and how deep chains can go.

A *producer* yields a value of some semantic type: a function's scalar output (one step), or a max/min
pick or a count over a function's list output (two steps: the call, then the logic step).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from composition.world.types import SUPERTYPES, WorldFunction
from datamodel.reference import LogicOp

__all__ = ["LinkGraph", "Producer", "build_graph"]

_DEPTH_CAP = 8
_NOT_COMPARABLE = {"address", "phone", "airport_name", "flight_number", "time", "boolean", "date"}


@dataclass(frozen=True)
class Producer:
    """One way to obtain a value of ``stype``: a call's output, or a logic step over its list output."""

    fn: WorldFunction
    out_key: str
    stype: str
    op: LogicOp | None = None
    item_key: str | None = None

    @property
    def cost(self) -> int:
        """Sub-tasks this producer adds (a list reduction adds a logic step)."""
        return 1 if self.op is None else 2


@dataclass
class LinkGraph:
    """Producers indexed by the semantic types they can feed, with the longest chain per type."""

    producers: dict[str, list[Producer]] = field(default_factory=dict)
    depth: dict[str, int] = field(default_factory=dict)
    all: list[Producer] = field(default_factory=list)
    two_input: list[Producer] = field(default_factory=list)
    numeric_stypes: list[str] = field(default_factory=list)
    categorical_stypes: list[str] = field(default_factory=list)
    _cache: dict[tuple[str, int], list[Producer]] = field(default_factory=dict)

    def fits(self, producer: Producer, steps: int) -> bool:
        """Whether a chain of exactly ``steps`` can plausibly end with this producer."""
        remaining = steps - producer.cost
        if remaining < 0:
            return False
        return remaining == 0 or any(self.depth.get(p.stype, 0) >= remaining for p in producer.fn.inputs)

    def feasible(self, stype: str, steps: int) -> list[Producer]:
        """Producers of values that may feed ``stype`` and can end a chain of ``steps``."""
        key = (stype, steps)
        if key not in self._cache:
            self._cache[key] = [p for p in self.producers.get(stype, []) if self.fits(p, steps)]
        return self._cache[key]

    def feasible_any(self, steps: int) -> list[Producer]:
        """Producers of any type that can end a chain of ``steps``."""
        key = ("*", steps)
        if key not in self._cache:
            self._cache[key] = [p for p in self.all if self.fits(p, steps)]
        return self._cache[key]


def _producers_of(fn: WorldFunction) -> list[Producer]:
    out: list[Producer] = []
    for key in fn.phrases:
        param = fn.output(key)
        if not param.is_list:
            out.append(Producer(fn, key, param.stype))
            continue
        assert param.listing is not None
        out.append(Producer(fn, key, "count", LogicOp.COUNT))
        label = next(i for i in param.items if i.key == param.listing.label_key)
        for item_key in param.listing.superlatives:
            out.append(Producer(fn, key, label.stype, LogicOp.MAX, item_key))
            out.append(Producer(fn, key, label.stype, LogicOp.MIN, item_key))
    return out


def _supertypes(stype: str) -> list[str]:
    chain = [stype]
    while chain[-1] in SUPERTYPES:
        chain.append(SUPERTYPES[chain[-1]])
    return chain


def build_graph(functions: Sequence[WorldFunction]) -> LinkGraph:
    """Index every producer under its type and supertypes, then compute chain depths to a fixed point."""
    graph = LinkGraph()
    for fn in functions:
        for producer in _producers_of(fn):
            graph.all.append(producer)
            for stype in _supertypes(producer.stype):
                graph.producers.setdefault(stype, []).append(producer)
    for _ in range(_DEPTH_CAP):
        for stype, producers in graph.producers.items():
            best = max(
                p.cost + max((graph.depth.get(i.stype, 0) for i in p.fn.inputs), default=0) for p in producers
            )
            graph.depth[stype] = min(_DEPTH_CAP, best)
    for producer in graph.all:
        linked = [p for p in producer.fn.inputs if graph.depth.get(p.stype, 0) >= 1]
        if len(linked) >= 2:
            graph.two_input.append(producer)
    _classify(graph)
    return graph


def _classify(graph: LinkGraph) -> None:
    """Types with one-step producers, split into numbers (arithmetic, max/min) and categories (equal)."""
    for stype, producers in graph.producers.items():
        direct = [p for p in producers if p.op is None and len(p.fn.inputs) == 1]
        if not direct or stype in _NOT_COMPARABLE:
            continue
        if direct[0].fn.output(direct[0].out_key).is_number:
            graph.numeric_stypes.append(stype)
        elif direct[0].fn.output(direct[0].out_key).json_type == "string":
            graph.categorical_stypes.append(stype)
