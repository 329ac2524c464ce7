"""Dated prices of every provider (OpenAI, Anthropic, Google, Azure,
Mistral...) from the maintained catalogue of the ``genai-prices`` package
(MIT, bundled data: works offline), as rows our price list can hold.
No Odoo in here.

Only what a row can price exactly is given: a model priced in the units of
ROW_PRICES, with a dated history where the catalogue has one. For OpenAI,
only models the catalogue names exactly (the catalogue's patterns there
cover families such as fine-tunes, priced apart). For the other providers,
whose catalogue names most models by a pattern (claude-sonnet-4-5 for every
claude-sonnet-4-5-<date>), a name the catalogue's own matching gives to one
model gets that model's rows, under that exact name. A model priced by any
other unit is left out, so that it stays *Missing Price* rather than being
billed at a wrong rate.
Long-context prices (a higher rate for every token once the input passes a
threshold) are rows of their own from that threshold. Service tiers (flex,
priority) and batch rates are rows of their tier, from the date the
catalogue knows them: before it, a call of that tier has no price rather
than the standard one."""

import copy
import datetime
import re
from decimal import Decimal

SNAPSHOT_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")  # gpt-4o-2024-08-06
# the first price of a model, for which the catalogue gives no start date
CATALOGUE_EPOCH = datetime.date(2020, 1, 1)
OPENAI = "openai"
# the catalogue's units and the ai.model.price values they are, with the
# factor from its unit to ours (per hour in the catalogue, per minute here)
ROW_PRICES = {
    "input_mtok": ("input", 1),
    "cache_read_mtok": ("cached_input", 1),
    "cache_write_mtok": ("cache_write", 1),
    "cache_write_1h_mtok": ("cache_write_1h", 1),
    "output_mtok": ("output", 1),
    "input_audio_mtok": ("audio_input", 1),
    "cache_audio_read_mtok": ("cached_audio_input", 1),
    "output_audio_mtok": ("audio_output", 1),
    "input_image_mtok": ("image_input", 1),
    "cache_image_read_mtok": ("cached_image_input", 1),
    "output_image_mtok": ("image_output", 1),
    "input_mchars": ("characters", 1),
    "audio_hours": ("audio_minute", Decimal(1) / 60),
    "input_audio_hours": ("audio_minute", Decimal(1) / 60),
}
ROW_VALUES = tuple(dict.fromkeys(value for value, _factor in ROW_PRICES.values()))
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


def undated(model_name):
    """The name of a dated snapshot without its date (gpt-4o-2024-08-06:
    gpt-4o); any other name as it is."""
    return SNAPSHOT_SUFFIX.sub("", model_name)


def _row_names(clause):
    """The names that need rows of their own: a dated snapshot priced as
    its undated name is priced by that name's row (our snapshot rule), and
    a row of its own would hide an administrator's edit of it."""
    names = _names(clause)
    return tuple(
        name for name in names if name == undated(name) or undated(name) not in names
    )


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
    """[(min_input_tokens, {value: price})] of a catalogue ModelPrice: one
    entry, or one more per long-context threshold; None when it holds a
    price a row cannot express."""
    flat, thresholds = {}, {0}
    for name, value in vars(model_price).items():
        if value is None or name in PER_USE_PRICES:
            continue
        if name not in ROW_PRICES:
            return None
        if type(value).__name__ == "TieredPrices":
            thresholds |= {tier.start for tier in value.tiers}
        elif not isinstance(value, Decimal | int | float):
            return None
        target, factor = ROW_PRICES[name]
        if target in flat and flat[target][0] != value:
            return None  # two units for one value of ours, at different prices
        flat[target] = (value, factor)
    if not flat:
        return None
    result = []
    for threshold in sorted(thresholds):
        values = dict.fromkeys(ROW_VALUES, 0.0)
        for target, (value, factor) in flat.items():
            if type(value).__name__ == "TieredPrices":
                # a cliff: past a tier's start, every token is at its price
                applicable = [t.price for t in value.tiers if t.start <= threshold]
                value = applicable[-1] if applicable else value.base
            values[target] = float(Decimal(value) * factor)
        result.append((threshold, values))
    return result


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


