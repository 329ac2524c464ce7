"""Keys out of every text a log, an error or an alert keeps: the service's
own secrets verbatim, and anything shaped like a provider's key or a bearer
token. No Odoo in here."""

import re

# OpenAI and Anthropic (sk-ant-...) keys, Google API keys (AIza...)
SECRET_PATTERN = re.compile(r"\b(?:(?:sk|rk|sess)-[A-Za-z0-9_\-]{8,}|AIza[\w\-]{20,})")
BEARER_PATTERN = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-\.=]{8,}")
# a key in a header or a query string (Azure's api-key, Anthropic's
# x-api-key, Gemini's x-goog-api-key or ?key=), whatever its format
KEY_FIELD_PATTERN = re.compile(
    r"(?i)((?:x-goog-api-key|x-api-key|api-key|api_key)[\"']?\s*[:=]\s*[\"']?"
    r"|[?&]key=)[^\s\"'&,]{6,}"
)
REDACTED = "[redacted]"


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
    text = KEY_FIELD_PATTERN.sub(r"\1" + REDACTED, text)
    return BEARER_PATTERN.sub(r"\1" + REDACTED, text)
