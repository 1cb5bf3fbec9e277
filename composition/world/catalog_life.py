"""Functions for health (doctors, clinics, medications) and sports (teams, players, stadiums)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from composition.world import words as w
from composition.world.catalog_base import field, lister, lookup, param, require_number, simple
from composition.world.catalog_calendar import calendar_functions
from composition.world.types import ListInfo, WorldFunction

if TYPE_CHECKING:
    from composition.world.kb import KnowledgeBase

__all__ = ["life_functions"]

CITY = param("city", "city", "string", "Name of the city.")
CLINIC = param("clinic", "clinic_name", "string", "Name of the clinic.")
TEAM = param("team", "team_name", "string", "Name of the team.")


def _doctors_at(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    kb.row("clinic", args.get("clinic"))
    rows = [(d, kb.row("doctor", d)) for d in kb.where("doctor", "clinic", args["clinic"])]
    return {
        "doctors": [
            {"doctor": d, "specialty": r["specialty"], "years_experience": r["years_experience"]}
            for d, r in rows
        ]
    }


def _clinics_in(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    kb.row("city", args.get("city"))
    return {
        "clinics": [
            {"clinic": c, "rating": kb.row("clinic", c)["rating"]}
            for c in kb.where("clinic", "city", args["city"])
        ]
    }


def _interaction(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    a, b = args.get("medication_a"), args.get("medication_b")
    kb.row("medication", a)
    kb.row("medication", b)
    first, second = sorted((str(a), str(b)))
    severity = (
        "none"
        if a == b
        else kb.rng("interaction", first, second).choice(("none", "none", "mild", "moderate", "severe"))
    )
    return {"interacts": severity != "none", "severity": severity}


def _bmi(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    weight, height = require_number(args, "weight_kg"), require_number(args, "height_cm")
    return {"bmi": round(weight / (height / 100) ** 2, 1)}


def _health() -> list[WorldFunction]:
    doctor = param("doctor", "doctor_name", "string", "Full name of the doctor.")
    med_a = param("medication_a", "medication_name", "string", "First medication.")
    med_b = param("medication_b", "medication_name", "string", "Second medication.")
    doctors = ListInfo(
        "doctor",
        "doctors",
        "working at {clinic}",
        "doctor",
        {"years_experience": ("most experienced {item}", "least experienced {item}")},
    )
    clinics = ListInfo(
        "clinic", "clinics", "in {city}", "clinic", {"rating": ("best-rated {item}", "worst-rated {item}")}
    )
    return [
        lookup(
            "get_doctor_info",
            "health",
            "Look up a doctor's specialty, clinic and years of experience.",
            "finding the right doctor",
            "doctor",
            doctor,
            [
                field(
                    "specialty", "specialty", "string", "Medical specialty.", "the medical specialty of {x}"
                ),
                field("clinic", "clinic_name", "string", "Clinic of practice.", "the clinic where {x} works"),
                field(
                    "years_experience",
                    "years",
                    "integer",
                    "Years in practice.",
                    "the number of years {x} has practised",
                ),
            ],
        ),
        lookup(
            "get_clinic_info",
            "health",
            "Look up a clinic's city, phone number and patient rating.",
            "booking a medical appointment",
            "clinic",
            CLINIC,
            [
                field("city", "city", "string", "City of the clinic.", "the city where {x} is located"),
                field("phone", "phone", "string", "Phone number.", "the phone number of {x}"),
                field(
                    "rating", "rating_5", "number", "Patient rating from 1 to 5.", "the patient rating of {x}"
                ),
            ],
        ),
        simple(
            "list_clinic_doctors",
            "health",
            "List the doctors working at a clinic.",
            "choosing a doctor",
            [CLINIC],
            [
                lister(
                    "doctors",
                    "Doctors at the clinic.",
                    (
                        param("doctor", "doctor_name", "string", "Doctor name."),
                        param("specialty", "specialty", "string", "Specialty."),
                        param("years_experience", "years", "integer", "Years in practice."),
                    ),
                    doctors,
                )
            ],
            _doctors_at,
            {"doctors": ["the doctors working at {clinic}"]},
        ),
        simple(
            "find_clinics",
            "health",
            "List the clinics in a city with patient ratings.",
            "finding a clinic nearby",
            [CITY],
            [
                lister(
                    "clinics",
                    "Clinics in the city.",
                    (
                        param("clinic", "clinic_name", "string", "Clinic name."),
                        param("rating", "rating_5", "number", "Patient rating."),
                    ),
                    clinics,
                )
            ],
            _clinics_in,
            {"clinics": ["the clinics in {city}"]},
        ),
        lookup(
            "get_medication_info",
            "health",
            "Look up a medication's drug class and dosing limits.",
            "checking medication dosage",
            "medication",
            param("medication", "medication_name", "string", "Name of the medication."),
            [
                field("drug_class", "drug_class", "string", "Drug class.", "the drug class of {x}"),
                field(
                    "standard_dose_mg",
                    "milligrams",
                    "integer",
                    "Usual single dose in milligrams.",
                    "the usual single dose of {x} in milligrams",
                ),
                field(
                    "max_daily_dose_mg",
                    "milligrams",
                    "integer",
                    "Maximum daily dose in milligrams.",
                    "the maximum daily dose of {x} in milligrams",
                ),
            ],
        ),
        simple(
            "check_drug_interaction",
            "health",
            "Check whether two medications interact and how badly.",
            "combining medications safely",
            [med_a, med_b],
            [
                param("interacts", "boolean", "boolean", "Whether they interact."),
                param(
                    "severity",
                    "severity",
                    "string",
                    "none, mild, moderate or severe.",
                    enum=("none", "mild", "moderate", "severe"),
                ),
            ],
            _interaction,
            {"severity": ["the severity of the interaction between {medication_a} and {medication_b}"]},
        ),
        simple(
            "compute_bmi",
            "health",
            "Compute body mass index from weight and height.",
            "tracking personal fitness",
            [
                param(
                    "weight_kg",
                    "body_weight_kg",
                    "number",
                    "Body weight in kilograms.",
                    minimum=20,
                    maximum=300,
                ),
                param(
                    "height_cm", "centimeters", "number", "Height in centimeters.", minimum=100, maximum=230
                ),
            ],
            [param("bmi", "bmi", "number", "Body mass index.")],
            _bmi,
            {"bmi": ["the body mass index of someone who weighs {weight_kg} and is {height_cm} tall"]},
        ),
    ]


def _roster(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    kb.row("team", args.get("team"))
    rows = [(p, kb.row("player", p)) for p in kb.where("player", "team", args["team"])]
    return {"players": [{"player": p, "position": r["position"], "goals": r["goals"]} for p, r in rows]}


def _head_to_head(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    a, b = args.get("team_a"), args.get("team_b")
    kb.row("team", a)
    kb.row("team", b)
    if a == b:
        return {"wins_a": 0, "wins_b": 0, "draws": 0}
    first, second = sorted((str(a), str(b)))
    rng = kb.rng("h2h", first, second)
    wins = {first: rng.randint(0, 25), second: rng.randint(0, 25)}
    return {"wins_a": wins[str(a)], "wins_b": wins[str(b)], "draws": rng.randint(0, 12)}


def _teams_playing(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "teams": [
            {"team": t, "points": kb.row("team", t)["points"]}
            for t in kb.where("team", "sport", args.get("sport"))
        ]
    }


def _sports() -> list[WorldFunction]:
    team_a = param("team_a", "team_name", "string", "Name of the first team.")
    team_b = param("team_b", "team_name", "string", "Name of the second team.")
    roster = ListInfo(
        "player",
        "players",
        "on the roster of {team}",
        "player",
        {"goals": ("{item} with the most goals", "{item} with the fewest goals")},
    )
    teams = ListInfo(
        "team",
        "teams",
        "playing {sport}",
        "team",
        {"points": ("{item} with the most points", "{item} with the fewest points")},
    )
    count = "count"
    return [
        lookup(
            "get_team_info",
            "sports",
            "Look up a team's city, sport, founding year, stadium and coach.",
            "following a sports team",
            "team",
            TEAM,
            [
                field("city", "city", "string", "Home city.", "the home city of {x}"),
                field("sport", "sport", "string", "Sport played.", "the sport {x} plays"),
                field("founded_year", "year", "integer", "Year founded.", "the year {x} was founded"),
                field("stadium", "stadium_name", "string", "Home stadium.", "the home stadium of {x}"),
                field("coach", "person_name", "string", "Head coach.", "the head coach of {x}"),
            ],
        ),
        lookup(
            "get_player_profile",
            "sports",
            "Look up a player's team, position, jersey number and season goals.",
            "checking player statistics",
            "player",
            param("player", "player_name", "string", "Full name of the player."),
            [
                field("team", "team_name", "string", "Current team.", "the team {x} plays for"),
                field("position", "position", "string", "Playing position.", "the playing position of {x}"),
                field(
                    "jersey_number", "jersey_number", "integer", "Shirt number.", "the jersey number of {x}"
                ),
                field(
                    "goals",
                    count,
                    "integer",
                    "Goals or points scored this season.",
                    "the number of goals {x} scored this season",
                ),
            ],
        ),
        simple(
            "get_team_roster",
            "sports",
            "List a team's players with positions and season goals.",
            "checking a team lineup",
            [TEAM],
            [
                lister(
                    "players",
                    "Players on the team.",
                    (
                        param("player", "player_name", "string", "Player name."),
                        param("position", "position", "string", "Position."),
                        param("goals", count, "integer", "Season goals."),
                    ),
                    roster,
                )
            ],
            _roster,
            {"players": ["the players on the roster of {team}"]},
        ),
        lookup(
            "get_team_standing",
            "sports",
            "Get a team's league position and points this season.",
            "following league standings",
            "team",
            TEAM,
            [
                field("rank", "rank", "integer", "League position, 1 is top.", "the league position of {x}"),
                field(
                    "points",
                    "points",
                    "integer",
                    "Points this season.",
                    "the points total of {x} this season",
                ),
            ],
        ),
        simple(
            "get_head_to_head",
            "sports",
            "Get the all-time wins of each of two teams against the other, and their draws.",
            "comparing two rival teams",
            [team_a, team_b],
            [
                param("wins_a", count, "integer", "Wins of the first team."),
                param("wins_b", count, "integer", "Wins of the second team."),
                param("draws", count, "integer", "Drawn matches."),
            ],
            _head_to_head,
            {
                "wins_a": ["the number of wins {team_a} has against {team_b}"],
                "draws": ["the number of draws between {team_a} and {team_b}"],
            },
        ),
        lookup(
            "get_stadium_info",
            "sports",
            "Look up a stadium's city, seating capacity and opening year.",
            "going to a live game",
            "stadium",
            param("stadium", "stadium_name", "string", "Name of the stadium."),
            [
                field("city", "city", "string", "City of the stadium.", "the city where {x} stands"),
                field("capacity", "seats", "integer", "Seats.", "the seating capacity of {x}"),
                field("opened_year", "year", "integer", "Opening year.", "the year {x} opened"),
            ],
        ),
        simple(
            "list_league_teams",
            "sports",
            "List the teams of a sport's league with their points.",
            "following league standings",
            [param("sport", "sport", "string", "Sport.", enum=tuple(w.SPORTS))],
            [
                lister(
                    "teams",
                    "Teams in the league.",
                    (
                        param("team", "team_name", "string", "Team name."),
                        param("points", "points", "integer", "Points this season."),
                    ),
                    teams,
                )
            ],
            _teams_playing,
            {"teams": ["the teams playing {sport}"]},
        ),
    ]


def life_functions() -> list[WorldFunction]:
    """The health, sports, calendar and education domains."""
    return [*_health(), *_sports(), *calendar_functions()]
