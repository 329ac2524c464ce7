"""What differs between AI providers when a request is sent: its address,
its authentication, the answers worth retrying, where the model is named.
The answers themselves (usage, errors, streams) are read by their shape in
usage, http_client and streams, whichever provider sent them. No Odoo in here.

A request is sent in one of two dialects: ``openai``, the OpenAI request
shape (that every provider here but Anthropic also serves), or ``native``,
the provider's own API (the same as ``openai`` for OpenAI, Azure OpenAI and
OpenAI-compatible servers)."""

import re
from urllib.parse import quote

OPENAI_DIALECT, NATIVE_DIALECT = "openai", "native"
# what OpenAI's SDKs retry; each provider adds its own
OPENAI_RETRYABLE = frozenset({408, 409, 429, 500, 502, 503, 504})
# First path segment of the OpenAI API endpoints (and of compatible servers).
OPENAI_ENDPOINT_ROOTS = frozenset(
    {
        "assistants", "audio", "batches", "chat", "completions", "containers",
        "conversations", "embeddings", "evals", "files", "fine_tuning", "images",
        "models", "moderations", "realtime", "responses", "threads", "uploads",
        "vector_stores", "videos",
    }
)  # fmt: skip
# OpenAI endpoints whose body names the model; the service's default fills it in.
OPENAI_MODEL_ROOTS = ("chat", "responses", "embeddings", "completions", "moderations")
GEMINI_METHODS = frozenset(
    {
        "generateContent", "streamGenerateContent", "countTokens", "embedContent",
        "batchEmbedContents",
    }
)  # fmt: skip
GEMINI_ENDPOINT = re.compile(r"^models/(?P<model>[A-Za-z0-9_\-\.]+):(?P<method>\w+)$")


class Provider:
    """OpenAI, and the base of the others."""

    code = "openai"
    label = "OpenAI"
    default_base_url = "https://api.openai.com/v1"
    # what a new service of the provider proposes (a model the catalogue prices)
    default_model = "gpt-4o-mini"
    # the price catalogue's (genai-prices) provider that prices its models
    catalogue_id = "openai"
    speaks_openai = True
    # its own API is the OpenAI request shape
    native_is_openai = True
    retryable_statuses = OPENAI_RETRYABLE
    default_api_version = False

    def headers(self, api_key, dialect, api_version=None):
        return {"Authorization": f"Bearer {api_key or ''}"}

    def url(self, base_url, endpoint, dialect, model=None, api_version=None):
        return f"{base_url.rstrip('/')}/{endpoint}"

    def endpoint_error(self, endpoint, dialect):
        """Why ``endpoint`` is not one of this provider's, or None."""
        if endpoint.split("/")[0] not in OPENAI_ENDPOINT_ROOTS:
            return "unknown"
        return None

    def prepare(self, endpoint, body, dialect, default_model):
        """(endpoint, body) with the service's default model filled in."""
        if body is not None and endpoint.split("/")[0] in OPENAI_MODEL_ROOTS:
            body.setdefault("model", default_model)
        return endpoint, body

    def request_model(self, endpoint, body, dialect):
        return (body or {}).get("model")

    def streaming(self, endpoint, body, dialect):
        """(endpoint, body) of the streaming form of a request."""
        body = dict(body, stream=True)
        if dialect == OPENAI_DIALECT and endpoint.startswith("chat/completions"):
            # so that the last chunk carries the usage
            body["stream_options"] = dict(
                body.get("stream_options") or {}, include_usage=True
            )
        return endpoint, body

    def endpoint_of(self, path, base_path):
        """The endpoint of a URL path an SDK client requested."""
        return path.removeprefix(base_path).strip("/")

    def sdk_base_url(self, base_url, api_version=None):
        """The base URL an openai SDK client of this provider is given."""
        return base_url

    def chat_request(self, model, messages):
        """(dialect, endpoint, body) asking ``model`` to answer ``messages``
        (chat completions messages, with image_url and file parts)."""
        return (
            OPENAI_DIALECT,
            "chat/completions",
            {"model": model, "messages": messages},
        )

    def answer_text(self, payload):
        choices = payload.get("choices") or [{}]
        return ((choices[0].get("message") or {}).get("content") or "").strip()


