"""What a run cost, from the database and from the live ledger.

The stored figure comes from the messages table (every turn keeps its model and the tokens of every
request that produced it, format retries included), so any run's cost can be read back later with
plain SQL; the live ledger adds request counts and cache hits, which no table holds.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from db.reports import Table
from roles.ledger import TokenLedger

__all__ = ["ledger_table", "stored_token_usage"]


def stored_token_usage(session: Session, run_id: int) -> Table:
    """Tokens per role and model of one run, summed over its stored messages."""
    sql = """
        SELECT m.role, m.model, COUNT(*) AS turns,
               COALESCE(SUM(m.prompt_tokens), 0) AS prompt_tokens,
               COALESCE(SUM(m.completion_tokens), 0) AS completion_tokens
        FROM messages m JOIN conversations c ON c.id = m.conversation_id
        WHERE c.run_id = :run_id
        GROUP BY m.role, m.model ORDER BY m.role, m.model"""
    rows = [tuple(r) for r in session.execute(text(sql), {"run_id": run_id})]
    return Table("Tokens by role (stored)", ["role", "model", "turns", "prompt", "completion"], rows)


def ledger_table(ledger: TokenLedger, price_in: float = 0.0, price_out: float = 0.0) -> Table:
    """The live ledger of this invocation: requests, cache hits, tokens and dollars per role."""
    columns = ["role", "stage", "model", "requests", "cached", "prompt", "completion", "usd"]
    rows = ledger.rows(price_in, price_out)
    if rows:
        entries = ledger.entries.values()
        usd = (ledger.prompt_tokens * price_in + ledger.completion_tokens * price_out) / 1_000_000
        total = (sum(e.requests for e in entries), sum(e.cache_hits for e in entries))
        rows.append(("total", "", "", *total, ledger.prompt_tokens, ledger.completion_tokens, round(usd, 4)))
    return Table("LLM requests and tokens (this invocation)", columns, rows)
