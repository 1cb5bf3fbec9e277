"""The SQL schema, as typed ORM classes: runs, the bottom-up tasks, and the simulated conversations.

People query these tables by hand (`button sql`), so names are plain and plural, ids are small integers
and every table says when its rows were made. JSON columns are JSON on SQLite and JSONB on PostgreSQL.
The schema changes only through Alembic migrations (alembic/versions), never `create_all`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AtomicTaskRow",
    "Base",
    "Check",
    "Conversation",
    "EvalResult",
    "EvalRun",
    "FunctionRow",
    "JSONType",
    "Message",
    "Run",
    "ScenarioRow",
    "SeedConversationRow",
    "StageItem",
    "TaskFunction",
    "TaskRow",
    "ToolCallRow",
    "TrainingRun",
    "WorkerSpend",
]

JSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _now() -> Mapped[dt.datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


def _owner(target: str) -> Mapped[Any]:
    """A foreign key to the row that owns this one: deleting a run removes everything it made."""
    return mapped_column(ForeignKey(target, ondelete="CASCADE"))


def _shared(target: str) -> Mapped[Any]:
    """A foreign key to a row shared across tasks and runs: it cannot be deleted while still used."""
    return mapped_column(ForeignKey(target))


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so constraint names are stable across databases."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType, Any: JSONType, str: Text}


class Run(Base):
    """One invocation of a command (`generate`, `evaluate`, ...), with the config to reproduce it."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="running")
    seed: Mapped[int] = mapped_column(BigInteger)
    n_requested: Mapped[int]
    config: Mapped[dict[str, Any]]
    versions: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = _now()
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ScenarioRow(Base):
    """An everyday scenario; shared by every task and run that uses it."""

    __tablename__ = "scenarios"
    __table_args__ = (UniqueConstraint("text", "domain", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str]
    domain: Mapped[str]
    source: Mapped[str]
    created_at: Mapped[dt.datetime] = _now()


class AtomicTaskRow(Base):
    """A one-step task of a scenario; shared by every compositional task built from it."""

    __tablename__ = "atomic_tasks"
    __table_args__ = (UniqueConstraint("scenario_id", "instruction"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = _shared("scenarios.id")
    instruction: Mapped[str]
    created_at: Mapped[dt.datetime] = _now()


class FunctionRow(Base):
    """A function spec, stored once however many tasks and runs offer it (keyed by the spec's hash)."""

    __tablename__ = "functions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    domain: Mapped[str]
    description: Mapped[str]
    parameters: Mapped[dict[str, Any]]
    responses: Mapped[dict[str, Any]]
    spec_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = _now()


class TaskRow(Base):
    """A compositional task of a run, at position `idx`, with its sub-tasks and ground truth."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("run_id", "idx"),
        Index(None, "run_id", "strategy"),
        Index(None, "run_id", "behaviour"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = _owner("runs.id")
    idx: Mapped[int]
    instruction: Mapped[str]
    strategy: Mapped[str] = mapped_column(String(32))
    n_subtasks: Mapped[int]
    depth: Mapped[int]
    scenario_id: Mapped[int] = _shared("scenarios.id")
    atomic_task_id: Mapped[int] = _shared("atomic_tasks.id")
    subtasks: Mapped[list[Any]]
    reference: Mapped[dict[str, Any] | None]
    answer_text: Mapped[str | None]
    seed: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = _now()
    # What the conversation asks besides the right calls (datamodel.behaviours.Behaviour), as a column
    # so SQL selects by it; what the simulation needs to play it (withheld, follow_ups, fault,
    # look_alikes) is `behaviour_detail`, NULL for a plain task without look-alikes.
    behaviour: Mapped[str] = mapped_column(String(16), server_default="plain")
    look_alike: Mapped[bool] = mapped_column(Boolean, server_default=false())
    behaviour_detail: Mapped[dict[str, Any] | None]


class TaskFunction(Base):
    """Which functions a task offers, in the order the assistant sees them."""

    __tablename__ = "task_functions"

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    function_id: Mapped[int] = mapped_column(ForeignKey("functions.id"), index=True)


class Conversation(Base):
    """One simulated conversation over one task, with its verdict; rejected ones are kept."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("run_id", "task_id"), Index(None, "run_id", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = _owner("runs.id")
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    rejected_by: Mapped[str | None] = mapped_column(String(64))
    termination: Mapped[str] = mapped_column(String(32))
    error: Mapped[str | None]
    parallel: Mapped[bool] = mapped_column(Boolean)
    n_turns: Mapped[int]
    n_assistant_turns: Mapped[int]
    n_calls: Mapped[int]
    final_answer: Mapped[str | None]
    user_model: Mapped[str | None]
    assistant_model: Mapped[str | None]
    tool_model: Mapped[str | None]
    created_at: Mapped[dt.datetime] = _now()
    # A fork shares its parent's turns before `fork_turn` and stores only its own (idx >= fork_turn);
    # the `conversation_messages` view and `load_conversation` put the whole conversation together.
    forked_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    fork_turn: Mapped[int | None]
    # The `button worker` (host:pid) that stored it, in a distributed run; NULL when a run stored it
    # itself on one machine.
    worker: Mapped[str | None]


class WorkerSpend(Base):
    """What one `button worker` process (host:pid) has asked an endpoint for on one distributed run:
    every request's tokens, stored or not, written about once a second. The run's spend, for its
    budget, is the sum over its workers, so each sees the others' requests, not only their stored
    episodes."""

    __tablename__ = "worker_spend"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    worker: Mapped[str] = mapped_column(String(200), primary_key=True)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger)
    completion_tokens: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = _now()


class Message(Base):
    """One turn of a conversation; a tool turn shows its results in `content`, its call rows hold them."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("conversation_id", "idx"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = _owner("conversations.id")
    idx: Mapped[int]
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str]
    final_answer: Mapped[str | None]
    raw: Mapped[str | None]
    format_error: Mapped[str | None]
    prompt_tokens: Mapped[int | None]
    completion_tokens: Mapped[int | None]
    latency_ms: Mapped[float | None] = mapped_column(Float)
    model: Mapped[str | None]


class ToolCallRow(Base):
    """One function call with its result; `message_id` is NULL for a result that answered no call."""

    __tablename__ = "tool_calls"
    __table_args__ = (Index(None, "conversation_id", "idx"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = _owner("conversations.id")
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    result_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    idx: Mapped[int]
    result_idx: Mapped[int | None]
    call_id: Mapped[str]
    name: Mapped[str] = mapped_column(index=True)  # Text: a model may call a name no spec allows
    arguments: Mapped[dict[str, Any]]
    results: Mapped[Any | None] = mapped_column(JSONType)
    error: Mapped[str | None]


class Check(Base):
    """The verdict of one verification layer on one conversation, with its reason."""

    __tablename__ = "checks"
    __table_args__ = (UniqueConstraint("conversation_id", "idx"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = _owner("conversations.id")
    idx: Mapped[int]
    name: Mapped[str] = mapped_column(String(64), index=True)
    passed: Mapped[bool] = mapped_column(Boolean)
    applicable: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str]


class TrainingRun(Base):
    """One `button train` invocation: what it trained on (file, hash, export manifest), its settings,
    how many examples it kept, and its loss curve, so a model folder can be traced back to its data."""

    __tablename__ = "training_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="running")
    base_model: Mapped[str]
    data_file: Mapped[str]
    data_sha256: Mapped[str] = mapped_column(String(64))
    data_manifest: Mapped[dict[str, Any] | None]
    config: Mapped[dict[str, Any]]
    n_examples: Mapped[int | None]
    n_dropped: Mapped[int | None]
    n_truncated: Mapped[int | None]
    final_loss: Mapped[float | None] = mapped_column(Float)
    loss_history: Mapped[list[Any] | None]
    output_dir: Mapped[str]
    created_at: Mapped[dt.datetime] = _now()
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class SeedConversationRow(Base):
    """A seed dialogue imported for a bottom-up run (glaive or ToolBench style), as plain-text turns."""

    __tablename__ = "seed_conversations"
    __table_args__ = (UniqueConstraint("run_id", "idx"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = _owner("runs.id")
    idx: Mapped[int]
    source: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str]
    turns: Mapped[list[Any]]
    functions: Mapped[list[Any]]
    created_at: Mapped[dt.datetime] = _now()


class StageItem(Base):
    """One item of one bottom-up stage of a run: its input, output or failure, and what produced it.

    Every stage shares this lifecycle (input, output, ok/failed/rejected with a reason, the prompt
    version and model that made it), so one table serves them all and resume is one lookup by
    (run_id, stage, key); the stage-specific shape lives in the JSON `input` and `output`.
    """

    __tablename__ = "stage_items"
    __table_args__ = (UniqueConstraint("run_id", "stage", "key"), Index(None, "run_id", "stage", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = _owner("runs.id")
    stage: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    position: Mapped[int]
    input: Mapped[dict[str, Any]]
    output: Mapped[Any | None] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None]
    raw: Mapped[str | None]
    prompt_name: Mapped[str | None] = mapped_column(String(64))
    prompt_version: Mapped[int | None]
    model: Mapped[str | None]
    attempts: Mapped[int]
    prompt_tokens: Mapped[int]
    completion_tokens: Mapped[int]
    created_at: Mapped[dt.datetime] = _now()


class EvalRun(Base):
    """One model evaluated as the Assistant over held-out tasks (`button eval`), with its summary.

    The episodes live in `runs` (kind 'eval') with their tasks and conversations, so `button replay`
    and `button logs` show them; this row says which model played the Assistant, how, what it came
    from (`training_run_id`), which training data its tasks were checked against, and the metrics.
    """

    __tablename__ = "eval_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), unique=True)
    label: Mapped[str]
    model: Mapped[str]
    call_format: Mapped[str] = mapped_column(String(16))
    parallel: Mapped[bool] = mapped_column(Boolean)
    training_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("training_runs.id", ondelete="SET NULL"), index=True
    )
    task_source: Mapped[dict[str, Any]]
    held_out: Mapped[dict[str, Any]]
    summary: Mapped[dict[str, Any] | None]
    created_at: Mapped[dt.datetime] = _now()
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class EvalResult(Base):
    """The metrics of one evaluated conversation, one row each, so SQL can compare models by any cut."""

    __tablename__ = "eval_results"
    __table_args__ = (Index(None, "eval_run_id", "strategy", "n_subtasks"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    eval_run_id: Mapped[int] = _owner("eval_runs.id")
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), unique=True
    )
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    strategy: Mapped[str] = mapped_column(String(32))
    n_subtasks: Mapped[int]
    success: Mapped[bool | None] = mapped_column(Boolean)
    progress: Mapped[float] = mapped_column(Float)
    required_steps: Mapped[int]
    correct_steps: Mapped[int]
    n_calls: Mapped[int]
    valid_calls: Mapped[int]
    n_assistant_turns: Mapped[int]
    format_errors: Mapped[int]
    n_turns: Mapped[int]
    call_turns: Mapped[int]
    parallel_turns: Mapped[int]
    answered: Mapped[bool] = mapped_column(Boolean)
    termination: Mapped[str] = mapped_column(String(32))
    # The task's behaviour and look-alikes (copied like strategy, for the breakdown), and whether the
    # behaviour's own check and right_twin passed: NULL when the check does not apply to the task.
    behaviour: Mapped[str] = mapped_column(String(16), server_default="plain")
    look_alike: Mapped[bool] = mapped_column(Boolean, server_default=false())
    behaviour_passed: Mapped[bool | None] = mapped_column(Boolean)
    twin_passed: Mapped[bool | None] = mapped_column(Boolean)
