"""Scenario extraction (one per seed conversation) and expansion into substantially different ones."""

from __future__ import annotations

import re
from typing import Any

from composition.prompts import PromptTemplate
from composition.stages.replies import ReplyError, parse_json_object, require_text
from composition.stages.types import ExpandRequest, ScenarioList
from datamodel.seeds import SeedConversation
from datamodel.tasks import Scenario

__all__ = [
    "parse_expansion",
    "parse_scenario",
    "render_expansion",
    "render_extraction",
    "scenario_from",
]

_DIGIT = re.compile(r"\d")


def normalized(text: str) -> str:
    """Lower case, single spaces, no trailing period: what 'the same text' means for scenarios."""
    return " ".join(text.lower().split()).rstrip(".")


def render_extraction(template: PromptTemplate, seed: SeedConversation) -> str:
    return template.render(conversation=seed.transcript())


def scenario_from(data: Any, source: str, where: str = "") -> Scenario:
    """A Scenario from {"scenario", "domain"}: at most 10 words, no digits (no specifics)."""
    if not isinstance(data, dict):
        raise ReplyError(f'{where}expected an object with "scenario" and "domain"')
    text = require_text(data, "scenario", 10).rstrip(".")
    if _DIGIT.search(text):
        raise ReplyError(f"{where}the scenario {text!r} contains a number; keep it general, no specifics")
    domain = require_text(data, "domain", 3).lower()
    return Scenario(text=text, domain=domain, source=source)


def parse_scenario(text: str, seed: SeedConversation) -> Scenario:
    """The extracted scenario of one seed conversation."""
    return scenario_from(parse_json_object(text), source="seed")


def render_expansion(template: PromptTemplate, request: ExpandRequest) -> str:
    scenario = request.scenario
    return template.render(scenario=scenario.text, domain=scenario.domain, count=str(request.count))


def parse_expansion(text: str, request: ExpandRequest) -> ScenarioList:
    """1..count new scenarios (extra ones are dropped); a copy of the original is an error."""
    items = parse_json_object(text).get("scenarios")
    if not isinstance(items, list) or not items:
        raise ReplyError('"scenarios" must be a non-empty list of {"scenario", "domain"} objects')
    scenarios = [
        scenario_from(item, source="expansion", where=f"scenarios[{i}]: ")
        for i, item in enumerate(items[: request.count])
    ]
    original = normalized(request.scenario.text)
    for i, scenario in enumerate(scenarios):
        if normalized(scenario.text) == original:
            raise ReplyError(f"scenarios[{i}] repeats the original scenario; write a different one")
    return ScenarioList(scenarios=scenarios)
