"""Functions over movies, cinemas and showtimes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from composition.world.catalog_base import as_date, field, lister, lookup, param, simple
from composition.world.types import ListInfo, WorldFunction

if TYPE_CHECKING:
    from composition.world.kb import KnowledgeBase

__all__ = ["movie_functions"]

MOVIE = param("title", "movie_title", "string", "Exact title of the movie.")
PERSON = param("person_name", "person_name", "string", "Full name of the person.")
FILM = {
    f.param.key: f
    for f in (
        field(
            "director",
            "person_name",
            "string",
            "Full name of the director.",
            "the director of {x}",
            "the filmmaker who directed {x}",
        ),
        field(
            "release_year",
            "year",
            "integer",
            "Year of the theatrical release.",
            "the release year of {x}",
            "the year {x} came out",
        ),
        field(
            "runtime_minutes",
            "minutes",
            "integer",
            "Running time in minutes.",
            "the running time of {x} in minutes",
        ),
        field("genre", "movie_genre", "string", "Film genre.", "the genre of the film {x}"),
        field("rating", "rating_10", "number", "Critics' score from 1 to 10.", "the critics' score of {x}"),
        field(
            "lead_actor",
            "person_name",
            "string",
            "Full name of the leading actor.",
            "the lead actor of {x}",
            "the star of {x}",
        ),
        field(
            "box_office_million_usd",
            "money_million_usd",
            "number",
            "Worldwide gross in millions of US dollars.",
            "the worldwide gross of {x} in millions of dollars",
        ),
    )
}


def _films_by(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    kb.row("person", args.get("person_name"))
    rows = [(t, kb.row("movie", t)) for t in kb.where("movie", "director", args["person_name"])]
    return {
        "films": [{"title": t, "release_year": r["release_year"], "rating": r["rating"]} for t, r in rows]
    }


def _cinemas_in(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    kb.row("city", args.get("city"))
    rows = [(c, kb.row("cinema", c)) for c in kb.where("cinema", "city", args["city"])]
    return {"cinemas": [{"cinema": c, "screens": r["screens"]} for c, r in rows]}


def _showtimes(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    kb.row("cinema", args.get("cinema"))
    day = as_date(args, "date")
    rng = kb.rng("showtimes", args["cinema"], day.isoformat())
    films = rng.sample(kb.names("movie"), rng.randint(3, 6))
    return {
        "showtimes": [
            {
                "title": f,
                "start_time": f"{rng.randint(11, 22)}:{rng.choice(('00', '30'))}",
                "ticket_price_usd": round(rng.uniform(6, 22), 2),
            }
            for f in films
        ]
    }


def movie_functions() -> list[WorldFunction]:
    """The movies domain."""
    cinema = param("cinema", "cinema_name", "string", "Name of the cinema.")
    city = param("city", "city", "string", "Name of the city.")
    date = param("date", "date", "string", "Day in YYYY-MM-DD form.", fmt="date")
    film_item = (
        param("title", "movie_title", "string", "Film title."),
        param("release_year", "year", "integer", "Release year."),
        param("rating", "rating_10", "number", "Critics' score."),
    )
    show_item = (
        param("title", "movie_title", "string", "Film title."),
        param("start_time", "time", "string", "Start time, HH:MM."),
        param("ticket_price_usd", "price_usd", "number", "Ticket price in US dollars."),
    )
    return [
        lookup(
            "get_movie_details",
            "movies",
            "Look up a movie's director, release year, running time, genre, critics' score and lead actor.",
            "looking up movie facts",
            "movie",
            MOVIE,
            [
                FILM[k]
                for k in ("director", "release_year", "runtime_minutes", "genre", "rating", "lead_actor")
            ],
        ),
        lookup(
            "get_movie_director",
            "movies",
            "Find who directed a movie.",
            "finding a film's director",
            "movie",
            MOVIE,
            [FILM["director"]],
        ),
        lookup(
            "get_movie_cast",
            "movies",
            "Find the leading actor of a movie.",
            "checking who starred in a film",
            "movie",
            MOVIE,
            [FILM["lead_actor"]],
        ),
        lookup(
            "get_box_office",
            "movies",
            "Get a movie's worldwide box-office gross.",
            "checking film earnings",
            "movie",
            MOVIE,
            [FILM["box_office_million_usd"], FILM["release_year"]],
        ),
        simple(
            "list_director_films",
            "movies",
            "List the films a person directed, with years and scores.",
            "exploring a director's films",
            [PERSON],
            [
                lister(
                    "films",
                    "Films directed.",
                    film_item,
                    ListInfo(
                        "film",
                        "films",
                        "directed by {person_name}",
                        "title",
                        {
                            "release_year": ("most recent {item}", "earliest {item}"),
                            "rating": ("best-reviewed {item}", "worst-reviewed {item}"),
                        },
                    ),
                )
            ],
            _films_by,
            {"films": ["the films directed by {person_name}"]},
        ),
        lookup(
            "get_cinema_info",
            "movies",
            "Look up a cinema's city, number of screens and address.",
            "planning a movie night",
            "cinema",
            cinema,
            [
                field("city", "city", "string", "City of the cinema.", "the city where {x} is located"),
                field("screens", "count", "integer", "Number of screens.", "the number of screens at {x}"),
                field("address", "address", "string", "Street address.", "the street address of {x}"),
            ],
        ),
        simple(
            "find_cinemas",
            "movies",
            "List the cinemas in a city with their number of screens.",
            "finding a cinema nearby",
            [city],
            [
                lister(
                    "cinemas",
                    "Cinemas in the city.",
                    (
                        param("cinema", "cinema_name", "string", "Cinema name."),
                        param("screens", "count", "integer", "Number of screens."),
                    ),
                    ListInfo(
                        "cinema",
                        "cinemas",
                        "in {city}",
                        "cinema",
                        {"screens": ("{item} with the most screens", "{item} with the fewest screens")},
                    ),
                )
            ],
            _cinemas_in,
            {"cinemas": ["the cinemas in {city}"]},
        ),
        simple(
            "get_showtimes",
            "movies",
            "List the screenings at a cinema on a given day with ticket prices.",
            "buying movie tickets",
            [cinema, date],
            [
                lister(
                    "showtimes",
                    "Screenings that day.",
                    show_item,
                    ListInfo(
                        "screening",
                        "screenings",
                        "at {cinema} on {date}",
                        "title",
                        {"ticket_price_usd": ("most expensive {item}", "cheapest {item}")},
                    ),
                )
            ],
            _showtimes,
            {"showtimes": ["the screenings at {cinema} on {date}"]},
        ),
    ]
