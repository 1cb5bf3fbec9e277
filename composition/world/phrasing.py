"""How the offline world talks: literal values in questions, question wrappers and step hints.

Questions are built from noun phrases ("the author of "The Glass Orchard"") wrapped by question templates
chosen by the answer's semantic type; nesting noun phrases is what turns a chain of calls into one
natural request. All wording here is our own.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING, Any

from composition.logic import render_value

if TYPE_CHECKING:
    from composition.world.kb import KnowledgeBase
    from composition.world.types import Param

__all__ = [
    "ENTITY_OF_STYPE",
    "LIST_WRAPPERS",
    "capitalize",
    "noun_of",
    "render_literal",
    "sample_literal",
    "with_article",
    "wrappers_for",
]

# Semantic types whose values are names of KB entities, and the table holding them.
ENTITY_OF_STYPE: dict[str, str] = {
    "book_title": "book",
    "person_name": "person",
    "doctor_name": "doctor",
    "player_name": "player",
    "city": "city",
    "country": "country",
    "airport_code": "airport",
    "movie_title": "movie",
    "cinema_name": "cinema",
    "artist_name": "artist",
    "album_title": "album",
    "song_title": "song",
    "record_label": "record_label",
    "publisher_name": "publisher",
    "team_name": "team",
    "stadium_name": "stadium",
    "restaurant_name": "restaurant",
    "recipe_name": "recipe",
    "ingredient": "ingredient",
    "store_name": "store",
    "product_name": "product",
    "brand_name": "brand",
    "company_name": "company",
    "ticker": "stock",
    "currency_code": "currency",
    "hotel_name": "hotel",
    "airline_name": "airline",
    "clinic_name": "clinic",
    "medication_name": "medication",
    "event_name": "event",
    "university_name": "university",
    "course_name": "course",
    "landmark_name": "landmark",
}

_QUOTED = {"book_title", "movie_title", "album_title", "song_title", "recipe_name", "event_name"}
_UNITS = {
    "price_usd": "{} US dollars",
    "kilograms": "{} kg",
    "body_weight_kg": "{} kg",
    "centimeters": "{} cm",
}
_NOUNS = {
    "person_name": "person",
    "doctor_name": "doctor",
    "player_name": "player",
    "book_title": "book",
    "movie_title": "movie",
    "album_title": "album",
    "song_title": "song",
    "city": "city",
    "country": "country",
    "year": "year",
    "date": "date",
    "price_usd": "amount in dollars",
    "currency_code": "currency",
    "list": "list",
}
_PEOPLE = {"person_name", "doctor_name", "player_name"}


def noun_of(stype: str) -> str:
    """A short noun for a value of this semantic type, used in step hints ("the city from step 1")."""
    if stype.startswith("list:"):
        return "list"
    if stype in _NOUNS:
        return _NOUNS[stype]
    for suffix in ("_name", "_title"):
        if stype.endswith(suffix):
            return stype[: -len(suffix)].replace("_", " ")
    if any(ch.isdigit() for ch in stype) or "usd" in stype:
        return "value"
    return stype.replace("_", " ")


# The units a value of a semantic type is written with when the assistant states it (render_literal
# keeps the few that questions use, so task wording does not change).
_VALUE_UNITS = {
    **{stype: "{} US dollars" for stype in ("price_usd",)},
    "money_million_usd": "{} million US dollars",
    "money_billion_usd": "{} billion US dollars",
    "minutes": "{} minutes",
    "seconds": "{} seconds",
    "hours": "{} hours",
    "days": "{} days",
    "years": "{} years",
    "kilometers": "{} km",
    "meters": "{} m",
    "millimeters": "{} mm",
    "milligrams": "{} mg",
    "grams": "{} g",
    "kilograms": "{} kg",
    "body_weight_kg": "{} kg",
    "centimeters": "{} cm",
    "calories": "{} calories",
    "temperature_c": "{} °C",
    "percent": "{}%",
    "rating_5": "{} out of 5",
    "rating_10": "{} out of 10",
    "population": "{} people",
    "page_count": "{} pages",
    "seats": "{} seats",
}


def value_format(stype: str) -> str:
    """How a value of this semantic type is written in an answer: '{} minutes', '"{}"' for a title."""
    if stype in _QUOTED:
        return '"{}"'
    return _VALUE_UNITS.get(stype, "{}")


def render_literal(value: Any, stype: str) -> str:
    """A literal argument as it appears in a question: titles quoted, amounts with their unit."""
    if stype in _QUOTED:
        return f'"{value}"'
    if stype in _UNITS:
        return _UNITS[stype].format(render_value(value))
    return render_value(value)


# Words that start with a vowel letter but a consonant sound ("a university", "a European city").
_CONSONANT_SOUND = ("uni", "use", "usu", "eu", "one", "once")


def with_article(noun: str) -> str:
    """The noun with "a" or "an" as it is said: "an album", "a university", "a city"."""
    lowered = noun.lower()
    vowel_sound = lowered[:1] in ("a", "e", "i", "o", "u") and not lowered.startswith(_CONSONANT_SOUND)
    return f"{'an' if vowel_sound else 'a'} {noun}"


def capitalize(text: str) -> str:
    """Upper-case the first letter only (names inside keep their case)."""
    return text[:1].upper() + text[1:]


_NUMBER_SAMPLERS = {
    "date": lambda r: (dt.date(2025, 1, 1) + dt.timedelta(days=r.randrange(365))).isoformat(),
    "day_count": lambda r: r.randint(2, 7),
    "day_offset": lambda r: r.choice((7, 10, 14, 21, 30, 45, 60, 90, 100)),
    "price_usd": lambda r: r.choice((20, 50, 75, 120, 250, 400, 800, 1500)),
    "kilograms": lambda r: r.choice((0.5, 1.2, 2, 3.5, 5, 8, 12)),
    "body_weight_kg": lambda r: r.randint(48, 115),
    "centimeters": lambda r: r.randint(150, 200),
}


def sample_literal(kb: KnowledgeBase, param: Param, rng: random.Random) -> Any:
    """A valid literal value for an input property, drawn from the KB or from a sensible range."""
    if param.enum is not None:
        return rng.choice(param.enum)
    entity = ENTITY_OF_STYPE.get(param.stype)
    if entity is not None:
        return rng.choice(kb.names(entity))
    sampler = _NUMBER_SAMPLERS.get(param.stype)
    if sampler is None:
        raise KeyError(f"no literal sampler for semantic type {param.stype!r} ({param.key})")
    return sampler(rng)


_GENERIC = (
    "What is {np}?",
    "Could you find out {np}?",
    "I'd like to know {np}.",
    "Please tell me {np}.",
    "Can you look up {np} for me?",
    "Do you know {np}?",
)
_WHO = (
    "Who is {np}?",
    "Can you tell me who {np} is?",
    "I need the name of {np}.",
    "Find out who {np} is, please.",
)
_WHEN = ("When is {np}?", "Tell me {np}, please.", "Which day is {np}?")
LIST_WRAPPERS = ("What are {np}?", "Could you list {np}?", "Show me {np}, please.", "I'd like to see {np}.")


def wrappers_for(stype: str) -> tuple[str, ...]:
    """Question templates suited to an answer of this semantic type."""
    if stype.startswith("list:"):
        return LIST_WRAPPERS
    if stype in _PEOPLE:
        return _WHO + _GENERIC[1:4]
    if stype == "date":
        return _WHEN + _GENERIC[1:4]
    return _GENERIC
