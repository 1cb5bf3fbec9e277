"""Task-level train/validation assignment: a pure function of the task's instruction and a seed.

Hashing the instruction (not the conversation id) puts every conversation of one compositional task on
the same side, including the same instruction simulated again in other runs, so validation never holds a
task the model trained on. The same seed gives the same split on any machine, in any order of export.
"""

from __future__ import annotations

import hashlib

__all__ = ["SPLITS", "split_of"]

SPLITS = ("train", "validation")


def split_of(instruction: str, seed: int, val_fraction: float) -> str:
    """'validation' for about `val_fraction` of instructions, chosen by hash; otherwise 'train'."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    digest = hashlib.sha256(f"{seed}\x00{instruction.strip()}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    return "validation" if position < val_fraction else "train"
