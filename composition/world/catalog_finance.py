"""Functions for finance: stock quotes, company profiles, sectors and currency exchange."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from composition.world import words as w
from composition.world.catalog_base import field, lister, lookup, param, require_number, simple
from composition.world.types import ListInfo, ToolExecutionError, WorldFunction

if TYPE_CHECKING:
    from composition.world.kb import KnowledgeBase

__all__ = ["finance_functions"]

TICKER = param("ticker", "ticker", "string", "Stock ticker symbol.")
COMPANY = param("company", "company_name", "string", "Full company name.")
COMPANY_FIELDS = {
    f.param.key: f
    for f in (
        field("ticker", "ticker", "string", "Stock ticker symbol.", "the ticker symbol of {x}"),
        field("sector", "sector", "string", "Industry sector.", "the industry sector of {x}"),
        field(
            "ceo", "person_name", "string", "Chief executive.", "the chief executive of {x}", "the CEO of {x}"
        ),
        field(
            "headquarters_city", "city", "string", "Head-office city.", "the city where {x} is headquartered"
        ),
        field("founded_year", "year", "integer", "Year founded.", "the year {x} was founded"),
        field(
            "employees", "count", "integer", "Number of employees.", "the number of people employed by {x}"
        ),
    )
}


def _rate(kb: KnowledgeBase, code: Any) -> float:
    return float(kb.row("currency", code)["usd_per_unit"])


def _exchange(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    return {"rate": round(_rate(kb, args.get("from_currency")) / _rate(kb, args.get("to_currency")), 4)}


def _convert(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    amount = require_number(args, "amount_usd")
    if amount < 0:
        raise ToolExecutionError(f"Argument 'amount_usd' must not be negative, got {amount!r}.")
    return {"converted_amount": round(amount / _rate(kb, args.get("to_currency")), 2)}


def _sector(kb: KnowledgeBase, args: dict[str, Any]) -> dict[str, Any]:
    rows = [(c, kb.row("company", c)) for c in kb.where("company", "sector", args.get("sector"))]
    return {
        "companies": [
            {
                "company": c,
                "market_cap_billion_usd": kb.row("stock", r["ticker"])["market_cap_billion_usd"],
                "employees": r["employees"],
            }
            for c, r in rows[:10]
        ]
    }


def finance_functions() -> list[WorldFunction]:
    """The finance domain."""
    currency = tuple(w.CURRENCIES)
    src = param("from_currency", "currency_code", "string", "ISO code to convert from.", enum=currency)
    dst = param("to_currency", "currency_code", "string", "ISO code to convert to.", enum=currency)
    amount = param("amount_usd", "price_usd", "number", "Amount in US dollars.", minimum=0)
    sector = param("sector", "sector", "string", "Industry sector.", enum=tuple(w.SECTORS))
    companies = ListInfo(
        "company",
        "companies",
        "operating in {sector}",
        "company",
        {
            "market_cap_billion_usd": ("most valuable {item}", "least valuable {item}"),
            "employees": ("largest {item} by staff", "smallest {item} by staff"),
        },
    )
    cap = field(
        "market_cap_billion_usd",
        "money_billion_usd",
        "number",
        "Market value in billions of US dollars.",
        "the market value of {x} in billions of dollars",
    )
    return [
        lookup(
            "get_stock_quote",
            "finance",
            "Get the latest share price and daily change of a stock.",
            "checking stock prices",
            "stock",
            TICKER,
            [
                field(
                    "company",
                    "company_name",
                    "string",
                    "Company behind the ticker.",
                    "the company trading as {x}",
                ),
                field(
                    "price_usd",
                    "price_usd",
                    "number",
                    "Share price in US dollars.",
                    "the share price of {x} in dollars",
                ),
                field(
                    "change_percent",
                    "percent",
                    "number",
                    "Change since the last close in percent.",
                    "today's price change of {x} in percent",
                ),
            ],
        ),
        lookup(
            "get_market_cap",
            "finance",
            "Get the market capitalization of a listed company by ticker.",
            "comparing company valuations",
            "stock",
            TICKER,
            [cap],
        ),
        lookup(
            "get_company_profile",
            "finance",
            "Look up a company's ticker, sector, CEO, head office, founding year and headcount.",
            "researching a company",
            "company",
            COMPANY,
            list(COMPANY_FIELDS.values()),
        ),
        lookup(
            "get_company_ticker",
            "finance",
            "Find the stock ticker of a company.",
            "looking up a stock symbol",
            "company",
            COMPANY,
            [COMPANY_FIELDS["ticker"]],
        ),
        lookup(
            "get_company_ceo",
            "finance",
            "Find who runs a company.",
            "finding company leadership",
            "company",
            COMPANY,
            [COMPANY_FIELDS["ceo"]],
        ),
        simple(
            "list_companies_in_sector",
            "finance",
            "List listed companies of a sector with market values.",
            "screening stocks by industry",
            [sector],
            [
                lister(
                    "companies",
                    "Companies in the sector.",
                    (
                        param("company", "company_name", "string", "Company name."),
                        param(
                            "market_cap_billion_usd",
                            "money_billion_usd",
                            "number",
                            "Market value in billions.",
                        ),
                        param("employees", "count", "integer", "Headcount."),
                    ),
                    companies,
                )
            ],
            _sector,
            {"companies": ["the listed companies operating in {sector}"]},
        ),
        simple(
            "get_exchange_rate",
            "finance",
            "Get how many units of one currency one unit of another buys.",
            "exchanging money",
            [src, dst],
            [
                param(
                    "rate",
                    "exchange_rate",
                    "number",
                    "Units of the target currency per unit of the source currency.",
                )
            ],
            _exchange,
            {"rate": ["the exchange rate from {from_currency} to {to_currency}"]},
        ),
        simple(
            "convert_from_usd",
            "finance",
            "Convert an amount of US dollars into another currency.",
            "converting money for a trip",
            [amount, dst],
            [param("converted_amount", "money_foreign", "number", "Amount in the target currency.")],
            _convert,
            {"converted_amount": ["{amount_usd} converted into {to_currency}"]},
        ),
    ]
