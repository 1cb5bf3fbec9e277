"""Run configs in one shape per kind, read back by the class that wrote them.

`runs.config` held three shapes: generate runs the settings that decide the output (no execution
settings, roles only where configured), eval runs `assistant` as a role with its endpoint, fork runs the
parent, turn and change with the parent's generate settings inside. Now every row is its config class's
whole dump with a `kind` (generate, eval, fork): eval runs name `model`, `call_format` and `endpoint` at
the top, as `button eval` declares them. `training_runs.config` now holds TRL's setting names (the
config is an `SFTConfig`): lr → learning_rate, epochs → num_train_epochs, out → output_dir, micro_batch →
per_device_train_batch_size. Settings a row lacks take their defaults when read. Data only; no DDL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 06:00:00
"""

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENDPOINT_KEYS = ("base_url", "api_key_env", "temperature", "max_tokens", "seed", "timeout")
TRAIN_RENAMES = {
    "lr": "learning_rate",
    "epochs": "num_train_epochs",
    "out": "output_dir",
    "micro_batch": "per_device_train_batch_size",
}
Convert = Callable[[dict[str, Any], str], dict[str, Any]]


def _json() -> sa.types.TypeEngine:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True, astext_type=Text()), "postgresql"
    )


# The role settings as 0006 wrote them (a migration keeps its own copy: the models move on).
ROLE_DEFAULTS: dict[str, Any] = {
    "base_url": None,
    "api_key_env": "OPENAI_API_KEY",
    "temperature": None,
    "max_tokens": None,
    "seed": None,
    "timeout": 60.0,
    "model": "offline",
    "format": "button",
}
ROLES = ("user", "assistant", "tool", "composer", "judge")


def _generate_up(config: dict[str, Any]) -> dict[str, Any]:
    """Every role present with every setting, as new rows have them (old rows kept configured roles)."""
    new = {"kind": "generate", **{k: v for k, v in config.items() if k != "kind"}}
    stored = new.get("roles") or {}
    new["roles"] = {role: {**ROLE_DEFAULTS, **(stored.get(role) or {})} for role in ROLES}
    return new


def _eval_up(config: dict[str, Any]) -> dict[str, Any]:
    new = {k: v for k, v in config.items() if k not in ("assistant", "kind")}
    assistant = config.get("assistant") or {}
    new["model"] = assistant.get("model", "offline")
    new["call_format"] = assistant.get("format", "button")
    new["endpoint"] = {k: assistant[k] for k in ENDPOINT_KEYS if k in assistant}
    return {"kind": "eval", **new}


def _run_up(config: dict[str, Any], kind: str) -> dict[str, Any]:
    if kind == "eval":
        return _eval_up(config)
    if kind == "fork":
        inner = config.get("generate") or {}
        return {
            "kind": "fork",
            **{k: v for k, v in config.items() if k != "kind"},
            "generate": _generate_up(inner),
        }
    return _generate_up(config)


def _run_down(config: dict[str, Any], kind: str) -> dict[str, Any]:
    old = {k: v for k, v in config.items() if k != "kind"}
    if kind == "eval":
        assistant = {"model": old.pop("model", "offline"), "format": old.pop("call_format", "button")}
        assistant |= old.pop("endpoint", None) or {}
        old["assistant"] = assistant
    elif kind == "fork":
        old["generate"] = _generate_down(old.get("generate") or {})
    else:
        old = _generate_down(old)
    return old


def _generate_down(config: dict[str, Any]) -> dict[str, Any]:
    """The 0005 shape: only the roles not played offline."""
    old = {k: v for k, v in config.items() if k != "kind"}
    roles = old.get("roles") or {}
    old["roles"] = {role: settings for role, settings in roles.items() if settings.get("model") != "offline"}
    return old


def _train_up(config: dict[str, Any], _kind: str) -> dict[str, Any]:
    return {TRAIN_RENAMES.get(k, k): v for k, v in config.items()}


def _train_down(config: dict[str, Any], _kind: str) -> dict[str, Any]:
    back = {new: old for old, new in TRAIN_RENAMES.items()}
    return {back.get(k, k): v for k, v in config.items()}


def _rewrite(table: str, convert: Convert) -> None:
    """Convert every row's config with `convert(config, kind)`, in Python: JSON is edited the same way on
    SQLite and PostgreSQL, and these tables hold one row per run, not per conversation."""
    connection = op.get_bind()
    rows_table = sa.table(
        table,
        sa.column("id", sa.Integer),
        sa.column("config", _json()),
        *([sa.column("kind", sa.Text)] if table == "runs" else []),
    )
    columns = [rows_table.c.id, rows_table.c.config] + ([rows_table.c.kind] if table == "runs" else [])
    for row in connection.execute(sa.select(*columns)).all():
        kind = row[2] if table == "runs" else ""
        config = row[1] if isinstance(row[1], dict) else {}
        connection.execute(
            sa.update(rows_table).where(rows_table.c.id == row[0]).values(config=convert(config, kind))
        )


def upgrade() -> None:
    """Every run config in its class's shape with a kind; training configs under TRL's names."""
    _rewrite("runs", _run_up)
    _rewrite("training_runs", _train_up)


def downgrade() -> None:
    """Back to the three shapes of 0005 and the old training names (defaults filled on upgrade stay)."""
    _rewrite("runs", _run_down)
    _rewrite("training_runs", _train_down)
