"""Builders for commerce (companies, stores, food, hotels) and daily life (sports, health, events, study)."""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING

from composition.world import words as w
from composition.world.names import unique_names

if TYPE_CHECKING:
    from composition.world.kb import KnowledgeBase

__all__ = ["YEAR_START", "build_commerce", "build_life"]

YEAR_START = dt.date(2025, 1, 1)


def build_commerce(kb: KnowledgeBase, rng: random.Random) -> None:
    """Currencies, companies and stocks, brands, stores and products, food, hotels and airlines."""
    for i, code in enumerate(w.CURRENCIES):
        kb.add(
            "currency",
            code,
            {"usd_per_unit": 1.0 if code == "USD" else round(rng.uniform(0.006, 1.4), 4), "rank": i},
        )
    _companies(kb, rng)
    _shops(kb, rng)
    _food(kb, rng)
    cities = kb.names("city")
    hotels = unique_names(rng, 320, lambda r: f"Hotel {r.choice(w.ADJECTIVES)} {r.choice(w.NOUNS)}")
    for hotel in hotels:
        city = rng.choice(cities)
        kb.add(
            "hotel",
            hotel,
            {
                "city": city,
                "stars": rng.randint(1, 5),
                "price_per_night_usd": rng.randint(45, 620),
                "rating": round(rng.uniform(5.0, 9.9), 1),
                "address": f"{rng.randint(1, 250)} {rng.choice(w.NOUNS)} Avenue, {city}",
            },
        )
    for airline in unique_names(
        rng, 10, lambda r: f"{r.choice(w.AIRLINE_WORDS)} {r.choice(('Air', 'Airways'))}"
    ):
        kb.add(
            "airline",
            airline,
            {
                "headquarters_city": rng.choice(cities),
                "founded_year": rng.randint(1925, 2010),
                "fleet_size": rng.randint(12, 420),
            },
        )


def _companies(kb: KnowledgeBase, rng: random.Random) -> None:
    ceos = kb.where("person", "occupation", "executive")
    names = unique_names(
        rng,
        120,
        lambda r: f"{r.choice(w.BRAND_ROOTS)}{r.choice(('ex', 'on', 'ia', 'ar'))} {r.choice(w.COMPANY_ENDS)}",
    )
    tickers: dict[str, None] = {}
    for company, ceo in zip(names, ceos, strict=True):
        ticker = _ticker(company, tickers)
        kb.add(
            "company",
            company,
            {
                "ticker": ticker,
                "sector": rng.choice(w.SECTORS),
                "ceo": ceo,
                "headquarters_city": rng.choice(kb.names("city")),
                "founded_year": rng.randint(1880, 2020),
                "employees": rng.randint(40, 250000),
            },
        )
        kb.add(
            "stock",
            ticker,
            {
                "company": company,
                "price_usd": round(rng.uniform(3, 900), 2),
                "change_percent": round(rng.uniform(-6, 6), 2),
                "market_cap_billion_usd": round(rng.uniform(0.2, 800), 1),
            },
        )


def _ticker(company: str, taken: dict[str, None]) -> str:
    letters = "".join(ch for ch in company.upper() if ch.isalpha())
    for size in (3, 4):
        for start in range(1, len(letters) - size + 2):
            code = letters[0] + letters[start : start + size - 1]
            if len(code) == size and code not in taken:
                taken[code] = None
                return code
    raise RuntimeError(f"no free ticker for {company}")


def _shops(kb: KnowledgeBase, rng: random.Random) -> None:
    cities = kb.names("city")
    for brand in w.BRAND_ROOTS:
        kb.add(
            "brand",
            brand,
            {
                "headquarters_city": rng.choice(cities),
                "founded_year": rng.randint(1890, 2018),
            },
        )
    products = unique_names(
        rng,
        420,
        lambda r: f"{r.choice(w.BRAND_ROOTS)} {r.choice(w.PRODUCT_STYLES)} {r.choice(w.PRODUCT_KINDS)}",
    )
    for product in products:
        brand, _, kind = product.split(" ")
        kb.add(
            "product",
            product,
            {
                "brand": brand,
                "category": kind.lower(),
                "price_usd": round(rng.uniform(9, 1200), 2),
                "rating": round(rng.uniform(2.0, 5.0), 1),
                "weight_kg": round(rng.uniform(0.1, 9.0), 2),
            },
        )
    stores = unique_names(rng, 90, lambda r: f"{r.choice(w.LAST_NAMES)} {r.choice(w.STORE_KINDS)}")
    for store in stores:
        kb.add(
            "store",
            store,
            {
                "city": rng.choice(cities),
                "rating": round(rng.uniform(2.5, 5.0), 1),
                "opening_hour": rng.randint(6, 10),
                "closing_hour": rng.randint(17, 23),
                "products": rng.sample(products, rng.randint(4, 9)),
            },
        )


