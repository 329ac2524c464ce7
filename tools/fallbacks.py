"""What a fallback between AI services decides, in plain Python (no Odoo):
which failures are outages that pass a call on to a backup service, which
backup can take a call's request shape, and the model a backup is asked
for."""

import re

from .providers import GEMINI_ENDPOINT, GEMINI_METHODS, NATIVE_DIALECT, OPENAI_DIALECT

# no answer at all: the service is down or unreachable (an SSL failure is a
# configuration's, which a backup would not mend)
OUTAGE_CODES = frozenset({"connection_error", "connect_timeout", "timeout"})
# a 429 that is a spending limit of the provider's account (OpenAI's quota),
# not throttling: going elsewhere would move spend around a limit set on purpose
QUOTA_CODES = frozenset({"insufficient_quota"})
MODEL_MAP_LINE = re.compile(
    r"^\s*(?P<requested>[^=\s][^=]*?)\s*=\s*(?P<backup>\S+)\s*$"
)


def is_outage(error_code, http_status):
    """Whether a failure, after the service's own retries, is an outage: an
    HTTP 5xx (529: Anthropic overloaded), a 429 the retries did not get past,
    or no answer (connection failure, connect or read timeout). Any other
    4xx is the request's or the key's, the same on every service."""
    if http_status:
        if http_status == 429:
            return error_code not in QUOTA_CODES
        return http_status >= 500
    return error_code in OUTAGE_CODES


def request_shape(provider, dialect):
    """The request shape of a call: ``openai``, or a provider's own (the
    native API of Anthropic and Gemini)."""
    if dialect == OPENAI_DIALECT or provider.native_is_openai:
        return OPENAI_DIALECT
    return provider.code


def backup_dialect(shape, backup_provider):
    """The dialect a backup takes a call of ``shape`` in, or None when it
    cannot take it (an OpenAI-shape call needs a backup with the OpenAI API;
    a native call, a backup of the same provider)."""
    if shape == OPENAI_DIALECT:
        return OPENAI_DIALECT if backup_provider.speaks_openai else None
    return NATIVE_DIALECT if backup_provider.code == shape else None


def parse_model_map(text):
    """{requested model: backup model} of lines ``requested = backup``;
    ValueError naming the first line that is not one."""
    mapping = {}
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = MODEL_MAP_LINE.match(line)
        if not match:
            raise ValueError(f"line {number}: {line.strip()!r}")
        mapping[match["requested"]] = match["backup"]
    return mapping


def backup_model(asked, model_map, line_model, named):
    """The model a backup is asked for: the map's for the model the first
    service was ``asked`` for, else the line's model, else the one the
    caller ``named`` (None: the backup's default model)."""
    if asked and asked in model_map:
        return model_map[asked]
    return line_model or named


def with_model(provider, dialect, endpoint, data, model):
    """(endpoint, data) of a request asking for ``model`` (None: as it is):
    in the body, or in a Gemini native endpoint's path."""
    if not model:
        return endpoint, data
    if dialect == NATIVE_DIALECT and provider.code == "gemini":
        match = GEMINI_ENDPOINT.match(endpoint.strip("/"))
        if match:
            return f"models/{model}:{match['method']}", data
        if endpoint.strip("/") in GEMINI_METHODS:
            return f"models/{model}:{endpoint.strip('/')}", data
        return endpoint, data
    return endpoint, dict(data or {}, model=model)
