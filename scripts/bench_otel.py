"""What exporting a finished call to OpenTelemetry costs the call, with a
live collector, with a dead one, and with the SDK's in-memory exporter as
the baseline, measured in the same run. No Odoo needed.

Usage: python3 scripts/bench_otel.py [--calls 3000]
Prints microseconds per export (median and 99th percentile) and the ratio
to the baseline, then a JSON summary."""

import argparse
import importlib.util
import json
import os
import socket
import statistics
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def otel_module():
    path = os.path.join(os.path.dirname(__file__), "..", "tools", "otel.py")
    spec = importlib.util.spec_from_file_location("otel", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def live_collector():
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def dead_collector():
    """A port nothing listens on (bound then closed): every export fails."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def call(index):
    now = datetime.now(UTC).replace(tzinfo=None)
    return {
        "id": index,
        "endpoint": "chat/completions",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "response_model": "gpt-4o-mini-2024-07-18",
        "response_id": f"chatcmpl-{index}",
        "finish_reason": "stop",
        "status": "success",
        "usage_state": "reported",
        "input_tokens": 1200,
        "output_tokens": 300,
        "cost": 0.00036,
        "request_type": "call_summary",
        "api_base_url": "https://api.openai.com/v1",
        "request_time": now,
        "response_time": now,
    }


def measure(exporter, calls):
    timings = []
    for index in range(calls):
        started = time.perf_counter()
        exporter.export(call(index), 1_000_000_000, 1_050_000_000)
        timings.append((time.perf_counter() - started) * 1e6)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99) - 1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    otel = otel_module()
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
        InMemorySpanExporter,
    )

    exporters = {
        "in-memory (baseline)": otel.CallExporter(
            InMemorySpanExporter(), InMemoryMetricReader()
        ),
        "live collector": otel.CallExporter.otlp(live_collector()),
        "dead collector": otel.CallExporter.otlp(dead_collector(), timeout=1.0),
    }
    figures = {}
    for name, exporter in exporters.items():
        measure(exporter, 200)  # warm-up
        figures[name] = measure(exporter, args.calls)
    baseline = figures["in-memory (baseline)"][0]
    print(f"{'exporter':<22} {'p50 µs':>8} {'p99 µs':>8} {'p50 ratio':>10}")
    for name, (p50, p99) in figures.items():
        print(f"{name:<22} {p50:>8.1f} {p99:>8.1f} {p50 / baseline:>10.2f}")
    print(
        json.dumps(
            {
                name: {"p50_us": round(p50, 1), "p99_us": round(p99, 1)}
                for name, (p50, p99) in figures.items()
            }
        )
    )
    for exporter in exporters.values():
        threading.Thread(target=exporter.shutdown, daemon=True).start()
    os._exit(0)  # the dead collector's exporter may still be retrying


if __name__ == "__main__":
    main()
