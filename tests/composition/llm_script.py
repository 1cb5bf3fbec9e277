"""A scripted model for the bottom-up stages: it reads each prompt as an LLM would and answers it.

The stage is told from the prompt's heading; answers are derived from the prompt text alone, so they do
not depend on the order requests arrive in (a resumed run gets the same answers). Faults are part of
the script, chosen by content: a first attempt is malformed when the prompt's checksum says so, a seed
about sourdough never yields a scenario, a loan task is judged 'no', and function designs come out
invalid or badly chained on their first attempt.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Sequence
from typing import Any

from autogen_core.models import LLMMessage
from autogen_core.tools import Tool, ToolSchema

from roles.scripted import ScriptedChatCompletionClient

__all__ = ["BottomUpScript", "SimulatedCrash", "bag_of_words"]

SCENARIOS = {  # a keyword of the seed conversation → (scenario, domain)
    "Swiss francs": ("converting money between currencies", "finance"),
    "leeks": ("finding recipes for ingredients at home", "food"),
    "trains leave": ("checking train departure times", "travel"),
    "package": ("tracking a parcel delivery", "shopping"),
    "car loan": ("estimating monthly loan payments", "finance"),
    "air in Lyon": ("checking outdoor air quality", "health"),
    "adopt a cat": ("adopting a pet from a shelter", "pets"),
    # a near-duplicate on purpose: dedup must drop it in favour of the parcel scenario above
    "podcasts": ("tracking a parcel delivery online", "shopping"),
    "Lisbon": ("booking a hotel near an airport", "travel"),
    "library": ("finding opening hours of local places", "local"),
    "final score": ("following sports match results", "sports"),
}
EXPANSIONS = [
    ("renewing a passport", "travel"),
    ("choosing a mobile phone plan", "shopping"),
    ("planning a birthday party", "events"),
    ("finding a plumber for repairs", "home"),
    ("comparing electricity tariffs", "utilities"),
    ("learning a new language", "education"),
    ("buying concert tickets", "entertainment"),
    ("scheduling a dentist appointment", "health"),
    ("selling used furniture", "shopping"),
    ("training for a half marathon", "sports"),
    ("filing a tax return", "finance"),
    ("volunteering at community events", "community"),
    ("caring for indoor plants", "home"),
    ("renting a holiday cottage", "travel"),
]
_HEADINGS = {
    "SCENARIO EXTRACTION": "extract",
    "SCENARIO EXPANSION": "expand",
    "ATOMIC TASK": "atomic",
    "COMPOSITION: SEQUENTIAL": "compose",
    "COMPOSITION: PARALLEL THEN SEQUENTIAL": "compose",
    "COMPOSITION CHECK": "judge",
    "FUNCTION DESIGN": "functions",
}
_WORD = re.compile(r"[a-z]+")


class SimulatedCrash(RuntimeError):
    """Raised by the script to stand in for a kill -9 in the middle of a run."""


def bag_of_words(texts: Sequence[str]) -> list[list[float]]:
    """A tiny deterministic embedder: word counts hashed into 512 buckets."""
    vectors = []
    for text in texts:
        vector = [0.0] * 512
        for word in _WORD.findall(text.lower()):
            vector[zlib.crc32(word.encode()) % 512] += 1.0
        vectors.append(vector)
    return vectors


def _quoted(prompt: str) -> str:
    match = re.search(r'"([^"]+)"', prompt)
    assert match, prompt
    return match.group(1)


class BottomUpScript(ScriptedChatCompletionClient):
    """Answers every bottom-up prompt; `faults` switches the scripted mistakes on, `crash_after` stops
    the run with SimulatedCrash once that many requests were made."""

    def __init__(
        self, *, faults: bool = True, crash_after: int | None = None, model: str = "scripted"
    ) -> None:
        super().__init__()
        self.faults, self.crash_after, self.model = faults, crash_after, model
        self.requests: list[list[str]] = []  # every request's message texts, in order

    def decide(self, messages: Sequence[LLMMessage], tools: Sequence[Tool | ToolSchema]) -> str:
        if self.crash_after is not None and self.calls > self.crash_after:
            raise SimulatedCrash(f"simulated crash at request {self.calls}")
        texts = [str(m.content) for m in messages]
        self.requests.append(texts)
        prompt = texts[0]
        stage = _HEADINGS[prompt.splitlines()[0].strip()]
        first = len(messages) == 1
        if self.faults and first and zlib.crc32(prompt.encode()) % 3 == 0 and stage != "functions":
            return _MALFORMED[stage]
        return str(getattr(self, f"_{stage}")(prompt, first))

    def _extract(self, prompt: str, first: bool) -> str:
        if self.faults and "sourdough" in prompt:
            return "I think this is about baking."  # never valid: the item must end as 'failed'
        scenario, domain = next(v for k, v in SCENARIOS.items() if k in prompt)
        return json.dumps({"scenario": scenario, "domain": domain})

    def _expand(self, prompt: str, first: bool) -> str:
        count = int(re.search(r"Invent (\d+) new", prompt).group(1))  # type: ignore[union-attr]
        start = zlib.crc32(_quoted(prompt).encode()) % len(EXPANSIONS)
        picked = [EXPANSIONS[(start + j) % len(EXPANSIONS)] for j in range(count)]
        return json.dumps({"scenarios": [{"scenario": s, "domain": d} for s, d in picked]})

    def _atomic(self, prompt: str, first: bool) -> str:
        return json.dumps({"task": f"Help me with {_quoted(prompt)} for the Okafor family next Friday."})

    def _compose(self, prompt: str, first: bool) -> str:
        atomic = _quoted(prompt).rstrip(".")
        reply = {"subsequent_task": "Use that result to decide what to do next and tell me."}
        if "PARALLEL" in prompt:
            reply["parallel_task"] = "Find out what the same would cost for the Lindqvist family."
        reply["composed_task"] = f"{atomic}, and based on the result tell me what to do next."
        return json.dumps(reply)

    def _judge(self, prompt: str, first: bool) -> str:
        if "loan" in prompt:
            return "Step 2 does not follow from a loan estimate; the steps miss the point.\n<ans>no</ans>"
        return "Each step feeds the next and together they answer the request.\n<ans>yes</ans>"

    def _functions(self, prompt: str, first: bool) -> str:
        steps = re.findall(r"^(\d+)\. .*?(?:\(uses: ([^)]*)\))?$", prompt, re.MULTILINE)
        parallel = len(steps) == 3
        mode = zlib.crc32(prompt.encode()) % 2 if self.faults and first else None
        return json.dumps(_design(steps, parallel, broken_schema=mode == 0, broken_chain=mode == 1))


def _spec(name: str, inputs: dict[str, str], outputs: dict[str, str]) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"General-purpose {name.replace('_', ' ')}.",
        "parameters": {
            "type": "object",
            "properties": {k: {"type": t} for k, t in inputs.items()},
            "required": list(inputs),
        },
        "responses": {
            "type": "object",
            "properties": {
                "record": {"type": "object", "properties": {k: {"type": t} for k, t in outputs.items()}}
            },
        },
    }


def _design(
    steps: list[tuple[str, str]], parallel: bool, *, broken_schema: bool, broken_chain: bool
) -> dict[str, Any]:
    """Sequential: a lookup, then a function taking its record_id. Parallel-then-sequential: two
    lookups, then a pure logic step with no function."""
    functions = [_spec("lookup_details", {"query": "string"}, {"record_id": "string", "amount": "number"})]
    plan: list[dict[str, Any]] = [{"step": 1, "functions": ["lookup_details"]}]
    if parallel:
        functions.append(_spec("estimate_cost", {"party": "string"}, {"amount": "number"}))
        plan += [{"step": 2, "functions": ["estimate_cost"]}, {"step": 3, "functions": []}]
    else:
        key = "record_key" if broken_chain else "record_id"
        functions.append(_spec("suggest_next_action", {key: "string"}, {"advice": "string"}))
        plan.append({"step": 2, "functions": ["suggest_next_action"]})
    if broken_schema:
        functions[0]["parameters"]["type"] = "objekt"
    return {"functions": functions, "steps": plan}


_MALFORMED = {
    "extract": "The scenario is probably something about daily life.",
    "expand": '{"scenarios": [{"scenario": "visiting a museum", "domain": "culture"',
    "atomic": '{"task": "Call the get_weather_forecast API for Oslo tomorrow."}',
    "compose": '{"subsequent_task": "Then check it"}',
    "judge": "Looks fine to me.",
}
