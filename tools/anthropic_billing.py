"""Anthropic's own figures of an organization: its Usage and Cost API
(``organizations/usage_report/messages`` and ``organizations/cost_report``,
read with an Admin API key), page by page, into the rows the reconciliation
compares with the logs, in the shapes of tools.openai_billing. No Odoo in
here: ``get_json(endpoint)`` sends one GET (with retries) and returns the
JSON body.

A bucket is ``{starting_at, ending_at, results}`` (RFC 3339); a usage
result counts ``uncached_input_tokens``, ``cache_read_input_tokens``,
``cache_creation.ephemeral_5m_input_tokens`` / ``ephemeral_1h_input_tokens``
and ``output_tokens`` (no request count); a cost result's ``amount`` is a
decimal string in cents of its ``currency`` ("123.45" USD is $1.2345)."""

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from .openai_billing import BillingError, pages

USAGE_ENDPOINT = "organizations/usage_report/messages"
COST_ENDPOINT = "organizations/cost_report"
PAGE_LIMIT = 31  # daily buckets: the API's maximum a page
MODELS = "models"  # a day's cost by model, next to its amount by currency


def _rfc3339(timestamp):
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def buckets(get_json, endpoint, start, end, params):
    """Every daily bucket of ``endpoint`` from ``start`` to ``end`` (Unix
    seconds)."""

    def url_of(page):
        query = [
            ("starting_at", _rfc3339(start)),
            ("ending_at", _rfc3339(end)),
            ("bucket_width", "1d"),
            ("limit", PAGE_LIMIT),
            *params,
        ]
        if page:
            query.append(("page", page))
        return f"{endpoint}?{urlencode(query)}"

    return pages(get_json, endpoint, url_of)


def _day(bucket):
    try:
        return datetime.fromisoformat(bucket["starting_at"]).astimezone(UTC).date()
    except (KeyError, TypeError, ValueError):
        raise BillingError("a bucket has no starting_at date") from None


def _count(value):
    return value if isinstance(value, int) and value > 0 else 0


def usage_rows(get_json, start, end, workspace_id=None):
    """{(day, model): {input_tokens, cached_tokens, cache_write_tokens,
    cache_write_1h_tokens, output_tokens, web_search_requests, tiers}}, the
    input tokens counted as the logs count Anthropic's (uncached, read and
    written alike), ``tiers`` holding the same counts by price tier."""
    params = [("group_by[]", "model"), ("group_by[]", "service_tier")]
    if workspace_id:
        params.append(("workspace_ids[]", workspace_id))
    rows = {}
    for bucket in buckets(get_json, USAGE_ENDPOINT, start, end, params):
        day = _day(bucket)
        for result in bucket.get("results") or ():
            creation = result.get("cache_creation") or {}
            long_writes = _count(creation.get("ephemeral_1h_input_tokens"))
            writes = _count(creation.get("ephemeral_5m_input_tokens")) + long_writes
            read = _count(result.get("cache_read_input_tokens"))
            counts = {
                "input_tokens": _count(result.get("uncached_input_tokens"))
                + read
                + writes,
                "cached_tokens": read,
                "cache_write_tokens": writes,
                "cache_write_1h_tokens": long_writes,
                "output_tokens": _count(result.get("output_tokens")),
                "web_search_requests": _count(
                    (result.get("server_tool_use") or {}).get("web_search_requests")
                ),
            }
            row = rows.setdefault((day, result.get("model") or ""), {"tiers": {}})
            # Anthropic's service tiers are named as the price list's tiers
            tier = result.get("service_tier") or "standard"
            tier_counts = row["tiers"].setdefault(tier, {})
            for name, value in counts.items():
                row[name] = row.get(name, 0) + value
                tier_counts[name] = tier_counts.get(name, 0) + value
    return rows


def cost_rows(get_json, start, end, workspace_id=None):
    """{day: {currency: amount, "models": {model: USD amount}}} of the cost
    report, amounts in units (the report's cents / 100), grouped by
    description so that each token cost names its model (web searches and
    other costs name none: in the day's amount only). The report filters no
    workspace: grouped by workspace too, only the given one's are summed."""
    params = [("group_by[]", "description")]
    if workspace_id:
        params.append(("group_by[]", "workspace_id"))
    rows = {}
    for bucket in buckets(get_json, COST_ENDPOINT, start, end, params):
        day = _day(bucket)
        for result in bucket.get("results") or ():
            if workspace_id and result.get("workspace_id") != workspace_id:
                continue
            try:
                cents = Decimal(str(result.get("amount") or "0"))
            except InvalidOperation:
                raise BillingError(
                    f"a cost of {day} is not a number: {result.get('amount')!r}"
                ) from None
            currency = (result.get("currency") or "USD").upper()
            amounts = rows.setdefault(day, {MODELS: {}})
            amounts[currency] = amounts.get(currency, 0) + cents
            if result.get("model") and currency == "USD":
                models = amounts[MODELS]
                models[result["model"]] = models.get(result["model"], 0) + cents
    # summed exactly in cents, then in units
    return {
        day: {
            key: (
                {model: float(c / 100) for model, c in value.items()}
                if key == MODELS
                else float(value / 100)
            )
            for key, value in amounts.items()
        }
        for day, amounts in rows.items()
    }
