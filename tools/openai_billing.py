"""OpenAI's own figures of an organization: the Costs API
(/organization/costs) and the Usage API (/organization/usage/completions,
/organization/usage/embeddings), read page by page into rows per day,
project and model. Shapes: UsageResponse, UsageTimeBucket,
UsageCompletionsResult, UsageEmbeddingsResult and CostsResult of the OpenAPI
specification. No Odoo in here: ``get_json(endpoint)`` sends one GET (with
retries) and returns the JSON body."""

from datetime import UTC, datetime
from urllib.parse import urlencode

DAY = 86_400
# what one page may hold (the API's maxima for daily buckets)
PAGE_LIMITS = {"organization/costs": 180, "organization/usage/completions": 31}
# each usage endpoint and how it is grouped (embeddings have no batch)
USAGE_ENDPOINTS = {
    "organization/usage/completions": ["model", "batch"],
    "organization/usage/embeddings": ["model"],
}
MAX_PAGES = 1000  # a cursor that never ends is a broken API, not a long history


class BillingError(ValueError):
    """OpenAI answered something that is not a usage page."""


def _query(endpoint, start, end, group_by, page, project_id):
    params = [
        ("start_time", int(start)),
        ("end_time", int(end)),
        ("bucket_width", "1d"),
        ("limit", PAGE_LIMITS.get(endpoint, 31)),
    ]
    params += [("group_by", field) for field in group_by]
    if project_id:
        params.append(("project_ids", project_id))
    if page:
        params.append(("page", page))
    return f"{endpoint}?{urlencode(params)}"


def buckets(get_json, endpoint, start, end, group_by, project_id=None):
    """Every time bucket of ``endpoint`` from ``start`` to ``end`` (Unix
    seconds)."""
    return pages(
        get_json,
        endpoint,
        lambda page: _query(endpoint, start, end, group_by, page, project_id),
    )


def pages(get_json, endpoint, url_of):
    """Every item of the pages ``url_of(cursor)`` (None: the first) answers,
    following ``next_page`` while ``has_more``: OpenAI's and Anthropic's
    organization reports page alike."""
    page = None
    for _number in range(MAX_PAGES):
        answer = get_json(url_of(page))
        if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
            raise BillingError(f"{endpoint} did not answer with a page of buckets")
        yield from answer["data"]
        page = answer.get("next_page")
        if not answer.get("has_more") or not page:
            return
    raise BillingError(f"{endpoint} kept answering more pages")


def _day(bucket):
    return datetime.fromtimestamp(bucket["start_time"], UTC).date()


def usage_rows(get_json, start, end, project_id=None):
    """{(day, model): {requests, input_tokens, cached_tokens, output_tokens,
    tiers}} of the completions and embeddings usage, summed over projects;
    ``tiers`` holds the same counts by price tier (batch or standard)."""
    rows = {}
    for endpoint, group_by in USAGE_ENDPOINTS.items():
        for bucket in buckets(get_json, endpoint, start, end, group_by, project_id):
            day = _day(bucket)
            for result in bucket.get("results") or ():
                counts = {
                    "requests": result.get("num_model_requests") or 0,
                    "input_tokens": result.get("input_tokens") or 0,
                    "cached_tokens": result.get("input_cached_tokens") or 0,
                    "output_tokens": result.get("output_tokens") or 0,
                }
                row = rows.setdefault((day, result.get("model") or ""), {"tiers": {}})
                tier = "batch" if result.get("batch") else "standard"
                tier_counts = row["tiers"].setdefault(tier, {})
                for name, value in counts.items():
                    row[name] = row.get(name, 0) + value
                    tier_counts[name] = tier_counts.get(name, 0) + value
    return rows


def cost_rows(get_json, start, end, project_id=None):
    """{day: {currency: amount}} of the Costs API."""
    rows = {}
    for bucket in buckets(get_json, "organization/costs", start, end, [], project_id):
        day = _day(bucket)
        for result in bucket.get("results") or ():
            amount = result.get("amount") or {}
            currency = (amount.get("currency") or "usd").upper()
            per_currency = rows.setdefault(day, {})
            per_currency[currency] = per_currency.get(currency, 0.0) + float(
                amount.get("value") or 0.0
            )
    return rows
