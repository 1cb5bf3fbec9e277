"""Functions over people, cities and countries, and map distances between cities."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from composition.world.catalog_base import field, lister, lookup, param, simple
from composition.world.catalog_travel import travel_functions
from composition.world.types import ListInfo, WorldFunction

if TYPE_CHECKING:
    from composition.world.kb import KnowledgeBase

__all__ = ["places_functions"]

PERSON = param("person_name", "person_name", "string", "Full name of the person.")
CITY = param("city", "city", "string", "Name of the city.")
COUNTRY = param("country", "country", "string", "Name of the country.")
CITY_A = param("city_a", "city", "string", "Name of the first city.")
CITY_B = param("city_b", "city", "string", "Name of the second city.")

PERSON_FIELDS = {
    f.param.key: f
    for f in (
        field(
            "birth_year",
            "year",
            "integer",
            "Year of birth.",
            "the birth year of {x}",
            "the year {x} was born",
        ),
        field(
            "hometown",
            "city",
            "string",
            "City the person grew up in.",
            "the hometown of {x}",
            "the city {x} comes from",
        ),
        field("nationality", "country", "string", "Country of citizenship.", "the home country of {x}"),
        field("occupation", "occupation", "string", "Main profession.", "the profession of {x}"),
    )
}
CITY_FIELDS = {
    f.param.key: f
    for f in (
        field("country", "country", "string", "Country the city is in.", "the country {x} lies in"),
        field(
            "population",
            "population",
            "integer",
            "Number of residents.",
            "the population of {x}",
            "the number of people living in {x}",
        ),
        field(
            "elevation_m",
            "meters",
            "integer",
            "Height above sea level in meters.",
            "the elevation of {x} in meters",
        ),
        field("founded_year", "year", "integer", "Year the city was founded.", "the year {x} was founded"),
        field("mayor", "person_name", "string", "Current mayor.", "the mayor of {x}"),
    )
}
COUNTRY_FIELDS = {
    f.param.key: f
    for f in (
        field("capital", "city", "string", "Capital city.", "the capital of {x}", "the capital city of {x}"),
        field("currency", "currency_code", "string", "ISO code of the currency.", "the currency code of {x}"),
        field(
            "population", "population", "integer", "Number of residents.", "the population of the country {x}"
        ),
        field("language", "language", "string", "Official language.", "the official language of {x}"),
        field(
            "calling_code",
            "calling_code",
            "integer",
            "International dialing code.",
            "the international calling code of {x}",
        ),
    )
}


def _people() -> list[WorldFunction]:
    def one(name: str, key: str, desc: str, scenario: str) -> WorldFunction:
        return lookup(name, "people", desc, scenario, "person", PERSON, [PERSON_FIELDS[key]])

    return [
        lookup(
            "get_person_profile",
            "people",
            "Look up a person's birth year, hometown, nationality and profession.",
            "learning about a person",
            "person",
            PERSON,
            list(PERSON_FIELDS.values()),
        ),
        one("get_birth_year", "birth_year", "Find the year a person was born.", "checking someone's age"),
        one(
            "get_hometown", "hometown", "Find the city a person comes from.", "finding where someone is from"
        ),
        one(
            "get_nationality",
            "nationality",
            "Find a person's country of citizenship.",
            "checking someone's nationality",
        ),
    ]


def _cities_in(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    kb.row("country", args.get("country"))
    rows = [(c, kb.row("city", c)) for c in kb.where("city", "country", args["country"])]
    return {"cities": [{"city": c, "population": r["population"]} for c, r in rows]}


def _geography() -> list[WorldFunction]:
    cities = ListInfo(
        "city",
        "cities",
        "in {country}",
        "city",
        {"population": ("most populous {item}", "least populous {item}")},
    )
    return [
        lookup(
            "get_city_info",
            "geography",
            "Look up a city's country, population, elevation and founding year.",
            "learning about a city",
            "city",
            CITY,
            [CITY_FIELDS[k] for k in ("country", "population", "elevation_m", "founded_year")],
        ),
        lookup(
            "get_city_population",
            "geography",
            "Find how many people live in a city.",
            "comparing city sizes",
            "city",
            CITY,
            [CITY_FIELDS["population"]],
        ),
        lookup(
            "get_city_mayor",
            "geography",
            "Find the current mayor of a city.",
            "learning about local government",
            "city",
            CITY,
            [CITY_FIELDS["mayor"]],
        ),
        lookup(
            "get_country_info",
            "geography",
            "Look up a country's capital, currency, population, language and calling code.",
            "learning about a country",
            "country",
            COUNTRY,
            list(COUNTRY_FIELDS.values()),
        ),
        lookup(
            "get_country_capital",
            "geography",
            "Find the capital city of a country.",
            "studying world capitals",
            "country",
            COUNTRY,
            [COUNTRY_FIELDS["capital"]],
        ),
        lookup(
            "get_country_currency",
            "geography",
            "Find the currency a country uses.",
            "preparing money for a trip",
            "country",
            COUNTRY,
            [COUNTRY_FIELDS["currency"]],
        ),
        simple(
            "list_cities_in_country",
            "geography",
            "List the cities of a country with their populations.",
            "planning a tour of a country",
            [COUNTRY],
            [
                lister(
                    "cities",
                    "Cities of the country.",
                    (
                        param("city", "city", "string", "City name."),
                        param("population", "population", "integer", "Number of residents."),
                    ),
                    cities,
                )
            ],
            _cities_in,
            {"cities": ["the cities in {country}"]},
        ),
        lookup(
            "get_city_coordinates",
            "geography",
            "Get a city's latitude and longitude in degrees.",
            "finding a place on the map",
            "city",
            CITY,
            [
                field("latitude", "latitude", "number", "Latitude in degrees.", "the latitude of {x}"),
                field("longitude", "longitude", "number", "Longitude in degrees.", "the longitude of {x}"),
            ],
        ),
    ]


def _distance(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    return {"distance_km": kb.distance_km(args.get("city_a"), args.get("city_b"))}  # type: ignore[arg-type]


def _driving(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    km = kb.distance_km(args.get("city_a"), args.get("city_b"))  # type: ignore[arg-type]
    road_km = round(km * 1.25)
    return {"duration_minutes": round(road_km / 80 * 60), "distance_km": road_km}


def _time_zone(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    return {"utc_offset_hours": kb.row("city", args.get("city"))["utc_offset_hours"]}


def _time_difference(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    a = kb.row("city", args.get("city_a"))["utc_offset_hours"]
    b = kb.row("city", args.get("city_b"))["utc_offset_hours"]
    return {"hours": abs(a - b)}


def _landmarks_in(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    kb.row("city", args.get("city"))
    rows = [(n, kb.row("landmark", n)) for n in kb.where("landmark", "city", args["city"])]
    return {
        "landmarks": [
            {"landmark": n, "year_built": r["year_built"], "height_m": r["height_m"]} for n, r in rows
        ]
    }


def _maps() -> list[WorldFunction]:
    km = param("distance_km", "kilometers", "integer", "Distance in kilometers.")
    landmarks = ListInfo(
        "landmark",
        "landmarks",
        "in {city}",
        "landmark",
        {"year_built": ("newest {item}", "oldest {item}"), "height_m": ("tallest {item}", "lowest {item}")},
    )
    landmark = param("landmark", "landmark_name", "string", "Name of the landmark.")
    return [
        simple(
            "get_distance",
            "maps",
            "Get the straight-line distance in kilometers between two cities.",
            "estimating travel distance",
            [CITY_A, CITY_B],
            [km],
            _distance,
            {
                "distance_km": [
                    "the distance in kilometers between {city_a} and {city_b}",
                    "how many kilometers separate {city_a} from {city_b}",
                ]
            },
        ),
        simple(
            "get_driving_time",
            "maps",
            "Estimate the driving time and road distance between two cities.",
            "planning a road trip",
            [CITY_A, CITY_B],
            [param("duration_minutes", "minutes", "integer", "Driving time in minutes."), km],
            _driving,
            {
                "duration_minutes": ["the driving time in minutes from {city_a} to {city_b}"],
                "distance_km": ["the road distance in kilometers from {city_a} to {city_b}"],
            },
        ),
        simple(
            "get_time_zone",
            "maps",
            "Get a city's offset from UTC in hours.",
            "scheduling across time zones",
            [CITY],
            [param("utc_offset_hours", "utc_offset", "integer", "Offset from UTC in hours.")],
            _time_zone,
            {"utc_offset_hours": ["the UTC offset of {city} in hours"]},
        ),
        simple(
            "get_time_difference",
            "maps",
            "Get the number of hours between the local times of two cities.",
            "calling someone abroad",
            [CITY_A, CITY_B],
            [param("hours", "hours", "integer", "Absolute time difference in hours.")],
            _time_difference,
            {"hours": ["the time difference in hours between {city_a} and {city_b}"]},
        ),
        simple(
            "list_landmarks",
            "maps",
            "List the landmarks of a city with build years and heights.",
            "sightseeing in a city",
            [CITY],
            [
                lister(
                    "landmarks",
                    "Landmarks in the city.",
                    (
                        param("landmark", "landmark_name", "string", "Landmark name."),
                        param("year_built", "year", "integer", "Year completed."),
                        param("height_m", "meters", "integer", "Height in meters."),
                    ),
                    landmarks,
                )
            ],
            _landmarks_in,
            {"landmarks": ["the landmarks in {city}"]},
        ),
        lookup(
            "get_landmark_info",
            "maps",
            "Look up a landmark's city, build year, height and architect.",
            "visiting a famous landmark",
            "landmark",
            landmark,
            [
                field("city", "city", "string", "City of the landmark.", "the city where {x} stands"),
                field("year_built", "year", "integer", "Year completed.", "the year {x} was completed"),
                field("height_m", "meters", "integer", "Height in meters.", "the height of {x} in meters"),
                field("architect", "person_name", "string", "Designer.", "the architect of {x}"),
            ],
        ),
    ]


def places_functions() -> list[WorldFunction]:
    """All functions of the people, geography, maps, travel and weather domains."""
    return [*_people(), *_geography(), *_maps(), *travel_functions()]
