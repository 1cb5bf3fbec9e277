"""Builders of the knowledge base tables: places and people first, then works that point at them.

Order matters for consistency: a book's author must already be a person with a birth year, so builders
run in dependency order and draw from one seeded generator.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from composition.world import words as w
from composition.world.kb_build_more import build_commerce, build_life
from composition.world.names import unique_names

if TYPE_CHECKING:
    from composition.world.kb import KnowledgeBase

__all__ = ["build_all"]

_ROLE_SIZES = {
    "writer": 120,
    "film director": 70,
    "actor": 80,
    "athlete": 480,
    "physician": 150,
    "politician": 120,
    "executive": 120,
    "coach": 60,
    "professor": 100,
    "chef": 100,
    "architect": 40,
    "musician": 0,
}
_BIRTH_RANGES = {"athlete": (1986, 2004), "writer": (1930, 1990), "film director": (1940, 1988)}


def build_all(kb: KnowledgeBase, rng: random.Random) -> None:
    """Fill every table of the knowledge base in dependency order."""
    _countries_and_cities(kb, rng)
    _people(kb, rng)
    _books(kb, rng)
    _movies(kb, rng)
    _music(kb, rng)
    build_commerce(kb, rng)
    build_life(kb, rng)


def _countries_and_cities(kb: KnowledgeBase, rng: random.Random) -> None:
    suffixes = ("ia", "a", "land", "ara")
    cities = unique_names(rng, 120, lambda r: r.choice(w.CITY_STARTS) + r.choice(w.CITY_ENDS))
    codes: dict[str, None] = {}
    for i, root in enumerate(w.COUNTRY_ROOTS):
        country = root + suffixes[i % len(suffixes)]
        own = cities[i * 5 : i * 5 + 5]
        kb.add(
            "country",
            country,
            {
                "capital": own[0],
                "currency": w.CURRENCIES[i % len(w.CURRENCIES)],
                "population": rng.randint(800, 90000) * 1000,
                "language": w.LANGUAGES[i % len(w.LANGUAGES)],
                "calling_code": 200 + i * 7,
            },
        )
        base_lat, base_lon = rng.uniform(-45, 60), rng.uniform(-160, 160)
        for city in own:
            code = _airport_code(city, codes, rng)
            lon = round(base_lon + rng.uniform(-6, 6), 3)
            kb.add(
                "city",
                city,
                {
                    "country": country,
                    "population": rng.randint(20, 4000) * 1000,
                    "elevation_m": rng.randint(0, 2400),
                    "founded_year": rng.randint(900, 1850),
                    "latitude": round(base_lat + rng.uniform(-5, 5), 3),
                    "longitude": lon,
                    "utc_offset_hours": max(-11, min(12, round(lon / 15))),
                    "mayor": "",
                    "airport_code": code,
                    "airport_name": f"{city} International Airport",
                },
            )
            kb.add("airport", code, {"city": city, "airport_name": f"{city} International Airport"})


def _airport_code(city: str, taken: dict[str, None], rng: random.Random) -> str:
    letters = city.upper()
    for second in letters[1:]:
        for third in letters[2:]:
            code = letters[0] + second + third
            if code not in taken:
                taken[code] = None
                return code
    while True:
        code = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(3))
        if code not in taken:
            taken[code] = None
            return code


def _people(kb: KnowledgeBase, rng: random.Random) -> None:
    total = sum(_ROLE_SIZES.values()) + 200
    names = unique_names(rng, total, lambda r: f"{r.choice(w.FIRST_NAMES)} {r.choice(w.LAST_NAMES)}")
    cities = kb.names("city")
    roles: list[str] = []
    for role, size in _ROLE_SIZES.items():
        roles += [role] * size
    roles += [w.OCCUPATIONS[i % len(w.OCCUPATIONS)] for i in range(total - len(roles))]
    for name, role in zip(names, roles, strict=True):
        low, high = _BIRTH_RANGES.get(role, (1945, 1995))
        home = rng.choice(cities)
        kb.add(
            "person",
            name,
            {
                "birth_year": rng.randint(low, high),
                "hometown": home,
                "nationality": kb.row("city", home)["country"],
                "occupation": role,
            },
        )
    mayors = kb.where("person", "occupation", "politician")
    for city, mayor in zip(cities, mayors, strict=True):
        kb.row("city", city)["mayor"] = mayor


def _books(kb: KnowledgeBase, rng: random.Random) -> None:
    publishers = unique_names(
        rng, 20, lambda r: f"{r.choice(w.NOUNS)} {r.choice(('Press', 'House', 'Books'))}"
    )
    for pub in publishers:
        kb.add(
            "publisher",
            pub,
            {
                "headquarters_city": rng.choice(kb.names("city")),
                "founded_year": rng.randint(1820, 2005),
            },
        )

    def title(r: random.Random) -> str:
        if r.random() < 0.6:
            return f"The {r.choice(w.ADJECTIVES)} {r.choice(w.NOUNS)}"
        return f"{r.choice(w.NOUNS)} of the {r.choice(w.ADJECTIVES)} {r.choice(w.NOUNS)}"

    authors = kb.where("person", "occupation", "writer")
    for name in unique_names(rng, 360, title):
        author = rng.choice(authors)
        born = kb.row("person", author)["birth_year"]
        kb.add(
            "book",
            name,
            {
                "author": author,
                "publication_year": rng.randint(born + 22, min(born + 70, 2024)),
                "pages": rng.randint(120, 900),
                "genre": rng.choice(w.GENRES_BOOK),
                "publisher": rng.choice(publishers),
                "rating": round(rng.uniform(2.5, 5.0), 1),
            },
        )


def _movies(kb: KnowledgeBase, rng: random.Random) -> None:
    def title(r: random.Random) -> str:
        pattern = r.randrange(3)
        if pattern == 0:
            return f"{r.choice(w.NOUNS)} Rising"
        if pattern == 1:
            return f"Beyond the {r.choice(w.NOUNS)}"
        return f"{r.choice(w.ADJECTIVES)} {r.choice(w.ANIMALS)}"

    directors = kb.where("person", "occupation", "film director")
    actors = kb.where("person", "occupation", "actor")
    for name in unique_names(rng, 240, title):
        director = rng.choice(directors)
        born = kb.row("person", director)["birth_year"]
        kb.add(
            "movie",
            name,
            {
                "director": director,
                "release_year": rng.randint(born + 25, min(born + 75, 2024)),
                "runtime_minutes": rng.randint(78, 175),
                "genre": rng.choice(w.GENRES_MOVIE),
                "rating": round(rng.uniform(3.0, 9.5), 1),
                "lead_actor": rng.choice(actors),
                "box_office_million_usd": round(rng.uniform(0.5, 900.0), 1),
            },
        )
    for name in unique_names(
        rng,
        80,
        lambda r: (
            f"{r.choice(w.COLORS)} {r.choice(('Screen', 'Reel', 'Palace'))} {r.choice(kb.names('city'))}"
        ),
    ):
        city = name.rsplit(" ", 1)[1]
        kb.add(
            "cinema",
            name,
            {
                "city": city,
                "screens": rng.randint(2, 14),
                "address": f"{rng.randint(1, 300)} {rng.choice(w.NOUNS)} Street, {city}",
            },
        )


def _music(kb: KnowledgeBase, rng: random.Random) -> None:
    labels = unique_names(rng, 15, lambda r: f"{r.choice(w.NOUNS)} Records")
    for label in labels:
        kb.add(
            "record_label",
            label,
            {
                "headquarters_city": rng.choice(kb.names("city")),
                "founded_year": rng.randint(1940, 2015),
            },
        )
    artists = unique_names(rng, 140, lambda r: f"The {r.choice(w.ADJECTIVES)} {r.choice(w.MASCOTS)}")
    for artist in artists:
        kb.add(
            "artist",
            artist,
            {
                "genre": rng.choice(w.GENRES_MUSIC),
                "formed_year": rng.randint(1965, 2018),
                "home_city": rng.choice(kb.names("city")),
                "members": rng.randint(1, 6),
            },
        )
    albums = unique_names(
        rng,
        320,
        lambda r: (
            f"{r.choice(w.NOUNS)} {r.choice(('Sessions', 'Songs', 'Nights'))}"
            if r.random() < 0.3
            else f"{r.choice(w.COLORS)} {r.choice(w.NOUNS)}"
        ),
    )
    songs = iter(
        unique_names(
            rng,
            2400,
            lambda r: (
                f"{r.choice(w.ADJECTIVES)} {r.choice(w.NOUNS)} "
                f"{r.choice(('Song', 'Waltz', 'Blues', 'Anthem', 'Lullaby'))}"
            ),
        )
    )
    for album in albums:
        artist = rng.choice(artists)
        year = rng.randint(kb.row("artist", artist)["formed_year"], 2024)
        count = rng.randint(4, 7)
        kb.add(
            "album",
            album,
            {
                "artist": artist,
                "release_year": year,
                "track_count": count,
                "label": rng.choice(labels),
            },
        )
        for _ in range(count):
            kb.add(
                "song",
                next(songs),
                {
                    "artist": artist,
                    "album": album,
                    "duration_seconds": rng.randint(120, 420),
                    "release_year": year,
                    "bpm": rng.randint(60, 180),
                },
            )
