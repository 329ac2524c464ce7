"""Plain-Python helpers for reading OpenAI responses: usage, response facts,
error details, retry timing and secret redaction. No ORM in here."""

import email.utils
import hashlib
import json
import random
import re
import time

# A token count above this is not a real call: a broken proxy or a bad parse.
MAX_PLAUSIBLE_TOKENS = 100_000_000

SECRET_PATTERN = re.compile(r"\b(?:sk|rk|sess)-[A-Za-z0-9_\-]{8,}")
BEARER_PATTERN = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-\.=]{8,}")
REDACTED = "[redacted]"

USAGE_FIELDS = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "total_tokens",
)


class UsageError(ValueError):
    """The usage block of a response cannot be trusted."""


def redact_secrets(text, secrets=()):
    """Remove API keys from ``text``: the given secrets verbatim, then
    anything shaped like an OpenAI key or a bearer token."""
    if text is None:
        return text
    text = str(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    text = SECRET_PATTERN.sub(REDACTED, text)
    return BEARER_PATTERN.sub(r"\1" + REDACTED, text)


def to_payload(result):
    """Return the JSON body of ``result`` as a dict: a dict as is, a
    ``requests.Response`` parsed, an ``openai`` SDK object dumped.
    Return None when nothing usable can be read."""
    if result is None:
        return None
    if isinstance(result, dict):
        return result
    if hasattr(result, "model_dump"):  # openai SDK (pydantic) objects
        try:
            return result.model_dump(mode="json")
        except TypeError:
            return result.model_dump()
    if hasattr(result, "json") and hasattr(result, "status_code"):
        try:
            payload = result.json()
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None
    if hasattr(result, "to_dict"):
        return result.to_dict()
    return None


def _token_count(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"usage field {name} is not a number: {value!r}")
    if value != int(value) or value < 0 or value > MAX_PLAUSIBLE_TOKENS:
        raise UsageError(
            f"usage field {name} is not a plausible token count: {value!r}"
        )
    return int(value)


def extract_usage(payload):
    """Read token usage from any OpenAI response shape.

    Chat completions (``prompt_tokens`` ...), the Responses API
    (``input_tokens`` ...) and embeddings (``prompt_tokens`` only) are
    understood; a Responses API stream event carries it under ``response``.
    Return a dict with the keys of USAGE_FIELDS, or None when the response
    reports no usage. Raise UsageError when the numbers are impossible."""
    if not isinstance(payload, dict):
        return None
    usage = payload.get("usage")
    if usage is None and isinstance(payload.get("response"), dict):
        usage = payload["response"].get("usage")
    if not isinstance(usage, dict):
        return None
    if "input_tokens" in usage or "output_tokens" in usage:
        input_details = usage.get("input_tokens_details") or {}
        output_details = usage.get("output_tokens_details") or {}
        input_tokens = usage.get("input_tokens")
        output_tokens = usage.get("output_tokens")
    elif "prompt_tokens" in usage or "completion_tokens" in usage:
        input_details = usage.get("prompt_tokens_details") or {}
        output_details = usage.get("completion_tokens_details") or {}
        input_tokens = usage.get("prompt_tokens")
        output_tokens = usage.get("completion_tokens")
    else:
        return None
    values = {
        "input_tokens": _token_count(input_tokens, "input_tokens") or 0,
        "cached_input_tokens": _token_count(
            input_details.get("cached_tokens"), "cached_tokens"
        )
        or 0,
        "output_tokens": _token_count(output_tokens, "output_tokens") or 0,
        "reasoning_tokens": _token_count(
            output_details.get("reasoning_tokens"), "reasoning_tokens"
        )
        or 0,
    }
    total = _token_count(usage.get("total_tokens"), "total_tokens")
    values["total_tokens"] = (
        total if total is not None else values["input_tokens"] + values["output_tokens"]
    )
    if values["cached_input_tokens"] > values["input_tokens"]:
        raise UsageError("usage reports more cached tokens than input tokens")
    if values["reasoning_tokens"] > values["output_tokens"]:
        raise UsageError("usage reports more reasoning tokens than output tokens")
    return values


def checked_usage(usage):
    """A usage dict of USAGE_FIELDS (as extract_usage gives it), checked
    like a response's; raise UsageError when it is not believable."""
    if not isinstance(usage, dict) or set(usage) - set(USAGE_FIELDS):
        raise UsageError(f"usage must be a dict of {', '.join(USAGE_FIELDS)}")
    values = {name: _token_count(usage.get(name), name) or 0 for name in USAGE_FIELDS}
    if values["cached_input_tokens"] > values["input_tokens"]:
        raise UsageError("usage reports more cached tokens than input tokens")
    if values["reasoning_tokens"] > values["output_tokens"]:
        raise UsageError("usage reports more reasoning tokens than output tokens")
    if not usage.get("total_tokens"):
        values["total_tokens"] = values["input_tokens"] + values["output_tokens"]
    return values


def _output_text_length(payload):
    length = 0
    for choice in payload.get("choices") or ():
        message = choice.get("message") or choice.get("delta") or {}
        content = message.get("content")
        if isinstance(content, str):
            length += len(content)
        elif "text" in choice and isinstance(choice["text"], str):
            length += len(choice["text"])
    for item in payload.get("output") or ():
        for part in item.get("content") or () if isinstance(item, dict) else ():
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                length += len(part["text"])
    return length


def extract_response_info(payload):
    """Facts about a response other than usage, as log values."""
    if not isinstance(payload, dict):
        return {}
    if payload.get("object") != "response" and isinstance(
        payload.get("response"), dict
    ):
        payload = payload["response"]
    finish_reasons = [
        c.get("finish_reason")
        for c in payload.get("choices") or ()
        if c.get("finish_reason")
    ]
    finish_reason = finish_reasons[0] if finish_reasons else None
    if not finish_reason and payload.get("object") == "response":
        details = payload.get("incomplete_details") or {}
        finish_reason = details.get("reason") or payload.get("status")
    return {
        "response_id": payload.get("id") or False,
        "response_model": payload.get("model") or False,
        "system_fingerprint": payload.get("system_fingerprint") or False,
        "finish_reason": finish_reason or False,
        "response_length": _output_text_length(payload),
        "service_tier": payload.get("service_tier") or False,
    }


def extract_error(payload, http_status=None):
    """Return (error_code, message) from an OpenAI error body."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        code = error.get("code") or error.get("type")
        message = error.get("message") or ""
    elif isinstance(error, str):
        code, message = None, error
    else:
        code, message = None, ""
    if not code:
        code = f"http_{http_status}" if http_status else "api_error"
    return str(code), str(message)


def parse_retry_after(value, now=None):
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP
    date), or None when it is absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def backoff_delay(retry_number, base, cap, retry_after=None, rng=random):
    """Exponential backoff with full jitter; ``Retry-After`` wins when given."""
    if retry_after is not None:
        return retry_after
    return rng.uniform(0, min(cap, base * (2**retry_number)))


def request_fingerprint(*parts):
    """A stable digest of a request, for replay detection."""
    raw = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def compute_cost(usage, prices):
    """Cost of one call. ``prices`` holds per-1M-token prices: ``input``,
    ``cached_input``, ``output`` and optionally ``reasoning``.

    Cached tokens are part of the input tokens and are billed at the cached
    price only; reasoning tokens are part of the output tokens and billed at
    the reasoning price when one is set, else as output."""
    cached = usage.get("cached_input_tokens") or 0
    uncached = (usage.get("input_tokens") or 0) - cached
    reasoning = usage.get("reasoning_tokens") or 0
    output = usage.get("output_tokens") or 0
    cached_price = prices.get("cached_input") or prices["input"]
    reasoning_price = prices.get("reasoning") or prices["output"]
    total = (
        uncached * prices["input"]
        + cached * cached_price
        + (output - reasoning) * prices["output"]
        + reasoning * reasoning_price
    )
    return total / 1_000_000