def _food(kb: KnowledgeBase, rng: random.Random) -> None:
    for ingredient in w.INGREDIENTS:
        kb.add(
            "ingredient",
            ingredient,
            {
                "calories_per_100g": rng.randint(20, 320),
                "protein_g": round(rng.uniform(0.5, 26), 1),
            },
        )
    recipes = unique_names(
        rng,
        220,
        lambda r: f"{r.choice(w.FOOD_ADJECTIVES)} {r.choice(w.INGREDIENTS).title()} {r.choice(w.DISHES)}",
    )
    for recipe in recipes:
        kb.add(
            "recipe",
            recipe,
            {
                "cuisine": rng.choice(w.CUISINES),
                "prep_minutes": rng.randint(10, 150),
                "calories": rng.randint(180, 1100),
                "servings": rng.randint(1, 8),
                "main_ingredient": recipe.split(" ")[1].lower(),
            },
        )
    chefs = kb.where("person", "occupation", "chef")
    names = unique_names(
        rng,
        300,
        lambda r: (
            f"The {r.choice(w.COLORS)} {r.choice(w.ANIMALS)}"
            if r.random() < 0.5
            else f"{r.choice(w.FIRST_NAMES)}'s {r.choice(('Kitchen', 'Table', 'Bistro'))}"
        ),
    )
    for name in names:
        kb.add(
            "restaurant",
            name,
            {
                "city": rng.choice(kb.names("city")),
                "cuisine": rng.choice(w.CUISINES),
                "rating": round(rng.uniform(2.5, 5.0), 1),
                "average_price_usd": rng.randint(8, 140),
                "chef": rng.choice(chefs),
                "dishes": rng.sample(recipes, rng.randint(3, 7)),
            },
        )


def build_life(kb: KnowledgeBase, rng: random.Random) -> None:
    """Teams, players and stadiums; doctors, clinics and medications; events; universities; landmarks."""
    _sports(kb, rng)
    _health(kb, rng)
    cities, people = kb.names("city"), kb.names("person")
    events = unique_names(
        rng, 260, lambda r: f"{r.choice(w.EVENT_TOPICS)} {r.choice(w.EVENT_KINDS)} {r.choice(w.NOUNS)}"
    )
    for event in events:
        day = YEAR_START + dt.timedelta(days=rng.randrange(365))
        kb.add(
            "event",
            event,
            {
                "date": day.isoformat(),
                "start_time": f"{rng.randint(8, 19):02d}:{rng.choice((0, 15, 30, 45)):02d}",
                "city": rng.choice(cities),
                "organizer": rng.choice(people),
                "duration_minutes": rng.choice(range(30, 481, 30)),
            },
        )
    _study(kb, rng)
    architects = kb.where("person", "occupation", "architect")
    for landmark in unique_names(
        rng, 160, lambda r: f"{r.choice(w.ADJECTIVES)} {r.choice(w.LANDMARK_KINDS)}"
    ):
        kb.add(
            "landmark",
            landmark,
            {
                "city": rng.choice(cities),
                "year_built": rng.randint(1200, 2020),
                "height_m": rng.randint(8, 420),
                "architect": rng.choice(architects),
            },
        )


