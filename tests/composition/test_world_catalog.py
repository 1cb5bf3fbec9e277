"""The function catalog: size, schema validity, typing and phrasing of every function."""

from __future__ import annotations

from collections import Counter

from composition.world.behaviours import vague_phrases
from composition.world.catalog import all_functions
from composition.world.offline import OfflineWorld
from composition.world.phrasing import ENTITY_OF_STYPE, sample_literal, with_article
from datamodel.tasks import FunctionSpec


def test_at_least_80_functions_over_15_domains(world: OfflineWorld) -> None:
    assert len(world.functions) >= 80
    assert len(world.domains) >= 15
    per_domain = Counter(spec.domain for spec in world.functions.values())
    assert set(per_domain) == set(world.domains)
    assert min(per_domain.values()) >= 3


def test_every_spec_validates_in_full(world: OfflineWorld) -> None:
    for name, spec in world.functions.items():
        again = FunctionSpec.model_validate(spec.model_dump())
        assert again.name == name
        assert again.parameters["type"] == "object" and again.responses["type"] == "object"
        assert set(again.responses["required"]) == set(again.responses["properties"])
        assert 0 < len(again.description.split(".")) <= 4


def test_every_property_has_type_and_description(world: OfflineWorld) -> None:
    for spec in world.functions.values():
        for schema in (spec.parameters, spec.responses):
            for key, prop in schema["properties"].items():
                assert prop.get("type") and prop.get("description"), (spec.name, key)


def test_every_function_is_phrased_and_every_input_can_be_drawn(world: OfflineWorld) -> None:
    import random

    rng = random.Random(0)
    for fn in all_functions():
        assert fn.phrases, fn.name
        assert len(fn.scenario.split()) <= 10
        for templates in fn.phrases.values():
            for template in templates:
                for param in fn.inputs:
                    assert "{" + param.key + "}" in template, (fn.name, template)
        for param in fn.inputs:
            sample_literal(world.kb, param, rng)


def test_some_functions_take_two_linked_inputs_and_some_return_lists() -> None:
    functions = all_functions()
    two_entities = [f for f in functions if sum(p.stype in ENTITY_OF_STYPE for p in f.inputs) >= 2]
    lists = [f for f in functions if any(p.is_list for p in f.outputs)]
    assert len(two_entities) >= 5
    assert len(lists) >= 15


def test_catalog_is_the_same_for_every_world_seed() -> None:
    assert list(OfflineWorld(1).functions) == list(OfflineWorld(2).functions)


def test_nouns_take_the_article_they_are_said_with() -> None:
    said = [with_article(n) for n in ("album", "event", "ingredient", "university", "city", "euro amount")]
    assert said == ["an album", "an event", "an ingredient", "a university", "a city", "a euro amount"]
    assert "an artist I want to check" in vague_phrases("artist")
    assert "a university a friend told me about" in vague_phrases("university")
