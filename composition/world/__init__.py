"""The offline world: a seeded knowledge base, 80+ typed functions over 15+ domains, and task generation.

Public API::

    world = OfflineWorld(world_seed=0)
    world.functions            # name -> FunctionSpec
    world.domains              # domain names
    world.execute(name, args)  # the one right result; ToolExecutionError when it cannot run
    world.generate_tasks(n, seed, max_subtasks=3, strategies=None)
    world.generate_task(seed, index, max_subtasks=3, strategies=None)
"""

from composition.world.generator import answer_field
from composition.world.offline import OfflineWorld
from composition.world.types import ToolExecutionError, WorldFunction

__all__ = ["OfflineWorld", "ToolExecutionError", "WorldFunction", "answer_field"]
