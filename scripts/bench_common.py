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
