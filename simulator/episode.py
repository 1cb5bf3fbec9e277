"""One conversation: three AgentChat agents taking turns as a deterministic router says.

The episode drives the agents itself, the way AgentChat's group chat would with a `selector_func`: every
agent is handed the messages the others sent since it last spoke, the router names the next speaker from
the last turn, and AgentChat termination conditions see every new message. No team runtime sits in
between: with a deterministic router it only moved messages, at ~40% of the client CPU of an LLM call
(docs/decisions.md).

No database, no config parsing: a task, three clients and a small config in, a Trajectory out. Every
failure ends up in the Trajectory (termination ERROR with the error text); nothing is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from autogen_agentchat.agents import BaseChatAgent
from autogen_agentchat.base import TerminationCondition
from autogen_agentchat.conditions import FunctionalTermination, MaxMessageTermination
from autogen_agentchat.messages import BaseAgentEvent, BaseChatMessage, TextMessage
from autogen_core import CancellationToken
from autogen_core.models import ChatCompletionClient

from datamodel.tasks import CompositionalTask
from datamodel.trajectory import AssistantTurn, TerminationReason, ToolTurn, Trajectory, Turn, UserTurn
from roles.assistant import AssistantRole
from roles.messages import turn_message, turn_of
from roles.tool import ToolRole
from roles.user import UserRole

__all__ = [
    "ASSISTANT",
    "TASK_SOURCE",
    "TOOL",
    "USER",
    "EpisodeConfig",
    "RoleClients",
    "prefix_messages",
    "route",
    "run_episode",
]

# Agent names are identifiers and none is "user": AgentChat's default task source is "user".
USER, ASSISTANT, TOOL = "simulated_user", "assistant", "tool"
TASK_SOURCE = "episode"

Thread = Sequence[BaseAgentEvent | BaseChatMessage]


@dataclass
class EpisodeConfig:
    """How one conversation runs. `hints` off gives the evaluation setting (no sub-task decomposition).

    `max_idle` ends the conversation (STALLED) after that many assistant turns in a row with neither
    calls nor a final answer: one is a fair clarifying question, more is a model that will not act, and
    letting it talk to max_turns only costs time (an evaluation of an untrained model is mostly that).
    """

    parallel: bool = True
    max_turns: int = 24
    hints: bool = True
    max_idle: int | None = None


@dataclass
class RoleClients:
    """The model client of each role, the model names recorded with every turn, and how the roles treat
    their clients' replies: scripted clients are taken as they are; LLM clients get format retries, the
    assistant's call format, the tool's consistency history, and a budget that may end the episode."""

    user: ChatCompletionClient
    assistant: ChatCompletionClient
    tool: ChatCompletionClient
    user_model: str = ""
    assistant_model: str = ""
    tool_model: str = ""
    assistant_native: bool | None = None
    assistant_retries: int = 0
    tool_retries: int = 0
    tool_history: bool = False
    budget_exhausted: Callable[[], bool] | None = None

    @property
    def models(self) -> dict[str, str]:
        """Model name per role, as stored with the conversation."""
        return {"user": self.user_model, "assistant": self.assistant_model, "tool": self.tool_model}


def route(thread: Thread) -> str:
    """The next speaker, from the last turn: the task → user → assistant; calls → tool → assistant;
    an assistant turn with neither calls nor an answer (a question, a malformed reply) → user."""
    last = next((t for m in reversed(thread) if (t := turn_of(m)) is not None), None)
    if last is None:
        return USER
    if isinstance(last, UserTurn | ToolTurn):
        return ASSISTANT
    return TOOL if last.tool_calls else USER


def _answers(messages: Thread) -> int:
    return sum(isinstance(t := turn_of(m), AssistantTurn) and t.final_answer is not None for m in messages)


def _answered(requests: int) -> FunctionalTermination:
    """A termination that fires at the final answer to the last of `requests` requests (the task's own
    and its follow-ups). It sees message deltas, so it keeps the count itself (every episode builds a
    fresh one)."""
    given = [0]

    def done(messages: Thread) -> bool:
        given[0] += _answers(messages)
        return given[0] >= requests

    return FunctionalTermination(done)


def _idle(turn: AssistantTurn) -> bool:
    return not turn.tool_calls and turn.final_answer is None


def _trailing_idle(turns: Sequence[Turn]) -> int:
    """Assistant turns in a row, at the end, with neither calls nor an answer (user turns between them
    do not break the run: they are the answers to those turns)."""
    count = 0
    for turn in reversed(turns):
        if isinstance(turn, AssistantTurn):
            if not _idle(turn):
                break
            count += 1
        elif isinstance(turn, ToolTurn):
            break
    return count


def _stall_condition(limit: int) -> FunctionalTermination:
    """A termination that fires at the `limit`-th idle assistant turn in a row. It sees message deltas,
    so it keeps the turns so far itself (every episode builds a fresh one) and applies `_trailing_idle`,
    the same rule that names the termination afterwards."""
    seen: list[Turn] = []

    def stalled(messages: Thread) -> bool:
        seen.extend(_turns(messages))
        return _trailing_idle(seen) >= limit

    return FunctionalTermination(stalled)


def _agents(task: CompositionalTask, clients: RoleClients, config: EpisodeConfig) -> dict[str, BaseChatAgent]:
    """Fresh agents for every conversation (agents are stateful), by name."""
    user = UserRole(
        USER,
        clients.user,
        task.instruction,
        clients.user_model,
        detail=task.withheld.text if task.withheld is not None else None,
        follow_ups=[f.instruction for f in task.follow_ups],
    )
    assistant = AssistantRole(
        ASSISTANT,
        clients.assistant,
        task.functions,
        parallel=config.parallel,
        subtasks=task.subtasks if config.hints else None,
        model_name=clients.assistant_model,
        native=clients.assistant_native,
        format_retries=clients.assistant_retries,
    )
    tool = ToolRole(
        TOOL,
        clients.tool,
        task.functions,
        clients.tool_model,
        format_retries=clients.tool_retries,
        history=clients.tool_history,
        fault=task.fault,
        faulty=task.faulty_function(),
    )
    return {agent.name: agent for agent in (user, assistant, tool)}


def _stop_condition(config: EpisodeConfig, requests: int) -> TerminationCondition:
    """The final answer to the last request, the message limit (`max_turns` per request, so follow-ups
    get room of their own), or (when set) too many idle assistant turns in a row."""
    # The kick-off counts as one message, hence + 1.
    stop = _answered(requests) | MaxMessageTermination(config.max_turns * requests + 1)
    if config.max_idle is not None:
        stop = stop | _stall_condition(config.max_idle)
    return stop


async def _converse(
    agents: dict[str, BaseChatAgent],
    opening: list[BaseChatMessage],
    stop: TerminationCondition,
    thread: list[BaseChatMessage],
) -> None:
    """Let the agents speak in `route` order until `stop` fires, appending every message to `thread`.

    As in an AgentChat group chat, the opening messages go to every agent, each agent then gets what the
    others said since its last turn (never its own messages back), and the stop condition sees the
    opening and then every new message.
    """
    thread.extend(opening)
    unseen = {name: list(opening) for name in agents}
    token = CancellationToken()
    if await stop(opening) is not None:
        return
    while True:
        speaker = route(thread)
        response = await agents[speaker].on_messages(unseen[speaker], token)
        unseen[speaker] = []
        message = response.chat_message
        thread.append(message)
        for name, inbox in unseen.items():
            if name != speaker:
                inbox.append(message)
        if await stop([message]) is not None:
            return


def _turns(messages: Thread) -> list[Turn]:
    return [t for m in messages if (t := turn_of(m)) is not None]


def _termination(turns: list[Turn], max_idle: int | None) -> TerminationReason:
    last = turns[-1] if turns else None
    if isinstance(last, AssistantTurn) and last.final_answer is not None:
        return TerminationReason.FINAL_ANSWER
    if max_idle is not None and _trailing_idle(turns) >= max_idle:
        return TerminationReason.STALLED
    return TerminationReason.MAX_TURNS


_SPEAKER = {"user": USER, "assistant": ASSISTANT, "tool": TOOL}


def prefix_messages(prefix: Sequence[Turn]) -> list[BaseChatMessage]:
    """Earlier turns as the messages their agents would have sent: each agent takes its own turns
    into its context (they never come back to it otherwise), the others read them as usual."""
    return [turn_message(turn, _SPEAKER[turn.role]) for turn in prefix]


async def run_episode(
    task: CompositionalTask,
    clients: RoleClients,
    config: EpisodeConfig,
    prefix: Sequence[Turn] = (),
) -> Trajectory:
    """Simulate one conversation; the turns so far are kept even when it errors.

    `prefix`: turns already spoken (a fork re-simulates from turn K); they go in with the task, every
    agent folds them into its context, `route` picks the next speaker from the last of them, and the
    trajectory returned holds prefix and new turns. They count towards `max_turns`.
    """
    thread: list[BaseChatMessage] = []
    try:
        # The kick-off names the task for the record; the agents ignore it (it carries no turn).
        kickoff = TextMessage(content=task.instruction, source=TASK_SOURCE)
        opening = [kickoff, *prefix_messages(prefix)]
        stop = _stop_condition(config, 1 + len(task.follow_ups))
        await _converse(_agents(task, clients, config), opening, stop, thread)
    except Exception as exc:  # failures are data: recorded in the trajectory, never raised
        from roles.resilience import describe_failure  # the LLM stack: loaded only when something failed

        error = describe_failure(exc)
        # The agent may have wrapped the budget's exception in its own, so ask the budget, not the type.
        budget = clients.budget_exhausted is not None and clients.budget_exhausted()
        reason = TerminationReason.BUDGET if budget else TerminationReason.ERROR
        return Trajectory(turns=_turns(thread), termination=reason, error=error, parallel=config.parallel)
    turns = _turns(thread)
    termination = _termination(turns, config.max_idle)
    return Trajectory(turns=turns, termination=termination, parallel=config.parallel)
