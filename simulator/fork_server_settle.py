"""The last module the fork server imports (simulator/processes.py): it freezes the heap loaded so far.

Every worker is a fork of the server. Unfrozen, the first full collection in a new worker (it comes while
the worker unpickles its shard of tasks) walks the ~160k objects the server imported and writes to each
one's header, copying the memory pages they sit on: ~0.17 s per worker, and workers are started one
after another, each receiving its shard before the next is forked. Frozen objects are left out of every
collection, as Python's gc documentation advises before fork(); they are modules and their contents,
which live as long as the process anyway. Imported for this effect only.
"""

import gc

gc.freeze()
