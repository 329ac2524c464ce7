"""The multi-worker guarantees, on Odoo's own prefork server: a small run of
scripts/bench_workers.sh (its own database, two servers of 3 HTTP workers,
a cron worker, the fake OpenAI server) whose every check must hold."""

import json
import os
import subprocess
import sys
import unittest

from odoo.tests import BaseCase, tagged

ADDON = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@unittest.skipUnless(
    os.path.isdir(os.path.join(ADDON, "scripts")),
    "scripts/ is not installed with the add-on (the wheel leaves it out)",
)
@tagged("post_install", "-at_install")
class TestWorkers(BaseCase):
    def test_logs_hold_across_workers_and_a_killed_worker(self):
        run = subprocess.run(
            ["bash", os.path.join(ADDON, "scripts", "bench_workers.sh")]
            + ["--duration", "4", "--clients", "4", "--hold", "3", "--servers", "2"],
            env=dict(
                os.environ,
                ODOO_PYTHON=sys.executable,
                AI_USAGE_BENCH_DB=f"ai_usage_log_workers_{os.getpid()}",
            ),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        lines = run.stdout.strip().splitlines()
        self.assertTrue(lines, run.stderr[-3000:])
        try:
            summary = json.loads(lines[-1])
        except ValueError:
            self.fail(f"no summary: {run.stdout[-2000:]}\n{run.stderr[-3000:]}")
        checks = {check["check"]: check for check in summary["checks"]}
        self.assertEqual(len(checks), 9, run.stdout[-3000:])
        for name, check in checks.items():
            with self.subTest(check=name):
                self.assertTrue(check["ok"], check["detail"])
        self.assertGreater(summary["figures"]["calls"], 0)
        self.assertEqual(run.returncode, 0, run.stdout[-2000:])