def _sports(kb: KnowledgeBase, rng: random.Random) -> None:
    cities = kb.names("city")
    players = iter(kb.where("person", "occupation", "athlete"))
    coaches = kb.where("person", "occupation", "coach")
    teams = unique_names(rng, 60, lambda r: f"{r.choice(cities)} {r.choice(w.MASCOTS)}")
    for team, coach in zip(teams, coaches, strict=True):
        city = team.rsplit(" ", 1)[0]
        mascot = team.rsplit(" ", 1)[1]
        single = mascot[:-3] + "f" if mascot.endswith("ves") else mascot[:-1]
        stadium = f"{kb.row('person', coach)['hometown']} {single} Arena"
        if stadium in kb.tables.get("stadium", {}):
            stadium = f"{team} Park"
        kb.add(
            "stadium",
            stadium,
            {"city": city, "capacity": rng.randint(3, 90) * 1000, "opened_year": rng.randint(1900, 2022)},
        )
        kb.add(
            "team",
            team,
            {
                "city": city,
                "sport": rng.choice(w.SPORTS),
                "founded_year": rng.randint(1880, 2015),
                "stadium": stadium,
                "coach": coach,
                "rank": 0,
                "points": rng.randint(5, 90),
            },
        )
        numbers = rng.sample(range(1, 99), 8)
        for number in numbers:
            kb.add(
                "player",
                next(players),
                {
                    "team": team,
                    "position": rng.choice(("forward", "midfielder", "defender", "goalkeeper", "guard")),
                    "jersey_number": number,
                    "goals": rng.randint(0, 40),
                },
            )
    ordered = sorted(teams, key=lambda t: (-kb.row("team", t)["points"], t))
    for rank, team in enumerate(ordered, start=1):
        kb.row("team", team)["rank"] = rank


def _health(kb: KnowledgeBase, rng: random.Random) -> None:
    cities = kb.names("city")
    clinics = unique_names(
        rng, 70, lambda r: f"{r.choice(cities)} {r.choice(('Family', 'Heart', 'Valley', 'Central'))} Clinic"
    )
    for clinic in clinics:
        kb.add(
            "clinic",
            clinic,
            {
                "city": clinic.split(" ")[0],
                "phone": f"+{rng.randint(200, 380)}-{rng.randint(1000000, 9999999)}",
                "rating": round(rng.uniform(2.5, 5.0), 1),
            },
        )
    for doctor in kb.where("person", "occupation", "physician"):
        kb.add(
            "doctor",
            doctor,
            {
                "specialty": rng.choice(w.SPECIALTIES),
                "clinic": rng.choice(clinics),
                "years_experience": rng.randint(1, 40),
            },
        )
    for med in unique_names(rng, 90, lambda r: r.choice(w.MED_STARTS) + r.choice(w.MED_ENDS)):
        dose = rng.choice((5, 10, 20, 25, 50, 100, 200, 250, 500))
        kb.add(
            "medication",
            med,
            {
                "drug_class": rng.choice(w.DRUG_CLASSES),
                "standard_dose_mg": dose,
                "max_daily_dose_mg": dose * rng.randint(2, 6),
            },
        )


def _study(kb: KnowledgeBase, rng: random.Random) -> None:
    professors = kb.where("person", "occupation", "professor")
    cities = kb.names("city")
    unis = unique_names(
        rng,
        50,
        lambda r: (
            f"University of {r.choice(cities)}"
            if r.random() < 0.6
            else f"{r.choice(cities)} Institute of Technology"
        ),
    )
    for uni, rector in zip(unis, professors, strict=False):
        kb.add(
            "university",
            uni,
            {
                "city": uni.split(" ")[-1] if uni.startswith("University") else uni.split(" ")[0],
                "founded_year": rng.randint(1150, 1990),
                "students": rng.randint(900, 60000),
                "rector": rector,
                "tuition_usd": rng.randint(0, 60) * 1000,
            },
        )
    courses = unique_names(
        rng,
        320,
        lambda r: f"{r.choice(w.COURSE_SUBJECTS)} {r.randint(1, 4)}{r.randint(0, 9)}{r.choice((0, 1, 5))}",
    )
    for course in courses:
        level = int(course.rsplit(" ", 1)[1][0])
        kb.add(
            "course",
            course,
            {
                "university": rng.choice(unis),
                "credits": rng.choice((2, 3, 4, 5, 6)),
                "instructor": rng.choice(professors[50:]),
                "level": "graduate" if level >= 4 else "undergraduate",
            },
        )
