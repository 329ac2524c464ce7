"""Costs and counts as people read them, in messages (the web client has
the same rules for costs: static/src/cost/ai_cost_field.js)."""

import math

NBSP = "\u00a0"


def cost_digits(value):
    """Decimals of a cost: 2 from one unit up, else about 4 significant
    ones (0.01121, 0.00013), never more than the 8 stored."""
    size = abs(value or 0.0)
    if not size or size >= 1:
        return 2
    return min(8, max(2, 3 - math.floor(math.log10(size))))


def _localized(text, decimal_point, thousands_sep):
    return (
        text.replace(",", "\0").replace(".", decimal_point).replace("\0", thousands_sep)
    )


def format_cost(
    value, symbol=None, position="before", decimal_point=".", thousands_sep=","
):
    """``value`` with :func:`cost_digits` decimals (trailing zeros past the
    second dropped) and the currency symbol on its side."""
    digits = cost_digits(value)
    text = f"{value or 0.0:,.{digits}f}"
    if digits > 2:
        whole, decimals = text.split(".")
        text = f"{whole}.{decimals.rstrip('0').ljust(2, '0')}"
    text = _localized(text, decimal_point, thousands_sep)
    if not symbol:
        return text
    return f"{text}{NBSP}{symbol}" if position == "after" else f"{symbol}{NBSP}{text}"


def format_count(value, thousands_sep=","):
    """A whole number with its thousands grouped: 754,096."""
    return _localized(f"{int(value or 0):,}", ".", thousands_sep)
