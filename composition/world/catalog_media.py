"""Functions over books, movies and music."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from composition.world.catalog_base import field, lister, lookup, param, simple
from composition.world.catalog_movies import movie_functions
from composition.world.catalog_music import music_functions
from composition.world.types import ListInfo, WorldFunction

if TYPE_CHECKING:
    from composition.world.kb import KnowledgeBase

__all__ = ["media_functions"]

TITLE = param("title", "book_title", "string", "Exact title of the book.")
PERSON = param("person_name", "person_name", "string", "Full name of the person.")

BOOK = {
    f.param.key: f
    for f in (
        field(
            "author",
            "person_name",
            "string",
            "Full name of the book's author.",
            "the author of {x}",
            "the writer of {x}",
        ),
        field(
            "publication_year",
            "year",
            "integer",
            "Year the book was first published.",
            "the year {x} was published",
            "the publication year of {x}",
        ),
        field(
            "pages",
            "page_count",
            "integer",
            "Number of pages.",
            "the number of pages in {x}",
            "the page count of {x}",
        ),
        field("genre", "book_genre", "string", "Literary genre.", "the genre of {x}"),
        field("publisher", "publisher_name", "string", "Publishing house.", "the publisher of {x}"),
        field(
            "rating",
            "rating_5",
            "number",
            "Average reader rating from 1 to 5.",
            "the average reader rating of {x}",
        ),
    )
}


def _books_by(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    kb.row("person", args.get("person_name"))
    rows = [(t, kb.row("book", t)) for t in kb.where("book", "author", args["person_name"])]
    return {
        "books": [
            {"title": t, "publication_year": r["publication_year"], "pages": r["pages"]} for t, r in rows
        ]
    }


def _books_in_genre(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    rows = [(t, kb.row("book", t)) for t in kb.where("book", "genre", args.get("genre"))]
    return {"books": [{"title": t, "pages": r["pages"], "author": r["author"]} for t, r in rows[:12]]}


def _books() -> list[WorldFunction]:
    book_item = (
        param("title", "book_title", "string", "Book title."),
        param("publication_year", "year", "integer", "Publication year."),
        param("pages", "page_count", "integer", "Number of pages."),
    )
    genre_item = (
        param("title", "book_title", "string", "Book title."),
        param("pages", "page_count", "integer", "Number of pages."),
        param("author", "person_name", "string", "Author name."),
    )
    by_author = ListInfo(
        "book",
        "books",
        "written by {person_name}",
        "title",
        {
            "publication_year": ("most recent {item}", "earliest {item}"),
            "pages": ("longest {item}", "shortest {item}"),
        },
    )
    in_genre = ListInfo(
        "book",
        "books",
        "featured in {genre}",
        "title",
        {"pages": ("longest {item}", "shortest {item}")},
    )
    genre = param(
        "genre",
        "book_genre",
        "string",
        "Literary genre.",
        enum=(
            "mystery",
            "science fiction",
            "fantasy",
            "romance",
            "history",
            "biography",
            "thriller",
            "poetry",
        ),
    )
    return [
        lookup(
            "get_book_details",
            "books",
            "Look up a book's author, publication year, length, genre, publisher and rating.",
            "looking up book details",
            "book",
            TITLE,
            list(BOOK.values()),
        ),
        lookup(
            "get_book_author",
            "books",
            "Find who wrote a book.",
            "finding who wrote a book",
            "book",
            TITLE,
            [BOOK["author"]],
        ),
        lookup(
            "get_book_publication_year",
            "books",
            "Find the year a book was first published.",
            "checking when a book came out",
            "book",
            TITLE,
            [BOOK["publication_year"]],
        ),
        lookup(
            "get_book_rating",
            "books",
            "Get the average reader rating of a book.",
            "comparing book reviews",
            "book",
            TITLE,
            [BOOK["rating"], BOOK["pages"]],
        ),
        lookup(
            "get_publisher_info",
            "books",
            "Look up where a publishing house is based and when it was founded.",
            "researching publishing houses",
            "publisher",
            param("publisher", "publisher_name", "string", "Name of the publishing house."),
            [
                field(
                    "headquarters_city",
                    "city",
                    "string",
                    "City of the head office.",
                    "the city where {x} has its head office",
                ),
                field("founded_year", "year", "integer", "Year founded.", "the founding year of {x}"),
            ],
        ),
        simple(
            "list_books_by_author",
            "books",
            "List the books a person has written, with years and page counts.",
            "exploring an author's bibliography",
            [PERSON],
            [lister("books", "Books by the author.", book_item, by_author)],
            _books_by,
            {"books": ["the books written by {person_name}"]},
        ),
        simple(
            "search_books_by_genre",
            "books",
            "List featured books of a literary genre.",
            "finding books to read",
            [genre],
            [lister("books", "Featured books.", genre_item, in_genre)],
            _books_in_genre,
            {"books": ["the books featured in {genre}"]},
        ),
    ]


def media_functions() -> list[WorldFunction]:
    """All functions of the books, movies and music domains."""
    return [*_books(), *movie_functions(), *music_functions()]
