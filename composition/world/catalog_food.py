"""Functions for restaurants, menus, recipes and ingredients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from composition.world import words as w
from composition.world.catalog_base import field, lister, lookup, param, simple
from composition.world.types import ListInfo, WorldFunction

if TYPE_CHECKING:
    from composition.world.kb import KnowledgeBase

__all__ = ["food_functions"]

CITY = param("city", "city", "string", "Name of the city.")
RESTAURANT = param("restaurant", "restaurant_name", "string", "Name of the restaurant.")
RECIPE = param("recipe", "recipe_name", "string", "Name of the recipe.")
INGREDIENT = param("ingredient", "ingredient", "string", "Ingredient, lower case.", enum=tuple(w.INGREDIENTS))

RECIPE_FIELDS = {
    f.param.key: f
    for f in (
        field("cuisine", "cuisine", "string", "Cuisine the dish belongs to.", "the cuisine of {x}"),
        field(
            "prep_minutes",
            "minutes",
            "integer",
            "Preparation time in minutes.",
            "the preparation time of {x} in minutes",
            "the time needed to prepare {x}, in minutes",
        ),
        field("calories", "calories", "integer", "Calories per serving.", "the calories per serving of {x}"),
        field(
            "servings", "count", "integer", "Servings the recipe makes.", "the number of servings {x} makes"
        ),
        field("main_ingredient", "ingredient", "string", "Main ingredient.", "the main ingredient of {x}"),
    )
}


def _restaurants_in(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    kb.row("city", args.get("city"))
    rows = [(n, kb.row("restaurant", n)) for n in kb.where("restaurant", "city", args["city"])]
    return {
        "restaurants": [
            {
                "restaurant": n,
                "cuisine": r["cuisine"],
                "rating": r["rating"],
                "average_price_usd": r["average_price_usd"],
            }
            for n, r in rows
        ]
    }


def _menu(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    row = kb.row("restaurant", args.get("restaurant"))
    rng = kb.rng("menu", args["restaurant"])
    return {
        "dishes": [
            {
                "dish": d,
                "price_usd": round(rng.uniform(6, 48), 2),
                "calories": kb.row("recipe", d)["calories"],
            }
            for d in row["dishes"]
        ]
    }


def _recipes_with(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    kb.row("ingredient", args.get("ingredient"))
    rows = [(n, kb.row("recipe", n)) for n in kb.where("recipe", "main_ingredient", args["ingredient"])]
    return {
        "recipes": [
            {"recipe": n, "prep_minutes": r["prep_minutes"], "calories": r["calories"]} for n, r in rows
        ]
    }


def food_functions() -> list[WorldFunction]:
    """The food domain."""
    restaurants = ListInfo(
        "restaurant",
        "restaurants",
        "in {city}",
        "restaurant",
        {
            "rating": ("best-rated {item}", "worst-rated {item}"),
            "average_price_usd": ("priciest {item}", "most affordable {item}"),
        },
    )
    menu = ListInfo(
        "dish",
        "dishes",
        "on the menu of {restaurant}",
        "dish",
        {
            "price_usd": ("most expensive {item}", "cheapest {item}"),
            "calories": ("most filling {item}", "lightest {item}"),
        },
    )
    recipes = ListInfo(
        "recipe",
        "recipes",
        "built around {ingredient}",
        "recipe",
        {
            "prep_minutes": ("slowest {item}", "quickest {item}"),
            "calories": ("richest {item}", "lightest {item}"),
        },
    )
    return [
        lookup(
            "get_restaurant_info",
            "food",
            "Look up a restaurant's city, cuisine, rating, average bill and head chef.",
            "choosing a restaurant",
            "restaurant",
            RESTAURANT,
            [
                field("city", "city", "string", "City of the restaurant.", "the city where {x} serves food"),
                field("cuisine", "cuisine", "string", "Cuisine served.", "the cuisine served at {x}"),
                field("rating", "rating_5", "number", "Diner rating from 1 to 5.", "the diner rating of {x}"),
                field(
                    "average_price_usd",
                    "price_usd",
                    "integer",
                    "Average bill per person in US dollars.",
                    "the average bill per person at {x} in dollars",
                ),
                field("chef", "person_name", "string", "Head chef.", "the head chef of {x}"),
            ],
        ),
        simple(
            "search_restaurants",
            "food",
            "List the restaurants of a city with cuisine, rating and price.",
            "finding a place to eat",
            [CITY],
            [
                lister(
                    "restaurants",
                    "Restaurants in the city.",
                    (
                        param("restaurant", "restaurant_name", "string", "Restaurant name."),
                        param("cuisine", "cuisine", "string", "Cuisine."),
                        param("rating", "rating_5", "number", "Diner rating."),
                        param("average_price_usd", "price_usd", "integer", "Average bill."),
                    ),
                    restaurants,
                )
            ],
            _restaurants_in,
            {"restaurants": ["the restaurants in {city}"]},
        ),
        simple(
            "get_restaurant_menu",
            "food",
            "List the dishes a restaurant serves with prices and calories.",
            "ordering dinner",
            [RESTAURANT],
            [
                lister(
                    "dishes",
                    "Dishes on the menu.",
                    (
                        param("dish", "recipe_name", "string", "Dish name."),
                        param("price_usd", "price_usd", "number", "Price in US dollars."),
                        param("calories", "calories", "integer", "Calories per serving."),
                    ),
                    menu,
                )
            ],
            _menu,
            {"dishes": ["the dishes on the menu of {restaurant}"]},
        ),
        lookup(
            "get_recipe",
            "food",
            "Look up a recipe's cuisine, preparation time, calories, servings and main ingredient.",
            "cooking a new recipe",
            "recipe",
            RECIPE,
            list(RECIPE_FIELDS.values()),
        ),
        lookup(
            "get_recipe_calories",
            "food",
            "Get the calories per serving of a recipe.",
            "counting calories",
            "recipe",
            RECIPE,
            [RECIPE_FIELDS["calories"]],
        ),
        lookup(
            "get_ingredient_nutrition",
            "food",
            "Get the calories and protein in 100 grams of an ingredient.",
            "planning a balanced diet",
            "ingredient",
            INGREDIENT,
            [
                field(
                    "calories_per_100g",
                    "calories",
                    "integer",
                    "Calories in 100 grams.",
                    "the calories in 100 grams of {x}",
                ),
                field(
                    "protein_g", "grams", "number", "Protein in 100 grams.", "the protein in 100 grams of {x}"
                ),
            ],
        ),
        simple(
            "find_recipes_by_ingredient",
            "food",
            "List recipes built around an ingredient.",
            "using up ingredients at home",
            [INGREDIENT],
            [
                lister(
                    "recipes",
                    "Matching recipes.",
                    (
                        param("recipe", "recipe_name", "string", "Recipe name."),
                        param("prep_minutes", "minutes", "integer", "Preparation time."),
                        param("calories", "calories", "integer", "Calories per serving."),
                    ),
                    recipes,
                )
            ],
            _recipes_with,
            {"recipes": ["the recipes built around {ingredient}"]},
        ),
    ]
