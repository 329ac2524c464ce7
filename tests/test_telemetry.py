"""OpenTelemetry export of finished calls: the spans and metrics of the
GenAI semantic conventions (SDK in-memory exporter), and the OTLP wire
format (a collector stand-in on 127.0.0.1)."""

import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest.mock import patch

from odoo.tests import tagged

from .common import TEST_API_KEY, AiUsageCase
from .fake_openai import Reply, error_body

try:
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
        InMemorySpanExporter,
    )

    from ..tools.otel import CallExporter
except ImportError:  # the SDK is optional
    CallExporter = None

MESSAGES = [{"role": "user", "content": "The secret prompt text."}]


class Collector:
    """An OTLP/HTTP collector stand-in: keeps the trace requests it gets."""

    def __init__(self):
        self.requests = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                collector.requests.append((self.path, self.headers, body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@tagged("post_install", "-at_install")
@unittest.skipUnless(CallExporter, "opentelemetry-sdk is not installed")
class TestTelemetry(AiUsageCase):
    def setUp(self):
        super().setUp()
        self.spans = InMemorySpanExporter()
        self.metrics = InMemoryMetricReader()
        self.exporter = CallExporter(self.spans, self.metrics)
        self.addCleanup(self.exporter.shutdown)
        params = self.env["ir.config_parameter"]
        params.set_param("ai_usage_log.otel_endpoint", "http://127.0.0.1:9")
        self.startPatcher(
            patch(
                "odoo.addons.ai_usage_log.tools.otel.exporter_for",
                return_value=self.exporter,
            )
        )

    def exported(self):
        self.exporter.flush()
        return self.spans.get_finished_spans()

    def test_a_call_is_a_genai_span_with_its_metrics(self):
        self.service.make_openai_api_call(
            "chat/completions", data={"messages": MESSAGES}
        )
        log = self.last_log()
        [span] = self.exported()
        self.assertEqual(span.name, "chat gpt-4o-mini")
        self.assertEqual(span.kind.name, "CLIENT")
        attributes = dict(span.attributes)
        self.assertEqual(
            {k: attributes[k] for k in attributes if k.startswith("gen_ai.")},
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": log.response_model,
                "gen_ai.response.id": log.response_id,
                "gen_ai.response.finish_reasons": ("stop",),
                "gen_ai.usage.input_tokens": log.input_tokens,
                "gen_ai.usage.output_tokens": log.output_tokens,
            },
        )
        self.assertEqual(attributes["ai_usage.log_id"], log.id)
        self.assertEqual(attributes["server.address"], "127.0.0.1")
        self.assertAlmostEqual(attributes["ai_usage.cost"], log.cost)
        self.assertEqual(
            (span.end_time - span.start_time) // 1_000_000,
            log.duration_ms,
            "the span lasts as long as the logged call",
        )
        text = repr(attributes) + span.name
        for secret in (TEST_API_KEY, "secret prompt"):
            self.assertNotIn(secret, text)
        data = self.metrics.get_metrics_data()
        points = {
            metric.name: metric.data.data_points
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
        }
        tokens = {
            point.attributes["gen_ai.token.type"]: point.sum
            for point in points["gen_ai.client.token.usage"]
        }
        self.assertEqual(
            tokens, {"input": log.input_tokens, "output": log.output_tokens}
        )
        [duration] = points["gen_ai.client.operation.duration"]
        self.assertEqual(duration.count, 1)

    def test_a_failed_call_carries_its_error_type(self):
        self.fake.script(Reply(400, error_body("Bad", "invalid_request_error")))
        with self.assertCallFails("Bad"):
            self.service.make_openai_api_call("chat/completions", data={})
        [span] = self.exported()
        self.assertEqual(span.attributes["error.type"], "invalid_request_error")
        self.assertEqual(span.status.status_code.name, "ERROR")
        self.assertNotIn("gen_ai.usage.input_tokens", span.attributes)

    def test_no_endpoint_no_export(self):
        self.env["ir.config_parameter"].set_param("ai_usage_log.otel_endpoint", "")
        self.service.make_openai_api_call("chat/completions", data={})
        self.assertFalse(self.exported())

    def test_a_broken_exporter_costs_the_call_nothing(self):
        self.exporter.tracer = None  # any failure inside the export
        self.service.make_openai_api_call("chat/completions", data={})
        self.assertEqual(self.last_log().status, "success")


@tagged("post_install", "-at_install")
@unittest.skipUnless(CallExporter, "opentelemetry-sdk is not installed")
class TestOtlpWire(AiUsageCase):
    def test_spans_reach_a_collector_over_otlp_http(self):
        collector = Collector()
        self.addCleanup(collector.stop)
        exporter = CallExporter.otlp(collector.url, {"x-team": "ai"})
        self.addCleanup(exporter.shutdown)
        self.env["ir.config_parameter"].set_param(
            "ai_usage_log.otel_endpoint", collector.url
        )
        with patch(
            "odoo.addons.ai_usage_log.tools.otel.exporter_for", return_value=exporter
        ):
            self.service.make_openai_api_call("chat/completions", data={})
        exporter.flush()
        traces = [r for r in collector.requests if r[0] == "/v1/traces"]
        self.assertTrue(traces)
        _path, headers, body = traces[0]
        self.assertEqual(headers["Content-Type"], "application/x-protobuf")
        self.assertEqual(headers["x-team"], "ai")
        request = trace_service_pb2.ExportTraceServiceRequest()
        request.ParseFromString(body)
        [span] = [
            span
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]
        attributes = {a.key: a.value for a in span.attributes}
        self.assertEqual(span.name, "chat gpt-4o-mini")
        self.assertEqual(attributes["gen_ai.provider.name"].string_value, "openai")
        self.assertEqual(
            attributes["gen_ai.usage.input_tokens"].int_value,
            self.last_log().input_tokens,
        )
