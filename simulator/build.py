"""Build the role clients of an episode. Today: the offline world's scripted clients."""

from __future__ import annotations

from composition.schema import CompositionalTask
from roles.offline import OfflineAssistantClient, OfflineUserClient
from simulator.episode import RoleClients
from toolmock.offline import Executor, OfflineToolClient

__all__ = ["offline_clients"]


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
