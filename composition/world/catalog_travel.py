"""Functions for travel (airports, flights, hotels, visas) and weather.

Flights and weather are derived from the pair or date they describe, through the KB's seeded generator,
so they exist for every pair of cities and every date and still have exactly one right value.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

from composition.world.catalog_base import as_date, field, lister, lookup, param, require_number, simple
from composition.world.types import ListInfo, WorldFunction
from composition.world.words import CONDITIONS

if TYPE_CHECKING:
    from composition.world.kb import KnowledgeBase

__all__ = ["travel_functions", "weather_of"]

CITY = param("city", "city", "string", "Name of the city.")
DATE = param("date", "date", "string", "Day in YYYY-MM-DD form.", fmt="date")


def _flights(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    origin, destination = args.get("origin_city"), args.get("destination_city")
    km = kb.distance_km(origin, destination)  # type: ignore[arg-type]
    if origin == destination:
        return {"flights": []}
    rng = kb.rng("flights", origin, destination)
    airlines = kb.names("airline")
    flights = []
    for _ in range(rng.randint(2, 5)):
        airline = rng.choice(airlines)
        flights.append(
            {
                "flight_number": f"{airline[:2].upper()}{rng.randint(100, 9899)}",
                "airline": airline,
                "duration_minutes": round(km / 780 * 60) + 35 + rng.randint(0, 150),
                "price_usd": round(60 + km * rng.uniform(0.05, 0.16), 2),
            }
        )
    return {"flights": flights}


def _hotels_in(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    kb.row("city", args.get("city"))
    rows = [(h, kb.row("hotel", h)) for h in kb.where("hotel", "city", args["city"])]
    return {
        "hotels": [
            {
                "hotel": h,
                "price_per_night_usd": r["price_per_night_usd"],
                "rating": r["rating"],
                "stars": r["stars"],
            }
            for h, r in rows
        ]
    }


def _visa(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    home, dest = args.get("citizenship"), args.get("destination")
    kb.row("country", home)
    kb.row("country", dest)
    if home == dest:
        return {"visa_required": False, "max_stay_days": 0}
    rng = kb.rng("visa", home, dest)
    required = rng.random() < 0.4
    return {"visa_required": required, "max_stay_days": 0 if required else rng.choice((14, 30, 60, 90, 180))}


def _travel() -> list[WorldFunction]:
    origin = param("origin_city", "city", "string", "City of departure.")
    destination = param("destination_city", "city", "string", "City of arrival.")
    flight_item = (
        param("flight_number", "flight_number", "string", "Flight number."),
        param("airline", "airline_name", "string", "Operating airline."),
        param("duration_minutes", "minutes", "integer", "Flight time in minutes."),
        param("price_usd", "price_usd", "number", "Economy fare in US dollars."),
    )
    flights = ListInfo(
        "flight",
        "flights",
        "from {origin_city} to {destination_city}",
        "flight_number",
        {
            "duration_minutes": ("longest {item}", "shortest {item}"),
            "price_usd": ("priciest {item}", "cheapest {item}"),
        },
    )
    hotel_item = (
        param("hotel", "hotel_name", "string", "Hotel name."),
        param("price_per_night_usd", "price_usd", "integer", "Nightly rate in US dollars."),
        param("rating", "rating_10", "number", "Guest rating out of 10."),
        param("stars", "stars", "integer", "Star class."),
    )
    hotels = ListInfo(
        "hotel",
        "hotels",
        "in {city}",
        "hotel",
        {
            "price_per_night_usd": ("most expensive {item}", "cheapest {item}"),
            "rating": ("best-rated {item}", "worst-rated {item}"),
        },
    )
    code = param("airport_code", "airport_code", "string", "Three-letter airport code.")
    hotel = param("hotel", "hotel_name", "string", "Name of the hotel.")
    citizen = param("citizenship", "country", "string", "Country of the traveller's passport.")
    dest = param("destination", "country", "string", "Country to visit.")
    return [
        lookup(
            "get_airport",
            "travel",
            "Find the main airport of a city and its three-letter code.",
            "booking flights",
            "city",
            CITY,
            [
                field(
                    "airport_code", "airport_code", "string", "Three-letter code.", "the airport code of {x}"
                ),
                field(
                    "airport_name",
                    "airport_name",
                    "string",
                    "Airport name.",
                    "the name of the airport of {x}",
                ),
            ],
        ),
        lookup(
            "get_airport_city",
            "travel",
            "Find which city an airport code belongs to.",
            "reading a boarding pass",
            "airport",
            code,
            [field("city", "city", "string", "City served.", "the city served by airport {x}")],
        ),
        simple(
            "search_flights",
            "travel",
            "List the direct flights between two cities with durations and fares.",
            "booking flights",
            [origin, destination],
            [lister("flights", "Direct flights.", flight_item, flights)],
            _flights,
            {"flights": ["the direct flights from {origin_city} to {destination_city}"]},
        ),
        simple(
            "search_hotels",
            "travel",
            "List the hotels of a city with nightly rates and guest ratings.",
            "booking a hotel",
            [CITY],
            [lister("hotels", "Hotels in the city.", hotel_item, hotels)],
            _hotels_in,
            {"hotels": ["the hotels in {city}"]},
        ),
        lookup(
            "get_hotel_details",
            "travel",
            "Look up a hotel's city, star class, nightly rate, rating and address.",
            "booking a hotel",
            "hotel",
            hotel,
            [
                field("city", "city", "string", "City of the hotel.", "the city where {x} is"),
                field("stars", "stars", "integer", "Star class.", "the star class of {x}"),
                field(
                    "price_per_night_usd",
                    "price_usd",
                    "integer",
                    "Nightly rate in US dollars.",
                    "the nightly rate of {x} in dollars",
                ),
                field("rating", "rating_10", "number", "Guest rating out of 10.", "the guest rating of {x}"),
                field("address", "address", "string", "Street address.", "the address of {x}"),
            ],
        ),
        lookup(
            "get_airline_info",
            "travel",
            "Look up an airline's home city, founding year and fleet size.",
            "choosing an airline",
            "airline",
            param("airline", "airline_name", "string", "Name of the airline."),
            [
                field("headquarters_city", "city", "string", "Home base.", "the home base of {x}"),
                field("founded_year", "year", "integer", "Year founded.", "the founding year of {x}"),
                field("fleet_size", "count", "integer", "Aircraft in service.", "the fleet size of {x}"),
            ],
        ),
        simple(
            "check_visa_requirement",
            "travel",
            "Check whether citizens of one country need a visa for another "
            "and how long they may stay without one.",
            "preparing travel documents",
            [citizen, dest],
            [
                param("visa_required", "boolean", "boolean", "Whether a visa is needed."),
                param(
                    "max_stay_days",
                    "days",
                    "integer",
                    "Visa-free stay allowed in days, 0 if a visa is needed.",
                ),
            ],
            _visa,
            {
                "max_stay_days": [
                    "the visa-free stay in days for citizens of {citizenship} visiting {destination}"
                ]
            },
        ),
    ]


def weather_of(kb: KnowledgeBase, city: Any, day: dt.date) -> dict[str, Any]:
    """The weather of a city on a day: a climate from latitude and season, plus seeded noise."""
    row = kb.row("city", city)
    season = math.cos((day.timetuple().tm_yday - 196) / 365 * 2 * math.pi)
    season = season if row["latitude"] >= 0 else -season
    rng = kb.rng("weather", city, day.isoformat())
    high = round(28 - abs(row["latitude"]) * 0.35 + season * 9 + rng.uniform(-4, 4))
    rain = rng.choice((0, 0, 0, 1, 3, 8, 15, 30))
    return {
        "condition": rng.choice(CONDITIONS),
        "high_c": high,
        "low_c": high - rng.randint(4, 12),
        "precipitation_mm": rain,
        "uv_index": max(0, min(11, round(high / 3.5))),
        "aqi": rng.randint(12, 180),
        "sunrise": f"0{rng.randint(5, 7)}:{rng.randint(10, 59)}",
        "sunset": f"{rng.randint(17, 21)}:{rng.randint(10, 59)}",
    }


def _weather_impl(keys: tuple[str, ...]) -> Any:
    def impl(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
        full = weather_of(kb, args.get("city"), as_date(args, "date"))
        return {k: full[k] for k in keys}

    return impl


def _forecast(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    start, days = as_date(args, "start_date"), int(require_number(args, "days"))
    out = []
    for offset in range(max(1, min(days, 7))):
        day = start + dt.timedelta(days=offset)
        full = weather_of(kb, args.get("city"), day)
        out.append({"date": day.isoformat(), "high_c": full["high_c"], "condition": full["condition"]})
    return {"forecast": out}


def _weather() -> list[WorldFunction]:
    outs = {
        p.key: p
        for p in (
            param("condition", "weather_condition", "string", "Sky conditions."),
            param("high_c", "temperature_c", "integer", "Daytime high in Celsius."),
            param("low_c", "temperature_c", "integer", "Overnight low in Celsius."),
            param("precipitation_mm", "millimeters", "integer", "Rain or snow in millimeters."),
            param("uv_index", "uv_index", "integer", "UV index from 0 to 11."),
            param("aqi", "aqi", "integer", "Air quality index (lower is cleaner)."),
            param("sunrise", "time", "string", "Local sunrise, HH:MM."),
            param("sunset", "time", "string", "Local sunset, HH:MM."),
        )
    }
    say = {
        "condition": ["the weather conditions in {city} on {date}"],
        "high_c": [
            "the high temperature in Celsius in {city} on {date}",
            "the daytime high in {city} on {date}",
        ],
        "low_c": ["the overnight low in Celsius in {city} on {date}"],
        "precipitation_mm": ["the rainfall in millimeters in {city} on {date}"],
        "uv_index": ["the UV index in {city} on {date}"],
        "aqi": ["the air quality index of {city} on {date}"],
        "sunrise": ["the sunrise time in {city} on {date}"],
        "sunset": ["the sunset time in {city} on {date}"],
    }

    def weather_fn(name: str, desc: str, scenario: str, keys: tuple[str, ...]) -> WorldFunction:
        return simple(
            name,
            "weather",
            desc,
            scenario,
            [CITY, DATE],
            [outs[k] for k in keys],
            _weather_impl(keys),
            {k: say[k] for k in keys},
        )

    days = param("days", "day_count", "integer", "Number of days, 1 to 7.", minimum=1, maximum=7)
    start = param("start_date", "date", "string", "First day in YYYY-MM-DD form.", fmt="date")
    item = (param("date", "date", "string", "Day, YYYY-MM-DD."), outs["high_c"], outs["condition"])
    info = ListInfo(
        "day",
        "days",
        "in the {days}-day forecast for {city} from {start_date}",
        "date",
        {"high_c": ("warmest {item}", "coldest {item}")},
    )
    return [
        weather_fn(
            "get_weather",
            "Get the conditions, temperatures and precipitation in a city on a day.",
            "checking the weather",
            ("condition", "high_c", "low_c", "precipitation_mm"),
        ),
        weather_fn(
            "get_temperature",
            "Get the high and low temperature in a city on a day.",
            "deciding what to wear",
            ("high_c", "low_c"),
        ),
        weather_fn(
            "get_sun_times",
            "Get the sunrise and sunset times of a city on a day.",
            "planning an early hike",
            ("sunrise", "sunset"),
        ),
        weather_fn(
            "get_air_quality",
            "Get the air quality index of a city on a day.",
            "planning outdoor exercise",
            ("aqi",),
        ),
        weather_fn(
            "get_uv_index", "Get the UV index of a city on a day.", "protecting skin from sun", ("uv_index",)
        ),
        simple(
            "get_forecast",
            "weather",
            "Get a daily forecast for a city for up to seven days from a start day.",
            "planning a weekend trip",
            [CITY, start, days],
            [lister("forecast", "One entry per day.", item, info)],
            _forecast,
            {"forecast": ["the {days}-day forecast for {city} from {start_date}"]},
        ),
    ]


def travel_functions() -> list[WorldFunction]:
    """The travel and weather domains."""
    return [*_travel(), *_weather()]
