"""Build the role clients of an episode: scripted offline clients, LLM clients, or a mix per role.

LLM clients are built once per run and shared by every episode (they are stateless and async; the
agents that hold conversation state are fresh per episode). Scripted clients are per task: they read
the task's reference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from composition.schema import CompositionalTask
from roles.offline import OfflineAssistantClient, OfflineUserClient
from simulator.config import GenerateConfig
from simulator.episode import RoleClients
from toolmock.offline import Executor, OfflineToolClient

if TYPE_CHECKING:  # the LLM stack (openai SDK) is imported only by runs that use it
    from roles.resilience import LLMRuntime, ManagedClient

__all__ = ["SIMULATION_ROLES", "episode_clients", "llm_clients", "offline_clients"]

SIMULATION_ROLES = ("user", "assistant", "tool")


def offline_clients(
    task: CompositionalTask, executor: Executor, *, parallel: bool, policy: str = "plan"
) -> RoleClients:
    """Scripted user, assistant (following the task's reference) and tool (executing in `executor`)."""
    return RoleClients(
        user=OfflineUserClient(task),
        assistant=OfflineAssistantClient(task, parallel=parallel, policy=policy),
        tool=OfflineToolClient(executor),
        user_model="offline-user",
        assistant_model=f"offline-assistant-{policy}",
        tool_model="offline-tool",
    )


def llm_clients(config: GenerateConfig, runtime: LLMRuntime) -> dict[str, ManagedClient]:
    """One managed client per simulation role played by an LLM (offline roles are left out)."""
    from roles.clients import build_role_client

    return {
        role: build_role_client(
            role, config.role(role), runtime, parallel=config.parallel, max_retries=config.llm.max_retries
        )
        for role in SIMULATION_ROLES
        if config.role(role).spec.is_llm
    }


def episode_clients(
    task: CompositionalTask,
    executor: Executor,
    config: GenerateConfig,
    llm: dict[str, ManagedClient],
    runtime: LLMRuntime | None = None,
) -> RoleClients:
    """Each role's client: the LLM one when the role is played by an LLM, else the scripted one.

    Only the scripted clients a role needs are built: the offline assistant reads the task's reference
    (LLM-made tasks have none) and the offline tool executes only world functions; the offline user
    works for any task, since it only states the instruction.
    """
    retries = config.max_format_retries
    user = llm.get("user") or OfflineUserClient(task)
    assistant = llm.get("assistant") or OfflineAssistantClient(
        task, parallel=config.parallel, policy=config.policy
    )
    tool = llm.get("tool") or OfflineToolClient(executor)
    clients = RoleClients(
        user=user,
        assistant=assistant,
        tool=tool,
        user_model=llm["user"].model if "user" in llm else "offline-user",
        assistant_model=(
            llm["assistant"].model if "assistant" in llm else f"offline-assistant-{config.policy}"
        ),
        tool_model=llm["tool"].model if "tool" in llm else "offline-tool",
    )
    if "assistant" in llm:
        clients.assistant_native = config.role("assistant").format == "native"
        clients.assistant_retries = retries
    if "tool" in llm:
        clients.tool_retries, clients.tool_history = retries, True
    if runtime is not None:
        clients.budget_exhausted = lambda: runtime.budget_exhausted
    return clients
