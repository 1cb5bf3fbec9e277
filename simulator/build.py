"""Build the role clients of an episode: scripted offline clients, LLM clients, or a mix per role.

LLM clients are built once per run and shared by every episode (they are stateless and async; the
agents that hold conversation state are fresh per episode). Scripted clients are per task: they read
the task's reference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autogen_core.models import ChatCompletionClient

from datamodel.run_config import GenerateConfig
from datamodel.tasks import CompositionalTask
from roles.offline import OfflineToolClient, OfflineUserClient
from roles.offline_assistant import OfflineAssistantClient
from simulator.episode import RoleClients
from toolmock.offline import Executor

if TYPE_CHECKING:  # the LLM stack (openai SDK) is imported only by runs that use it
    from roles.resilience import LLMRuntime, ManagedClient

__all__ = ["SIMULATION_ROLES", "episode_clients", "llm_clients", "offline_clients"]

SIMULATION_ROLES = ("user", "assistant", "tool")


def _scripted(
    role: str, task: CompositionalTask, executor: Executor, *, parallel: bool, policy: str
) -> tuple[ChatCompletionClient, str]:
    """The scripted client of one role and the model name recorded for it."""
    if role == "user":
        return OfflineUserClient(task), "offline-user"
    if role == "assistant":
        return OfflineAssistantClient(task, parallel=parallel, policy=policy), f"offline-assistant-{policy}"
    return OfflineToolClient(executor), "offline-tool"


def offline_clients(
    task: CompositionalTask, executor: Executor, *, parallel: bool, policy: str = "plan"
) -> RoleClients:
    """Scripted user, assistant (following the task's reference) and tool (executing in `executor`)."""
    (user, user_model), (assistant, assistant_model), (tool, tool_model) = (
        _scripted(role, task, executor, parallel=parallel, policy=policy) for role in SIMULATION_ROLES
    )
    return RoleClients(user, assistant, tool, user_model, assistant_model, tool_model)


def llm_clients(config: GenerateConfig, runtime: LLMRuntime) -> dict[str, ManagedClient]:
    """One managed client per simulation role played by an LLM (offline roles are left out)."""
    from roles.clients import build_role_client  # the openai SDK and autogen-ext: LLM runs only

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
    chosen: dict[str, tuple[ChatCompletionClient, str]] = {
        role: (llm[role], llm[role].model)
        if role in llm
        else _scripted(role, task, executor, parallel=config.parallel, policy=config.policy)
        for role in SIMULATION_ROLES
    }
    (user, user_model), (assistant, assistant_model), (tool, tool_model) = (
        chosen[role] for role in SIMULATION_ROLES
    )
    clients = RoleClients(user, assistant, tool, user_model, assistant_model, tool_model)
    if "assistant" in llm:
        clients.assistant_native = config.role("assistant").format == "native"
        clients.assistant_retries = retries
    if "tool" in llm:
        clients.tool_retries, clients.tool_history = retries, True
    if runtime is not None:
        clients.budget_exhausted = lambda: runtime.budget_exhausted
    return clients
