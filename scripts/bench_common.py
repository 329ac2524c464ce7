"""Helpers shared by the benchmark scripts."""

import argparse
import importlib.util
import os
import statistics
import time


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def median(values):
    return statistics.median(values)


def timed(function, repeat):
    """Durations of ``repeat`` runs of ``function``, in ms."""
    durations = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        durations.append((time.perf_counter() - started) * 1000)
    return durations


def fake_openai_module():
    """The module of the fake OpenAI server of the tests."""
    if "fake_openai" not in _modules:
        path = os.path.join(os.path.dirname(__file__), "..", "tests", "fake_openai.py")
        spec = importlib.util.spec_from_file_location("fake_openai", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _modules["fake_openai"] = module
    return _modules["fake_openai"]


def load_fake_server():
    """The fake OpenAI server of the tests, started."""
    return fake_openai_module().FakeOpenAI()


_modules = {}


def open_registry(**options):
    """Parse --db, --addons-path and ``options`` (name: (type, default)),
    point Odoo at that database; return (arguments, registry)."""
    from odoo.modules.registry import Registry
    from odoo.tools import config

    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--addons-path", required=True)
    for name, (kind, default) in options.items():
        flag = f"--{name.replace('_', '-')}"
        if kind is bool:
            parser.add_argument(flag, action="store_true")
        else:
            parser.add_argument(flag, type=kind, default=default)
    args = parser.parse_args()
    config.parse_config(
        ["-d", args.db, "--addons-path", args.addons_path, "--log-level", "warn"]
    )
    return args, Registry(args.db)


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_odoo(args, logfile, *options):
    """Start an Odoo server on the benchmark's database (``args.odoo_bin``,
    ``args.addons_path``, ``args.db``) with these ``options``, on free
    ports; return its process and base URL."""
    import subprocess
    import sys

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable, args.odoo_bin, f"--addons-path={args.addons_path}",
            "-d", args.db, f"--db-filter=^{args.db}$",
            "--http-interface=127.0.0.1", f"--http-port={port}",
            f"--gevent-port={free_port()}", "--log-level=warn",
            f"--logfile={logfile}", *options,
        ]
    )  # fmt: skip
    return server, f"http://127.0.0.1:{port}"


def wait_for_odoo(base_urls, logfile, seconds=90):
    """Until every server answers its login page."""
    import requests

    deadline = time.monotonic() + seconds
    for base_url in base_urls:
        while True:
            try:
                if requests.get(base_url + "/web/login", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("Odoo did not start: see " + logfile)
            time.sleep(0.5)


def stop_odoo(servers):
    """Stop the servers as an administrator does (SIGINT), killed after 30 s."""
    import signal
    import subprocess

    for server in servers:
        server.send_signal(signal.SIGINT)
    for server in servers:
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
