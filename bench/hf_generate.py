"""Local-model assistant turns on CPU, with and without the prefix KV cache of `HFChatCompletionClient`.

Usage: python bench/hf_generate.py [--model PATH] [--max-new-tokens 128] [--system-tokens 1200]

Plays one realistic 4-turn assistant conversation twice on the real SmolLM2 model: a BUTTON system prompt
listing tools (~1,200 tokens), the user's request, then the model's own replies followed by tool results
and a user follow-up. Each call re-renders the whole conversation, as evaluation does. Prints seconds per
turn in both modes, the speed-up, and whether the greedy replies are identical (they must be). Runs torch
on one thread so it neither starves nor is starved by other jobs on the machine.

The cache removes the prompt's prefill (~3 ms a token on one core), not decoding (~65-100 ms a token:
every step reads all the float32 weights), so the speed-up shrinks as replies grow.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import time
from dataclasses import dataclass

from autogen_core.models import (
    AssistantMessage,
    FunctionExecutionResult,
    FunctionExecutionResultMessage,
    LLMMessage,
    SystemMessage,
    UserMessage,
)
from rich.console import Console
from rich.table import Table

from composition.world.offline import OfflineWorld
from datamodel.tasks import FunctionSpec
from roles.hf_client import HFChatCompletionClient, LoadedModel, PrefixKVCache, loaded_model
from roles.prompts import button_system_prompt

DEFAULT_MODEL = ".models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
TURNS = 4


@dataclass
class Turn:
    """One assistant call: its prompt and reply sizes, the tokens it took from the cache, time, reply."""

    prompt_tokens: int
    reply_tokens: int
    reused_tokens: int
    seconds: float
    reply: str


def opening(loaded: LoadedModel, system_tokens: int) -> tuple[list[LLMMessage], list[FunctionSpec]]:
    """System prompt listing the functions of successive offline tasks, one at a time, until it reaches
    `system_tokens`; the first task's request as the user message; that task's functions for the results."""
    world = OfflineWorld(world_seed=0)
    first = world.generate_task(123, 0)
    offered: dict[str, FunctionSpec] = {}
    system, index = "", 0
    while len(loaded.tokenizer(system)["input_ids"]) < system_tokens:
        for spec in world.generate_task(123, index).functions:
            offered.setdefault(spec.name, spec)
            system = button_system_prompt(list(offered.values()), parallel=False)
            if len(loaded.tokenizer(system)["input_ids"]) >= system_tokens:
                break
        index += 1
    return [
        SystemMessage(content=system),
        UserMessage(content=first.instruction, source="user"),
    ], first.functions


def follow_up(turn: int, tools: list[FunctionSpec]) -> LLMMessage:
    """What comes after the assistant's reply: tool results twice, then the user asking for more."""
    if turn == TURNS - 2:
        return UserMessage(content="Thanks. Can you also tell me how you found it, briefly?", source="user")
    tool = tools[turn % len(tools)]
    content = json.dumps(
        {"name": tool.name, "arguments": {}, "results": {"status": "ok", "value": 17 + turn}}
    )
    return FunctionExecutionResultMessage(
        content=[FunctionExecutionResult(call_id=f"call_{turn}", name=tool.name, content=content)]
    )


def play(loaded: LoadedModel, args: argparse.Namespace) -> tuple[list[Turn], list[Turn]]:
    """The conversation without and with the prefix cache, each reply fed back as the assistant's message.
    The two modes alternate turn by turn, so load from other jobs on the machine hits both alike."""
    clients = [
        HFChatCompletionClient(
            dataclasses.replace(loaded, prefix_cache=PrefixKVCache()),  # empty, this run's own
            max_new_tokens=args.max_new_tokens,
            prefix_cache=prefix_cache,
        )
        for prefix_cache in (False, True)
    ]
    conversations = [opening(loaded, args.system_tokens) for _ in clients]
    turns: tuple[list[Turn], list[Turn]] = ([], [])
    for turn in range(TURNS):
        for client, (messages, tools), record in zip(clients, conversations, turns, strict=True):
            record.append(timed_call(client, messages))
            messages += [
                AssistantMessage(content=record[-1].reply, source="assistant"),
                follow_up(turn, tools),
            ]
    return turns


def timed_call(client: HFChatCompletionClient, messages: list[LLMMessage]) -> Turn:
    reused_before = client.reused_prompt_tokens
    start = time.perf_counter()
    result = asyncio.run(client.create(messages))
    seconds = time.perf_counter() - start
    assert isinstance(result.content, str)
    usage, reused = result.usage, client.reused_prompt_tokens - reused_before
    return Turn(usage.prompt_tokens, usage.completion_tokens, reused, seconds, result.content)


def report(plain: list[Turn], cached: list[Turn], console: Console) -> None:
    table = Table(title="Assistant turns on SmolLM2-135M (CPU, 1 thread)", title_justify="left")
    for column in ("turn", "prompt tok", "reused tok", "reply tok", "no cache s", "cache s", "speed-up"):
        table.add_column(column, justify="right")
    for number, (a, b) in enumerate(zip(plain, cached, strict=True), start=1):
        speed = a.seconds / b.seconds
        row = (number, a.prompt_tokens, b.reused_tokens, a.reply_tokens, a.seconds, b.seconds, speed)
        table.add_row(*(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row))
    total_plain, total_cached = sum(t.seconds for t in plain), sum(t.seconds for t in cached)
    table.add_row(
        "all", "", "", "", f"{total_plain:.2f}", f"{total_cached:.2f}", f"{total_plain / total_cached:.2f}"
    )
    later_plain, later_cached = sum(t.seconds for t in plain[1:]), sum(t.seconds for t in cached[1:])
    table.add_row(
        "2-4", "", "", "", f"{later_plain:.2f}", f"{later_cached:.2f}", f"{later_plain / later_cached:.2f}"
    )
    console.print(table)
    same = [a.reply == b.reply for a, b in zip(plain, cached, strict=True)]
    console.print(f"identical greedy replies: {all(same)} {same}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="GGUF file or checkpoint folder")
    parser.add_argument("--max-new-tokens", type=int, default=128, help="reply length cap")
    parser.add_argument("--system-tokens", type=int, default=1200, help="system prompt size to reach")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    console = Console()
    loaded = loaded_model(args.model)
    warm = HFChatCompletionClient(loaded, max_new_tokens=2, prefix_cache=False)
    asyncio.run(warm.create([UserMessage(content="hi", source="user")]))  # first-call setup, untimed
    console.print(f"{TURNS} turns, alternating without and with the prefix cache ...")
    plain, cached = play(loaded, args)
    report(plain, cached, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