def providers():
    """The catalogue's providers as (id, name), by name: a selection's
    values. Without the package, only OpenAI (the default everywhere)."""
    try:
        from genai_prices import data_snapshot
    except ImportError:
        return [(OPENAI, "OpenAI")]
    catalogue = data_snapshot.get_snapshot().providers
    return sorted(
        ((provider.id, provider.name) for provider in catalogue),
        key=lambda choice: choice[1].lower(),
    )


_API_PATTERNS = []


def api_patterns():
    """(provider id, compiled pattern) of the catalogue's providers that
    name the address of their API (genai-prices' ``api_pattern``); what a
    captured request's URL is matched with. Read once."""
    if not _API_PATTERNS:
        try:
            from genai_prices import data_snapshot
        except ImportError:
            patterns = [(OPENAI, r"https://api\.openai\.com")]
        else:
            patterns = [
                (provider.id, provider.api_pattern)
                for provider in data_snapshot.get_snapshot().providers
                if getattr(provider, "api_pattern", None)
            ]
        _API_PATTERNS.extend((pid, re.compile(pattern)) for pid, pattern in patterns)
    return _API_PATTERNS


def api_provider(url):
    """The catalogue's provider whose API pattern ``url`` matches, or None."""
    for provider_id, pattern in api_patterns():
        if pattern.match(url):
            return provider_id
    return None


def _catalogue_provider(provider_id):
    try:
        from genai_prices import data_snapshot
    except ImportError:
        return None
    found = [p for p in data_snapshot.get_snapshot().providers if p.id == provider_id]
    return found[0] if found else None


def _model_rows(model, names):
    """The rows of one catalogue model, for each of ``names``."""
    dated = sorted(_dated_prices(model.prices), key=lambda item: item[0])
    if not dated:
        return []
    priced = [("standard", day, price) for day, price in dated]
    priced += _tier_prices(model, dated)
    converted = [(tier, day, _row_prices(price)) for tier, day, price in priced]
    if any(prices is None for _tier, _day, prices in converted):
        return []
    return [
        dict(
            prices,
            model_name=name,
            price_tier=tier,
            date_from=day,
            min_input_tokens=threshold,
            entry=model.id,
        )
        for name in names
        for tier, day, thresholds in converted
        for threshold, prices in thresholds
    ]


def rows(provider_id=OPENAI):
    """Every price row the catalogue gives for a provider's models named
    exactly: dicts of model_name, price_tier (standard, flex, priority,
    batch), date_from, min_input_tokens (0, or the long-context threshold
    the row is for), the values of ROW_VALUES (USD per 1M tokens or
    characters, per minute of audio), and ``entry``, the catalogue's model
    that names it (several names, such as dated snapshots, can be one
    model). Empty without the package or the provider."""
    provider = _catalogue_provider(provider_id)
    if provider is None:
        return []
    return [
        row
        for model in provider.models
        for row in _model_rows(model, _row_names(model.match))
    ]


def _matched_rows(model_name, provider_id):
    """The rows, under ``model_name``, of the one model the catalogue's own
    matching gives that name to (not for OpenAI: see the module's doc)."""
    provider = _catalogue_provider(provider_id)
    if provider is None or provider_id == OPENAI:
        return []
    for model in provider.models:
        if model.match.is_match(model_name):
            return _model_rows(model, (model_name,))
    return []


def rows_for(model_name, provider_id=OPENAI):
    """The catalogue rows of one exact model name of a provider; else, as
    the catalogue itself prices it, of the first of the provider's fallback
    providers that has it (Azure: OpenAI's gpt-4o...), each row naming that
    ``catalogue``."""
    found = _own_rows_for(model_name, provider_id)
    if found:
        return found
    provider = _catalogue_provider(provider_id)
    for fallback in getattr(provider, "fallback_model_providers", None) or ():
        found = _own_rows_for(model_name, fallback)
        if found:
            return [dict(row, catalogue=fallback) for row in found]
    return []


def _own_rows_for(model_name, provider_id):
    key = (version(), provider_id)
    if key not in _rows_by_name:
        index = _rows_by_name.setdefault(key, {})
        for row in rows(provider_id):
            index.setdefault(row["model_name"], []).append(row)
    found = _rows_by_name[key].get(model_name)
    if found is None:
        # a name the catalogue matches is kept; any other name a caller
        # sends is not, or the index would grow with every name tried
        found = _matched_rows(model_name, provider_id)
        if found:
            _rows_by_name[key][model_name] = found
    return list(found)


_rows_by_name = {}  # {(catalogue version, provider id): {model name: rows}}
