"""The one error type the storage layer raises, so the CLI can print one clean line and exit non-zero."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["DatabaseError", "ReadOnlyError", "first_line", "masked_url"]


class DatabaseError(Exception):
    """A database problem, worded for the person at the terminal: what is wrong, where, what to do.

    `str()` is always a single line; the password of any URL in it is masked.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class ReadOnlyError(DatabaseError):
    """A query given to `button sql` tried to change the database."""


def masked_url(url: str | URL) -> str:
    """The URL with its password replaced by ***, safe to print; the raw text if it does not parse."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except ArgumentError:
        return str(url)
    return parsed.render_as_string(hide_password=True)


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (drivers append hints and SQL on later lines).

    SQLAlchemy wraps driver errors; the original driver exception, when there is one, says it best.
    """
    original = getattr(exc, "orig", None) or exc
    for line in str(original).splitlines():
        if line.strip():
            return line.strip()
    return type(original).__name__
