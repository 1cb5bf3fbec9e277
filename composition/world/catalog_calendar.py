"""Functions for calendars (events, dates) and education (universities, courses)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from composition.world import words as w
from composition.world.catalog_base import as_date, field, lister, lookup, param, require_number, simple
from composition.world.types import ListInfo, WorldFunction

if TYPE_CHECKING:
    from composition.world.kb import KnowledgeBase

__all__ = ["calendar_functions"]

DATE = param("date", "date", "string", "Day in YYYY-MM-DD form.", fmt="date")
UNIVERSITY = param("university", "university_name", "string", "Full name of the university.")


def _events_on(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    day = as_date(args, "date").isoformat()
    rows = [(e, kb.row("event", e)) for e in kb.where("event", "date", day)]
    return {"events": [{"event": e, "start_time": r["start_time"], "city": r["city"]} for e, r in rows]}


def _weekday(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    return {"weekday": as_date(args, "date").strftime("%A")}


def _days_between(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    return {"days": abs((as_date(args, "end_date") - as_date(args, "start_date")).days)}


def _add_days(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    shifted = as_date(args, "date") + dt.timedelta(days=int(require_number(args, "days")))
    return {"date": shifted.isoformat()}


def _holidays(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    kb.row("country", args.get("country"))
    rng = kb.rng("holidays", args["country"])
    days = sorted(rng.sample(range(365), rng.randint(4, 9)))
    names = rng.sample([f"{a} {n} Day" for a in w.ADJECTIVES[:12] for n in w.NOUNS[:12]], len(days))
    start = dt.date(2025, 1, 1)
    return {
        "holidays": [
            {"holiday": n, "date": (start + dt.timedelta(days=d)).isoformat()}
            for n, d in zip(names, days, strict=True)
        ]
    }


def _calendar() -> list[WorldFunction]:
    event = param("event", "event_name", "string", "Exact name of the event.")
    events = ListInfo("event", "events", "scheduled on {date}", "event")
    holidays = ListInfo("public holiday", "public holidays", "observed in {country} in 2025", "holiday")
    return [
        lookup(
            "get_event_details",
            "calendar",
            "Look up an event's date, start time, city, organizer and length.",
            "scheduling a meeting",
            "event",
            event,
            [
                field("date", "date", "string", "Day of the event, YYYY-MM-DD.", "the date of {x}"),
                field("start_time", "time", "string", "Start time, HH:MM.", "the start time of {x}"),
                field("city", "city", "string", "Host city.", "the city hosting {x}"),
                field("organizer", "person_name", "string", "Organizer.", "the organizer of {x}"),
                field(
                    "duration_minutes",
                    "minutes",
                    "integer",
                    "Length in minutes.",
                    "the length of {x} in minutes",
                ),
            ],
        ),
        simple(
            "list_events_on_date",
            "calendar",
            "List the events scheduled on a day.",
            "checking a busy day",
            [DATE],
            [
                lister(
                    "events",
                    "Events that day.",
                    (
                        param("event", "event_name", "string", "Event name."),
                        param("start_time", "time", "string", "Start time."),
                        param("city", "city", "string", "Host city."),
                    ),
                    events,
                )
            ],
            _events_on,
            {"events": ["the events scheduled on {date}"]},
        ),
        simple(
            "get_day_of_week",
            "calendar",
            "Tell which day of the week a date falls on.",
            "planning a weekend",
            [DATE],
            [param("weekday", "weekday", "string", "Day of the week, e.g. Monday.")],
            _weekday,
            {"weekday": ["the day of the week of {date}", "the weekday {date} falls on"]},
        ),
        simple(
            "count_days_between",
            "calendar",
            "Count the days between two dates.",
            "counting down to a date",
            [
                param("start_date", "date", "string", "Earlier day, YYYY-MM-DD.", fmt="date"),
                param("end_date", "date", "string", "Later day, YYYY-MM-DD.", fmt="date"),
            ],
            [param("days", "days", "integer", "Number of days between the dates.")],
            _days_between,
            {"days": ["the number of days between {start_date} and {end_date}"]},
        ),
        simple(
            "add_days_to_date",
            "calendar",
            "Find the date a number of days after a given date.",
            "setting a deadline",
            [DATE, param("days", "day_offset", "integer", "Days to add.", minimum=1, maximum=365)],
            [param("date", "date", "string", "The resulting day, YYYY-MM-DD.")],
            _add_days,
            {"date": ["the date {days} days after {date}"]},
        ),
        simple(
            "list_public_holidays",
            "calendar",
            "List a country's public holidays in 2025.",
            "planning time off",
            [param("country", "country", "string", "Name of the country.")],
            [
                lister(
                    "holidays",
                    "Holidays with dates.",
                    (
                        param("holiday", "holiday_name", "string", "Holiday name."),
                        param("date", "date", "string", "Day, YYYY-MM-DD."),
                    ),
                    holidays,
                )
            ],
            _holidays,
            {"holidays": ["the public holidays of {country} in 2025"]},
        ),
    ]


def _universities_in(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    kb.row("city", args.get("city"))
    rows = [(u, kb.row("university", u)) for u in kb.where("university", "city", args["city"])]
    return {
        "universities": [
            {"university": u, "students": r["students"], "founded_year": r["founded_year"]} for u, r in rows
        ]
    }


def _courses_at(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    kb.row("university", args.get("university"))
    rows = [(c, kb.row("course", c)) for c in kb.where("course", "university", args["university"])]
    return {"courses": [{"course": c, "credits": r["credits"]} for c, r in rows]}


def _education() -> list[WorldFunction]:
    unis = ListInfo(
        "university",
        "universities",
        "in {city}",
        "university",
        {
            "students": ("largest {item}", "smallest {item}"),
            "founded_year": ("youngest {item}", "oldest {item}"),
        },
    )
    courses = ListInfo(
        "course",
        "courses",
        "offered by {university}",
        "course",
        {"credits": ("{item} worth the most credits", "{item} worth the fewest credits")},
    )
    course = param("course", "course_name", "string", "Course name with its number.")
    tuition = field(
        "tuition_usd",
        "price_usd",
        "integer",
        "Yearly tuition in US dollars.",
        "the yearly tuition at {x} in dollars",
    )
    return [
        lookup(
            "get_university_info",
            "education",
            "Look up a university's city, founding year, enrolment and rector.",
            "choosing a university",
            "university",
            UNIVERSITY,
            [
                field("city", "city", "string", "City of the campus.", "the city where {x} has its campus"),
                field("founded_year", "year", "integer", "Year founded.", "the founding year of {x}"),
                field("students", "count", "integer", "Enrolled students.", "the number of students at {x}"),
                field("rector", "person_name", "string", "Head of the university.", "the rector of {x}"),
            ],
        ),
        lookup(
            "get_tuition",
            "education",
            "Get a university's yearly tuition in US dollars.",
            "budgeting for college",
            "university",
            UNIVERSITY,
            [tuition],
        ),
        simple(
            "find_universities",
            "education",
            "List the universities of a city with enrolment and age.",
            "comparing universities",
            [param("city", "city", "string", "Name of the city.")],
            [
                lister(
                    "universities",
                    "Universities in the city.",
                    (
                        param("university", "university_name", "string", "University name."),
                        param("students", "count", "integer", "Enrolled students."),
                        param("founded_year", "year", "integer", "Year founded."),
                    ),
                    unis,
                )
            ],
            _universities_in,
            {"universities": ["the universities in {city}"]},
        ),
        lookup(
            "get_course_info",
            "education",
            "Look up a course's university, credits, instructor and level.",
            "planning a semester",
            "course",
            course,
            [
                field(
                    "university",
                    "university_name",
                    "string",
                    "University offering it.",
                    "the university that offers {x}",
                ),
                field(
                    "credits", "credits", "integer", "Credit points.", "the number of credits {x} is worth"
                ),
                field("instructor", "person_name", "string", "Instructor.", "the instructor of {x}"),
                field("level", "course_level", "string", "undergraduate or graduate.", "the level of {x}"),
            ],
        ),
        simple(
            "list_university_courses",
            "education",
            "List the courses a university offers with credits.",
            "browsing a course catalog",
            [UNIVERSITY],
            [
                lister(
                    "courses",
                    "Courses offered.",
                    (
                        param("course", "course_name", "string", "Course name."),
                        param("credits", "credits", "integer", "Credit points."),
                    ),
                    courses,
                )
            ],
            _courses_at,
            {"courses": ["the courses offered by {university}"]},
        ),
    ]


def calendar_functions() -> list[WorldFunction]:
    """The calendar and education domains."""
    return [*_calendar(), *_education()]
