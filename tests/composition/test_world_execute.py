"""Executing world functions: results fit their schemas, are deterministic, and failures are clear."""

from __future__ import annotations

import random

import pytest

from composition.world.offline import OfflineWorld
from composition.world.phrasing import sample_literal
from composition.world.types import ToolExecutionError


def _calls(world: OfflineWorld, per_function: int) -> list[tuple[str, dict[str, object]]]:
    rng = random.Random(5)
    calls = []
    for name, fn in world.world_functions.items():
        for _ in range(per_function):
            calls.append((name, {p.key: sample_literal(world.kb, p, rng) for p in fn.inputs}))
    return calls


def test_results_validate_against_responses(world: OfflineWorld) -> None:
    for name, args in _calls(world, 15):
        spec = world.functions[name]
        assert not list(spec.argument_validator.iter_errors(args)), (name, args)
        result = world.execute(name, args)
        errors = [e.message for e in spec.response_validator.iter_errors(result)]
        assert not errors, (name, args, errors)


def test_execution_is_deterministic_across_worlds(world: OfflineWorld) -> None:
    other = OfflineWorld(world_seed=0)
    for name, args in _calls(world, 3):
        assert world.execute(name, args) == other.execute(name, args)


def test_world_seed_changes_the_knowledge_base() -> None:
    a, b = OfflineWorld(0), OfflineWorld(1)
    assert a.kb.names("book")[:20] != b.kb.names("book")[:20]


def test_unknown_entity_is_a_clear_error(world: OfflineWorld) -> None:
    with pytest.raises(ToolExecutionError, match="No book titled 'The Unwritten Page' is known"):
        world.execute("get_book_author", {"title": "The Unwritten Page"})
    with pytest.raises(ToolExecutionError, match="city"):
        world.execute("get_distance", {"city_a": world.kb.names("city")[0], "city_b": "Atlantis"})


def test_near_miss_suggests_the_known_name(world: OfflineWorld) -> None:
    title = world.kb.names("book")[0]
    with pytest.raises(ToolExecutionError, match="Did you mean"):
        world.execute("get_book_author", {"title": title.lower()})


def test_unknown_function_and_bad_arguments(world: OfflineWorld) -> None:
    with pytest.raises(ToolExecutionError, match="Unknown function 'get_dragon'"):
        world.execute("get_dragon", {})
    with pytest.raises(ToolExecutionError, match="required"):
        world.execute("get_book_author", {})
    with pytest.raises(ToolExecutionError, match="date"):
        world.execute("get_weather", {"city": world.kb.names("city")[0], "date": "next Tuesday"})
    with pytest.raises(ToolExecutionError, match="JSON object"):
        world.execute("get_book_author", ["not", "a", "dict"])  # type: ignore[arg-type]


def test_cross_links_are_consistent(world: OfflineWorld) -> None:
    for title in world.kb.names("book")[:50]:
        book = world.execute("get_book_details", {"title": title})
        born = world.execute("get_birth_year", {"person_name": book["author"]})["birth_year"]
        assert book["publication_year"] > born
        listed = world.execute("list_books_by_author", {"person_name": book["author"]})["books"]
        assert title in [b["title"] for b in listed]
    for city in world.kb.names("city")[:20]:
        country = world.execute("get_city_info", {"city": city})["country"]
        cities = world.execute("list_cities_in_country", {"country": country})["cities"]
        assert city in [c["city"] for c in cities]


def test_two_city_functions_are_symmetric(world: OfflineWorld) -> None:
    a, b = world.kb.names("city")[:2]
    forward = world.execute("get_distance", {"city_a": a, "city_b": b})
    assert forward == world.execute("get_distance", {"city_a": b, "city_b": a})
    assert forward["distance_km"] > 0
