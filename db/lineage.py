"""Where a conversation's turns are stored: its own rows, and for a fork its ancestors' rows before the
fork turn. One place answers it, so loading, the fork store and the SQL view agree."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Conversation

__all__ = ["Lineage", "lineages"]

# (conversation whose message rows to show, show only idx < this bound; None: all of them)
Lineage = list[tuple[int, int | None]]


def _bound(below: int | None, fork_turn: int | None) -> int | None:
    if fork_turn is None:
        return below
    return fork_turn if below is None else min(below, fork_turn)


def lineages(session: Session, conversations: Sequence[Conversation]) -> dict[int, Lineage]:
    """For each conversation: itself, then each ancestor with the turn below which its rows count.

    The bound is the smallest fork turn on the way up, so a fork of a fork forked earlier than its
    parent reads straight from the grandparent. Plain conversations cost no query.
    """
    links = {c.id: (c.forked_from_id, c.fork_turn) for c in conversations}
    missing = {p for p, _ in links.values() if p is not None and p not in links}
    while missing:
        rows = session.execute(
            select(Conversation.id, Conversation.forked_from_id, Conversation.fork_turn).where(
                Conversation.id.in_(missing)
            )
        ).all()
        links.update({row.id: (row.forked_from_id, row.fork_turn) for row in rows})
        missing = {p for p, _ in links.values() if p is not None and p not in links}
    result: dict[int, Lineage] = {}
    for conversation in conversations:
        chain: Lineage = [(conversation.id, None)]
        below: int | None = None
        current = conversation.id
        while True:
            parent, fork_turn = links.get(current, (None, None))
            if parent is None:
                break
            below = _bound(below, fork_turn)
            chain.append((parent, below))
            current = parent
        result[conversation.id] = chain
    return result