class OpenAICompatible(Provider):
    """Any server with the OpenAI API (Mistral, Groq, OpenRouter, vLLM,
    Ollama...): its base URL and key; prices from the catalogue provider
    the administrator names."""

    code = "openai_compatible"
    label = "OpenAI-compatible"
    catalogue_id = False


class AzureOpenAI(Provider):
    """Azure OpenAI: an ``api-key`` header; with an API version, the
    deployment's path (the model of a request names the deployment), else
    the v1 API of the resource."""

    code = "azure"
    label = "Azure OpenAI"
    default_base_url = False  # https://<resource>.openai.azure.com
    catalogue_id = "azure"
    default_api_version = "2024-10-21"
    DEPLOYMENT_ROOTS = ("chat", "completions", "embeddings", "audio", "images")

    def headers(self, api_key, dialect, api_version=None):
        return {"api-key": api_key or ""}

    def url(self, base_url, endpoint, dialect, model=None, api_version=None):
        base = base_url.rstrip("/").removesuffix("/openai/v1").removesuffix("/openai")
        if not api_version:
            return f"{base}/openai/v1/{endpoint}"
        if endpoint.split("/")[0] in self.DEPLOYMENT_ROOTS and model:
            path = f"openai/deployments/{quote(model, safe='')}/{endpoint}"
        else:
            path = f"openai/{endpoint}"
        return f"{base}/{path}?api-version={quote(api_version, safe='')}"

    def sdk_base_url(self, base_url, api_version=None):
        base = base_url.rstrip("/").removesuffix("/openai/v1").removesuffix("/openai")
        return base if api_version else f"{base}/openai/v1"  # AzureOpenAI: the resource

    def endpoint_of(self, path, base_path):
        path = path.removeprefix(base_path).strip("/").removeprefix("openai/")
        if path.startswith("deployments/"):
            path = path.split("/", 2)[2] if path.count("/") >= 2 else ""
        return path.removeprefix("v1/")


class Anthropic(Provider):
    """Anthropic's Messages API: ``x-api-key`` and ``anthropic-version``
    headers; 529 (overloaded) is retried. Anthropic's OpenAI compatibility
    layer is, in its own words, not for production: native calls only."""

    code = "anthropic"
    label = "Anthropic"
    default_base_url = "https://api.anthropic.com/v1"
    default_model = "claude-haiku-4-5"
    catalogue_id = "anthropic"
    speaks_openai = False
    native_is_openai = False
    retryable_statuses = OPENAI_RETRYABLE | {529}
    default_api_version = "2023-06-01"
    ENDPOINT_ROOTS = frozenset({"messages", "models"})

    def headers(self, api_key, dialect, api_version=None):
        return {
            "x-api-key": api_key or "",
            "anthropic-version": api_version or self.default_api_version,
        }

    def endpoint_error(self, endpoint, dialect):
        if endpoint.split("/")[0] not in self.ENDPOINT_ROOTS:
            return "unknown"
        return None

    def prepare(self, endpoint, body, dialect, default_model):
        if body is not None and endpoint in ("messages", "messages/count_tokens"):
            body.setdefault("model", default_model)
        return endpoint, body

    ANSWER_TOKENS = 4096  # Anthropic requires a cap; a summary or a description fits

    def chat_request(self, model, messages):
        system = [m["content"] for m in messages if m.get("role") == "system"]
        body = {
            "model": model,
            "max_tokens": self.ANSWER_TOKENS,
            "messages": [
                {"role": m["role"], "content": _anthropic_content(m["content"])}
                for m in messages
                if m.get("role") != "system"
            ],
        }
        if system:
            body["system"] = "\n\n".join(system)
        return NATIVE_DIALECT, "messages", body

    def answer_text(self, payload):
        return "".join(
            block.get("text") or ""
            for block in payload.get("content") or ()
            if isinstance(block, dict) and block.get("type") == "text"
        ).strip()


