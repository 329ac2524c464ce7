"""OpenTelemetry export of finished calls, following the GenAI semantic
conventions: one CLIENT span per call (``gen_ai.*`` attributes, its error
type) and the ``gen_ai.client.token.usage`` and
``gen_ai.client.operation.duration`` histograms. No Odoo in here.

Spans and metrics leave in the SDK's background threads (a batch span
processor, a periodic metric reader): ``export`` only queues, so a slow or
dead collector never delays a call. Neither the API key nor the prompt is
ever exported: a call's log holds neither, and only its log is exported."""

import threading
from urllib.parse import urlsplit

# gen_ai.provider.name of our providers (and of catalogue ids of
# OpenAI-compatible servers the conventions name)
PROVIDER_NAMES = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
    "mistral": "mistral_ai",
    "groq": "groq",
    "deepseek": "deepseek",
    "x-ai": "x_ai",
    "perplexity": "perplexity",
}
METRIC_INTERVAL_MS = 60_000


def operation_name(endpoint):
    """gen_ai.operation.name of an endpoint."""
    endpoint = endpoint or ""
    if endpoint.startswith(("chat/", "responses", "messages")):
        return "chat"
    if endpoint.startswith("embeddings") or endpoint.endswith(
        (":embedContent", ":batchEmbedContents")
    ):
        return "embeddings"
    if endpoint.startswith("completions"):
        return "text_completion"
    if endpoint.endswith(("generateContent", "GenerateContent")):
        return "generate_content"
    return endpoint.split("/")[0] or "unknown"


def call_attributes(call):
    """Span attributes of a finished call (its log values, with the
    service's ``provider``, ``price_provider`` and ``api_base_url``)."""
    provider = call.get("provider") or "openai"
    if provider == "openai_compatible":
        provider = call.get("price_provider") or provider
    provider = PROVIDER_NAMES.get(provider, provider)
    attributes = {
        "gen_ai.operation.name": operation_name(call.get("endpoint")),
        "gen_ai.provider.name": provider,
        "gen_ai.system": provider,  # the name of earlier conventions
        "gen_ai.request.model": call.get("model") or "",
        "gen_ai.response.model": call.get("response_model") or "",
        "gen_ai.response.id": call.get("response_id") or "",
        "ai_usage.log_id": call.get("id") or 0,
        "ai_usage.request_type": call.get("request_type") or "other",
        "ai_usage.status": call.get("status") or "",
    }
    if call.get("finish_reason"):
        attributes["gen_ai.response.finish_reasons"] = [call["finish_reason"]]
    if call.get("usage_state") in ("reported", "partial"):
        attributes["gen_ai.usage.input_tokens"] = call.get("input_tokens") or 0
        attributes["gen_ai.usage.output_tokens"] = call.get("output_tokens") or 0
    if call.get("cost") is not None and not call.get("price_missing"):
        attributes["ai_usage.cost"] = float(call["cost"])
    if call.get("status") != "success":
        attributes["error.type"] = call.get("error_code") or "error"
    host = urlsplit(call.get("api_base_url") or "").hostname
    if host:
        attributes["server.address"] = host
    return attributes


class CallExporter:
    """A tracer and two histograms over the given span exporter and metric
    reader (the OTLP ones from ``otlp``; in-memory ones in tests)."""

    def __init__(self, span_exporter, metric_reader, service_name="odoo"):
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        resource = Resource.create({"service.name": service_name})
        self.tracer_provider = TracerProvider(resource=resource)
        self.tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
        self.meter_provider = MeterProvider(
            resource=resource, metric_readers=[metric_reader]
        )
        self.tracer = self.tracer_provider.get_tracer("ai_usage_log")
        meter = self.meter_provider.get_meter("ai_usage_log")
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used.",
        )
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration.",
        )

    @classmethod
    def otlp(cls, endpoint, headers=None, timeout=5.0):
        """Export over OTLP/HTTP to a collector (``endpoint``: its base
        URL, such as http://collector:4318)."""
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
            OTLPMetricExporter,
        )
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        base = endpoint.rstrip("/")
        return cls(
            OTLPSpanExporter(
                endpoint=f"{base}/v1/traces", headers=headers, timeout=timeout
            ),
            PeriodicExportingMetricReader(
                OTLPMetricExporter(
                    endpoint=f"{base}/v1/metrics", headers=headers, timeout=timeout
                ),
                export_interval_millis=METRIC_INTERVAL_MS,
            ),
        )

    def export(self, call, start_ns, end_ns):
        """Queue the span and the measurements of one finished call."""
        from opentelemetry.trace import SpanKind, Status, StatusCode

        attributes = call_attributes(call)
        operation = attributes["gen_ai.operation.name"]
        span = self.tracer.start_span(
            f"{operation} {attributes['gen_ai.request.model']}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=start_ns,
        )
        if "error.type" in attributes:
            span.set_status(Status(StatusCode.ERROR, attributes["error.type"]))
        span.end(end_time=max(end_ns, start_ns))
        metric_attributes = {
            key: attributes[key]
            for key in (
                "gen_ai.operation.name",
                "gen_ai.provider.name",
                "gen_ai.request.model",
                "gen_ai.response.model",
                "server.address",
                "error.type",
            )
            if key in attributes
        }
        self.duration.record((end_ns - start_ns) / 1e9, metric_attributes)
        if "gen_ai.usage.input_tokens" in attributes:
            for kind in ("input", "output"):
                self.token_usage.record(
                    attributes[f"gen_ai.usage.{kind}_tokens"],
                    dict(metric_attributes, **{"gen_ai.token.type": kind}),
                )

    def flush(self, timeout_ms=5000):
        self.tracer_provider.force_flush(timeout_ms)
        self.meter_provider.force_flush(timeout_ms)

    def shutdown(self):
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def parse_headers(text):
    """OTLP headers as OTEL_EXPORTER_OTLP_HEADERS writes them: k=v,k2=v2."""
    headers = {}
    for item in (text or "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            headers[key.strip()] = value.strip()
    return headers


_exporters = {}  # (endpoint, headers): CallExporter of this process
_lock = threading.Lock()


def exporter_for(endpoint, headers_text=""):
    """The process's exporter to ``endpoint``, made on first use (after a
    prefork worker forked); None without the opentelemetry packages."""
    key = (endpoint, headers_text)
    with _lock:
        if key not in _exporters:
            try:
                exporter = CallExporter.otlp(endpoint, parse_headers(headers_text))
            except ImportError:
                exporter = None
            for old in _exporters.values():  # a changed endpoint replaces it
                if old is not None:  # (shutting down flushes: not in the call)
                    threading.Thread(target=old.shutdown, daemon=True).start()
            _exporters.clear()
            _exporters[key] = exporter
        return _exporters[key]
