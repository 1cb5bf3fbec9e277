"""Functions for shopping (products, stores, brands, shipping); gathers finance and food too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from composition.world.catalog_base import field, lister, lookup, param, require_number, simple
from composition.world.catalog_finance import finance_functions
from composition.world.catalog_food import food_functions
from composition.world.types import ListInfo, WorldFunction

if TYPE_CHECKING:
    from composition.world.kb import KnowledgeBase

__all__ = ["commerce_functions"]

TICKER = param("ticker", "ticker", "string", "Stock ticker symbol.")
COMPANY = param("company", "company_name", "string", "Full company name.")
PRODUCT = param("product", "product_name", "string", "Full product name.")
STORE = param("store", "store_name", "string", "Name of the store.")
CITY = param("city", "city", "string", "Name of the city.")

PRODUCT_FIELDS = {
    f.param.key: f
    for f in (
        field("brand", "brand_name", "string", "Maker of the product.", "the brand that makes {x}"),
        field("category", "product_category", "string", "Kind of product.", "the product category of {x}"),
        field(
            "price_usd",
            "price_usd",
            "number",
            "List price in US dollars.",
            "the price of {x} in dollars",
            "what {x} costs in dollars",
        ),
        field(
            "rating",
            "rating_5",
            "number",
            "Average customer rating from 1 to 5.",
            "the customer rating of {x}",
        ),
        field("weight_kg", "kilograms", "number", "Shipping weight in kilograms.", "the weight of {x}"),
    )
}


def _inventory(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    products = kb.row("store", args.get("store"))["products"]
    return {
        "products": [
            {
                "product": p,
                "price_usd": kb.row("product", p)["price_usd"],
                "rating": kb.row("product", p)["rating"],
            }
            for p in products
        ]
    }


def _stores_in(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    kb.row("city", args.get("city"))
    return {
        "stores": [
            {"store": s, "rating": kb.row("store", s)["rating"]}
            for s in kb.where("store", "city", args["city"])
        ]
    }


def _shipping(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    weight = require_number(args, "weight_kg")
    km = kb.distance_km(args.get("origin_city"), args.get("destination_city"))  # type: ignore[arg-type]
    return {"cost_usd": round(4.5 + weight * 1.8 + km * 0.004, 2), "days": 1 + km // 900}


def _shopping() -> list[WorldFunction]:
    inventory = ListInfo(
        "product",
        "products",
        "sold at {store}",
        "product",
        {
            "price_usd": ("most expensive {item}", "cheapest {item}"),
            "rating": ("best-rated {item}", "worst-rated {item}"),
        },
    )
    stores = ListInfo(
        "store", "stores", "in {city}", "store", {"rating": ("best-rated {item}", "worst-rated {item}")}
    )
    origin = param("origin_city", "city", "string", "City the parcel leaves from.")
    destination = param("destination_city", "city", "string", "City the parcel goes to.")
    weight = param("weight_kg", "kilograms", "number", "Parcel weight in kilograms.", minimum=0)
    return [
        lookup(
            "get_product_details",
            "shopping",
            "Look up a product's brand, category, price, rating and weight.",
            "comparing products",
            "product",
            PRODUCT,
            list(PRODUCT_FIELDS.values()),
        ),
        lookup(
            "get_product_price",
            "shopping",
            "Get the list price of a product in US dollars.",
            "checking a product price",
            "product",
            PRODUCT,
            [PRODUCT_FIELDS["price_usd"]],
        ),
        lookup(
            "get_store_info",
            "shopping",
            "Look up a store's city, rating and opening hours.",
            "visiting a store",
            "store",
            STORE,
            [
                field("city", "city", "string", "City of the store.", "the city where {x} is located"),
                field(
                    "rating", "rating_5", "number", "Shopper rating from 1 to 5.", "the shopper rating of {x}"
                ),
                field("opening_hour", "hour", "integer", "Opening hour, 0-23.", "the opening hour of {x}"),
                field("closing_hour", "hour", "integer", "Closing hour, 0-23.", "the closing hour of {x}"),
            ],
        ),
        simple(
            "get_store_inventory",
            "shopping",
            "List the products a store sells with prices and ratings.",
            "shopping at a local store",
            [STORE],
            [
                lister(
                    "products",
                    "Products on sale.",
                    (
                        param("product", "product_name", "string", "Product name."),
                        param("price_usd", "price_usd", "number", "Price in US dollars."),
                        param("rating", "rating_5", "number", "Customer rating."),
                    ),
                    inventory,
                )
            ],
            _inventory,
            {"products": ["the products sold at {store}"]},
        ),
        simple(
            "find_stores",
            "shopping",
            "List the stores in a city with their ratings.",
            "finding a store nearby",
            [CITY],
            [
                lister(
                    "stores",
                    "Stores in the city.",
                    (
                        param("store", "store_name", "string", "Store name."),
                        param("rating", "rating_5", "number", "Shopper rating."),
                    ),
                    stores,
                )
            ],
            _stores_in,
            {"stores": ["the stores in {city}"]},
        ),
        lookup(
            "get_brand_info",
            "shopping",
            "Look up where a brand is based and when it was founded.",
            "researching a brand",
            "brand",
            param("brand", "brand_name", "string", "Brand name."),
            [
                field(
                    "headquarters_city",
                    "city",
                    "string",
                    "Head-office city.",
                    "the home city of the brand {x}",
                ),
                field(
                    "founded_year", "year", "integer", "Year founded.", "the year the brand {x} was founded"
                ),
            ],
        ),
        simple(
            "estimate_shipping",
            "shopping",
            "Estimate the cost and days to ship a parcel between two cities.",
            "sending a parcel",
            [weight, origin, destination],
            [
                param("cost_usd", "price_usd", "number", "Shipping cost in US dollars."),
                param("days", "days", "integer", "Delivery time in days."),
            ],
            _shipping,
            {
                "cost_usd": [
                    "the cost in dollars of shipping a parcel of {weight_kg} from {origin_city} to "
                    "{destination_city}"
                ],
                "days": [
                    "the delivery time in days for a parcel of {weight_kg} from {origin_city} "
                    "to {destination_city}"
                ],
            },
        ),
    ]


def commerce_functions() -> list[WorldFunction]:
    """The finance, shopping and food domains."""
    return [*finance_functions(), *_shopping(), *food_functions()]