def _anthropic_content(content):
    """Chat completions content as Anthropic's content blocks."""
    if isinstance(content, str):
        return content
    return [_anthropic_block(part) for part in content]


def _anthropic_block(part):
    if part.get("type") == "image_url":
        url = part["image_url"]["url"]
        if url.startswith("data:"):
            media_type, _sep, data = url[5:].partition(";base64,")
            source = {"type": "base64", "media_type": media_type, "data": data}
        else:
            source = {"type": "url", "url": url}
        return {"type": "image", "source": source}
    if part.get("type") == "file":
        media_type, _sep, data = part["file"]["file_data"][5:].partition(";base64,")
        return {
            "type": "document",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    return part


class Gemini(Provider):
    """Google's Gemini API (``x-goog-api-key``), natively as
    ``models/<model>:generateContent`` (or just ``generateContent`` for the
    service's default model), or in the OpenAI shape through its
    OpenAI-compatible endpoint (``<base>/openai/``, a bearer key)."""

    code = "gemini"
    label = "Google Gemini"
    default_base_url = "https://generativelanguage.googleapis.com/v1beta"
    default_model = "gemini-2.5-flash"
    catalogue_id = "google"
    native_is_openai = False
    retryable_statuses = frozenset({408, 429, 500, 502, 503, 504})

    def headers(self, api_key, dialect, api_version=None):
        if dialect == OPENAI_DIALECT:
            return super().headers(api_key, dialect)
        return {"x-goog-api-key": api_key or ""}

    def url(self, base_url, endpoint, dialect, model=None, api_version=None):
        base = base_url.rstrip("/")
        if dialect == OPENAI_DIALECT:
            return f"{base}/openai/{endpoint}"
        url = f"{base}/{endpoint}"
        if endpoint.endswith(":streamGenerateContent"):
            url += "?alt=sse"  # server-sent events, not one JSON array
        return url

    def endpoint_error(self, endpoint, dialect):
        if dialect == OPENAI_DIALECT:
            return super().endpoint_error(endpoint, dialect)
        if endpoint == "models" or endpoint in GEMINI_METHODS:
            return None
        match = GEMINI_ENDPOINT.match(endpoint)
        if match and match["method"] in GEMINI_METHODS:
            return None
        if re.match(r"^models/[A-Za-z0-9_\-\.]+$", endpoint):
            return None
        return "unknown"

    def prepare(self, endpoint, body, dialect, default_model):
        if dialect == OPENAI_DIALECT:
            return super().prepare(endpoint, body, dialect, default_model)
        if endpoint in GEMINI_METHODS:
            endpoint = f"models/{default_model}:{endpoint}"
        return endpoint, body

    def request_model(self, endpoint, body, dialect):
        if dialect == OPENAI_DIALECT:
            return super().request_model(endpoint, body, dialect)
        match = GEMINI_ENDPOINT.match(endpoint)
        return match["model"] if match else None

    def streaming(self, endpoint, body, dialect):
        if dialect == OPENAI_DIALECT:
            return super().streaming(endpoint, body, dialect)
        return endpoint.replace(":generateContent", ":streamGenerateContent"), body

    def sdk_base_url(self, base_url, api_version=None):
        return f"{base_url.rstrip('/')}/openai"


PROVIDERS = {
    provider.code: provider
    for provider in (
        Provider(),
        AzureOpenAI(),
        Anthropic(),
        Gemini(),
        OpenAICompatible(),
    )
}
SELECTION = [(code, provider.label) for code, provider in PROVIDERS.items()]


def get(code):
    """The provider of a code (an ai.service's ``provider``)."""
    return PROVIDERS[code or "openai"]
