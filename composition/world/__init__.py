"""The offline world: a seeded knowledge base, 80+ typed functions over 15+ domains, and task generation.

Public API (its modules are imported by name; the package imports nothing, so the composition
strategies, which build on the world's expressions, and the world's generator, which uses them, load
without a cycle)::

    from composition.world.offline import OfflineWorld

    world = OfflineWorld(world_seed=0)
    world.functions            # name -> FunctionSpec
    world.domains              # domain names
    world.execute(name, args)  # the one right result; ToolExecutionError (world/types.py) when it cannot run
    world.generate_tasks(n, seed, max_subtasks=3, strategies=None)
    world.generate_task(seed, index, max_subtasks=3, strategies=None)
"""
