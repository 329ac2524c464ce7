"""Dated OpenAI prices from the maintained catalogue of the ``genai-prices``
package (MIT, bundled data: works offline), as rows our price list can hold.
No Odoo in here.

Only what a row can price exactly is given: a model whose prices are per
input, cached input and output token, named exactly (not by a pattern),
with a dated history where the catalogue has one. A model priced also by
another unit (audio, image or cache-write tokens, long-context tiers) is
left out, so that it stays *Missing Price* rather than being billed at a
text rate. Service tiers (flex, priority) and batch rates are rows of
their tier, from the date the catalogue knows them: before it, a call of
that tier has no price rather than the standard one."""

import copy
import datetime
from decimal import Decimal

# the first price of a model, for which the catalogue gives no start date
CATALOGUE_EPOCH = datetime.date(2020, 1, 1)
PROVIDER = "openai"
ROW_PRICES = {
    "input_mtok": "input",
    "cache_read_mtok": "cached_input",
    "output_mtok": "output",
}
# the catalogue's request contexts that are price tiers of ours
TIERS = {
    ("service_tier", "flex"): "flex",
    ("service_tier", "priority"): "priority",
    ("processing", "batch"): "batch",
}
# billed per tool use, not per token: a call that used no tool owes none
PER_USE_PRICES = frozenset({"web_searches_kcount", "storage_searches_kcount"})


def version():
    """The installed catalogue's version, or None without the package."""
    try:
        from genai_prices import __version__
    except ImportError:
        return None
    return __version__


def _names(clause):
    """The exact model names of a match clause; a pattern (prefix, regex)
    names none: dated snapshots are matched by our own rule."""
    kind = type(clause).__name__
    if kind == "ClauseEquals":
        return (clause.equals,)
    if kind == "ClauseOr":
        return tuple(name for part in clause.or_ for name in _names(part))
    return ()


def _row_prices(model_price):
    """{input, cached_input, output} of a catalogue ModelPrice, or None when
    it holds a price a row cannot express."""
    values = {}
    for name, value in vars(model_price).items():
        if value is None or name in PER_USE_PRICES:
            continue
        if name not in ROW_PRICES or not isinstance(value, Decimal | int | float):
            return None  # audio, image, cache-write or tiered (long-context) prices
        values[ROW_PRICES[name]] = float(value)
    if "input" not in values:
        return None
    values.setdefault("cached_input", 0.0)
    values.setdefault("output", 0.0)
    return values


def _dated_prices(prices):
    """[(date_from, ModelPrice)] of a model's catalogue prices."""
    if not isinstance(prices, list):
        return [(CATALOGUE_EPOCH, prices)]
    dated = []
    for conditional in prices:
        constraint = conditional.constraint
        if constraint is None:
            dated.append((CATALOGUE_EPOCH, conditional.prices))
        elif type(constraint).__name__ == "StartDateConstraint":
            dated.append((constraint.start_date, conditional.prices))
        else:
            return []  # a time-of-day price: not a dated list price
    return dated


def _tier_prices(model, dated):
    """[(tier, date_from, ModelPrice)] of a model's tier variants: the
    standard price in force at each date, with the variant's prices over it."""
    tiered = []
    for variant in model.price_variants or ():
        when = list(variant.when.items())
        tier = TIERS.get(when[0]) if len(when) == 1 else None
        if not tier:
            continue
        constraint = variant.constraint
        if (
            constraint is not None
            and type(constraint).__name__ != "StartDateConstraint"
        ):
            continue
        start = constraint.start_date if constraint is not None else CATALOGUE_EPOCH
        days = sorted({start} | {day for day, _price in dated if day > start})
        for day in days:
            standard = [price for since, price in dated if since <= day][-1]
            merged = copy.copy(standard)
            merged.__dict__.update(
                {
                    key: value
                    for key, value in vars(variant.prices).items()
                    if value is not None
                }
            )
            tiered.append((tier, day, merged))
    return tiered


def rows():
    """Every price row the catalogue gives for OpenAI: dicts of model_name,
    price_tier (standard, flex, priority, batch), date_from, input,
    cached_input and output (USD per 1M tokens), and ``entry``, the
    catalogue's model that names it (several names, such as dated
    snapshots, can be one model). Empty without the package."""
    try:
        from genai_prices import data_snapshot
    except ImportError:
        return []
    [provider] = [p for p in data_snapshot.get_snapshot().providers if p.id == PROVIDER]
    result = []
    for model in provider.models:
        dated = sorted(_dated_prices(model.prices), key=lambda item: item[0])
        if not dated:
            continue
        priced = [("standard", day, price) for day, price in dated]
        priced += _tier_prices(model, dated)
        converted = [(tier, day, _row_prices(price)) for tier, day, price in priced]
        if any(prices is None for _tier, _day, prices in converted):
            continue
        for name in _names(model.match):
            for tier, day, prices in converted:
                result.append(
                    dict(
                        prices,
                        model_name=name,
                        price_tier=tier,
                        date_from=day,
                        entry=model.id,
                    )
                )
    return result


def rows_for(model_name):
    """The catalogue rows of one exact model name."""
    key = version()
    if key not in _rows_by_name:
        _rows_by_name.clear()
        index = _rows_by_name.setdefault(key, {})
        for row in rows():
            index.setdefault(row["model_name"], []).append(row)
    return list(_rows_by_name[key].get(model_name, ()))


def same_model(name, other):
    """Whether the catalogue prices both names as one model."""
    rows, other_rows = rows_for(name), rows_for(other)
    return bool(rows and other_rows and rows[0]["entry"] == other_rows[0]["entry"])


_rows_by_name = {}  # {catalogue version: {model name: rows}}
