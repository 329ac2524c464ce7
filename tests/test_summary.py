from datetime import timedelta
from unittest.mock import patch

from prometheus_client.parser import text_string_to_metric_families

from odoo import fields
from odoo.tests import tagged

from .common import AiUsageCase
from .fake_openai import chat_completion, chat_usage


@tagged("post_install", "-at_install")
class TestDailySummary(AiUsageCase):
    """Counters, usage figures and metrics read closed days from the daily
    summary: they must stay equal to the logs whatever changes."""

    def setUp(self):
        super().setUp()
        now = fields.Datetime.now()
        self.old_logs = self.env["ai.usage.log"]
        for days, tokens, status in (
            (12, 100, "success"),
            (12, 50, "failed"),
            (5, 70, "success"),
            (0, 9, "success"),
        ):
            self.old_logs |= self.env["ai.usage.log"].create(
                {
                    "service_id": self.service.id,
                    "status": status,
                    "model": "gpt-4.1",
                    "request_type": "call_summary",
                    "total_tokens": tokens,
                    "input_tokens": tokens,
                    "cost_company": tokens / 1000,
                    "cost": tokens / 1000,
                    "currency_id": self.env.ref("base.USD").id,
                    "request_time": now - timedelta(days=days),
                    "duration_ms": 1200,
                }
            )
        self.daily = self.env["ai.usage.log.daily"]
        self.daily._refresh()
        self.assertTrue(self.daily.search_count([]), "closed days are summed")

    def assertMatchesLogs(self):
        self.env.flush_all()
        self.env.invalidate_all()
        logs = self.env["ai.usage.log"].search([("service_id", "=", self.service.id)])
        service = self.service
        self.assertEqual(service.usage_count, len(logs))
        self.assertEqual(
            service.error_count, len(logs.filtered(lambda log: log.status == "failed"))
        )
        self.assertEqual(service.total_tokens, sum(logs.mapped("total_tokens")))
        self.assertAlmostEqual(
            service.total_cost, sum(logs.mapped("cost_company")), places=8
        )
        self.assertEqual(service.last_used, max(logs.mapped("request_time")))
        by_day = {}
        for log in logs:
            day = log.request_time.date().isoformat()
            by_day[day] = by_day.get(day, 0) + log.total_tokens
        usage = self.env["ai.usage.report"].get_usage_summary(
            "day", service_id=self.service.id
        )
        self.assertEqual({row["period"]: row["total_tokens"] for row in usage}, by_day)
        families = {
            f.name: f
            for f in text_string_to_metric_families(
                self.env["ai.usage.report"]._prometheus_metrics()
            )
        }
        calls = sum(
            sample.value
            for sample in families["ai_usage_requests"].samples
            if sample.labels.get("service") == self.service.name
            and sample.name.endswith("_total")
        )
        self.assertEqual(calls, len(logs))
        durations = [
            sample.value
            for sample in families["ai_usage_request_duration_seconds"].samples
            if sample.name.endswith("_count")
            and sample.labels["service"] == self.service.name
        ]
        self.assertEqual(durations, [len(logs.filtered(lambda log: log.duration_ms))])

    def test_counters_and_figures_equal_the_logs(self):
        self.assertMatchesLogs()

    def test_changes_to_closed_days(self):
        old = self.old_logs[0]
        old.total_tokens = 1000  # an administrator's correction
        self.assertMatchesLogs()
        old.request_time = old.request_time - timedelta(
            days=3
        )  # moved to another closed day
        self.assertMatchesLogs()
        self.old_logs[1].unlink()
        self.assertMatchesLogs()

    def test_recompute_cost_of_closed_days(self):
        self.old_logs[2].write(
            {"usage_state": "reported", "response_model": "gpt-4.1", "cost_company": 0}
        )
        self.old_logs[2].action_recompute_cost()
        self.assertGreater(self.old_logs[2].cost_company, 0)
        self.assertMatchesLogs()

    def started_at(self, moment, **values):
        """A call started at ``moment`` (Odoo's clock turned back)."""
        with patch.object(fields.Datetime, "now", return_value=moment):
            return self.Log.create_usage_log(service=self.service, **values)

    def test_a_call_of_a_closed_day_finishing_late(self):
        log = self.started_at(
            fields.Datetime.now() - timedelta(days=4), model="gpt-4o-mini"
        )
        self.assertMatchesLogs()
        log.update_success(chat_completion("gpt-4o-mini", chat_usage(300, 30)))
        self.assertEqual(log.total_tokens, 330)
        self.assertMatchesLogs()

    def test_interrupted(self):
        stuck = self.started_at(
            fields.Datetime.now() - timedelta(days=6), model="gpt-4o-mini"
        )
        self.Log._cron_mark_interrupted()
        self.assertEqual(stuck.status, "failed")
        self.assertMatchesLogs()

    def figures(self):
        """Counters, usage per day and every metric sample, as read now."""
        self.env.invalidate_all()
        counters = self.service.read(
            ["usage_count", "error_count", "total_tokens", "total_cost"]
        )
        usage = self.env["ai.usage.report"].get_usage_summary(
            "day", service_id=self.service.id
        )
        metrics = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(
                self.env["ai.usage.report"]._prometheus_metrics()
            )
            for sample in family.samples
            if sample.labels.get("service") == self.service.name
        }
        return counters, usage, metrics

    def test_retention_keeps_the_figures_and_counters_monotonic(self):
        before = self.figures()
        self.env["ir.config_parameter"].set_param("ai_usage_log.retention_days", "8")
        deleted = self.env["ai.usage.log"]._cron_delete_old_logs()
        self.assertEqual(deleted, 2)
        self.assertFalse(self.old_logs[:2].exists(), "the 12-day-old logs went")
        self.assertTrue(self.old_logs[2:].exists(), "the others stay")
        after = self.figures()
        self.assertEqual(after[:2], before[:2], "counters and usage still count them")
        self.assertEqual(after[2], before[2], "no Prometheus counter went down")
        self.assertEqual(
            self.env["ai.usage.log"]._cron_delete_old_logs(), 0, "run twice: nothing"
        )
        self.assertEqual(self.figures(), after)

    def test_refresh_is_idempotent(self):
        before = self.daily.search_read(
            [], ["day", "calls", "total_tokens"], order="day, id"
        )
        self.assertEqual(self.daily._refresh(), 0, "nothing new to sum")
        self.assertEqual(
            self.daily.search_read(
                [], ["day", "calls", "total_tokens"], order="day, id"
            ),
            before,
        )

    def test_test_connections_are_calls_but_not_in_the_error_rate(self):
        now = fields.Datetime.now()
        for days in (12, 0):  # a closed day (summed) and today (read from the logs)
            self.env["ai.usage.log"].create(
                {
                    "service_id": self.service.id,
                    "status": "failed",
                    "request_type": "test_connection",
                    "error_code": "connection_error",
                    "request_time": now - timedelta(days=days),
                }
            )
        self.daily._refresh()
        usage = {
            row["period"]: row
            for row in self.env["ai.usage.report"].get_usage_summary(
                "day", service_id=self.service.id
            )
        }
        closed = usage[(now - timedelta(days=12)).date().isoformat()]
        today = usage[now.date().isoformat()]
        self.assertEqual((closed["requests"], closed["error_rate"]), (3, 50.0))
        self.assertEqual((today["requests"], today["error_rate"]), (2, 0.0))
