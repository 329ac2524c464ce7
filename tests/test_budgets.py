import threading
import unittest
from datetime import timedelta

from odoo import api, fields
from odoo.modules.neutralize import get_neutralization_queries
from odoo.tests import tagged

from ..compat import group_members
from ..exceptions import AiCallRefused
from .common import AiUsageCase, CommittedCase
from .fake_openai import REPLY_TEXT, count_tokens

MESSAGES = [{"role": "user", "content": "Qualify this lead."}]
# gpt-4o-mini: 0.15 / 0.60 USD per 1M tokens; the test company's currency is USD
CALL_COST = (count_tokens(MESSAGES) * 0.15 + count_tokens(REPLY_TEXT) * 0.60) / 1e6


def spend(
    env,
    service,
    cost=0.0,
    tokens=0,
    user=None,
    when=None,
    status="success",
    error_code=False,
):
    """A finished call that already happened."""
    return env["ai.usage.log"].create(
        {
            "service_id": service.id,
            "company_id": service.company_id.id,
            "user_id": (user or env.user).id,
            "status": status,
            "error_code": error_code,
            "model": "gpt-4o-mini",
            "cost_company": cost,
            "total_tokens": tokens,
            "request_time": when or fields.Datetime.now(),
        }
    )


@tagged("post_install", "-at_install")
class TestBudgets(AiUsageCase):
    def call(self, user=None):
        service = self.service.with_user(user) if user else self.service
        return service.make_openai_api_call(
            "chat/completions", data={"messages": MESSAGES}
        )

    def assertRefused(self, pattern):
        return unittest.TestCase.assertRaisesRegex(self, AiCallRefused, pattern)

    def budget(self, **values):
        return self.env["ai.usage.budget"].create(
            {
                "name": "Monthly",
                "company_id": self.company.id,
                "hard_limit": True,
                **values,
            }
        )

    def test_hard_cost_limit_refuses_and_logs_the_call(self):
        self.budget(limit_cost=1.0)
        spend(self.env, self.service, cost=0.99)
        self.call()
        spend(self.env, self.service, cost=0.02)
        with self.assertRefused("budget Monthly is spent"):
            self.call()
        self.assertEqual(len(self.fake.received()), 1, "the refused call was not sent")
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "status": "blocked",
                    "error_code": "budget_exceeded",
                    "reserved_cost": 0.0,
                }
            ],
        )

    def test_reservation_is_settled_by_the_real_cost(self):
        self.budget(limit_cost=5.0)
        self.call()
        log = self.last_log()
        self.assertEqual(
            (log.status, log.reserved_cost, log.reserved_tokens), ("success", 0.0, 0)
        )
        self.assertAlmostEqual(log.cost_company, CALL_COST, places=8)

    def test_token_budget_per_user_and_day(self):
        self.budget(
            name="Daily tokens", period="daily", limit_tokens=1000, user_id=self.user.id
        )
        spend(
            self.env,
            self.service,
            tokens=999,
            user=self.user,
            when=fields.Datetime.now(),
        )
        spend(
            self.env,
            self.service,
            tokens=5000,
            user=self.user,
            when=fields.Datetime.now() - timedelta(days=1),
        )
        self.call(self.user)  # 999 < 1000: it may start
        with self.assertRefused("used up: 1,027 of 1,000 tokens"):
            self.call(self.user)
        self.call(self.other_user)  # the budget is the user's only
        self.assertEqual(len(self.fake.received()), 2)

    def test_soft_budget_does_not_refuse(self):
        self.budget(limit_cost=0.01, hard_limit=False)
        spend(self.env, self.service, cost=1.0)
        self.call()
        self.assertEqual(self.last_log().status, "success")

    def test_rate_limit_per_user(self):
        self.service.rate_limit_per_minute = 2
        self.call(self.user)
        self.call(self.user)
        with self.assertRefused("Rate limit reached"):
            self.call(self.user)
        self.assertRecordValues(
            self.last_log(), [{"status": "rate_limited", "user_id": self.user.id}]
        )
        self.call(self.other_user)
        self.assertEqual(len(self.fake.received()), 3)

    def test_budget_consumption_and_percent(self):
        budget = self.budget(limit_cost=2.0, limit_tokens=1000)
        spend(self.env, self.service, cost=0.5, tokens=600)
        spend(
            self.env,
            self.service,
            cost=9.0,
            tokens=9,
            when=fields.Datetime.now() - timedelta(days=40),
        )
        budget.invalidate_recordset()
        self.assertAlmostEqual(budget.spent_cost, 0.5)
        self.assertEqual(budget.spent_tokens, 600)
        self.assertAlmostEqual(
            budget.usage_percent, 60.0, "the larger share of the two limits"
        )


@tagged("post_install", "-at_install")
class TestAlerts(AiUsageCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Alert = cls.env["ai.usage.alert"]

    def run_cron(self):
        return self.Alert._cron_check_alerts()

    def test_budget_threshold_is_told_once(self):
        budget = self.env["ai.usage.budget"].create(
            {
                "name": "Team",
                "company_id": self.company.id,
                "limit_cost": 10.0,
                "warning_percent": 80,
            }
        )
        spend(self.env, self.service, cost=7.0)
        self.assertFalse(
            self.run_cron().filtered(lambda alert: alert.budget_id == budget)
        )
        spend(self.env, self.service, cost=1.5)
        alert = self.run_cron().filtered(lambda alert: alert.budget_id == budget)
        self.assertEqual(len(alert), 1)
        symbol = self.company.currency_id.symbol
        # money reads as money, and a limit not set says so
        self.assertIn("85.0%", alert.message)
        self.assertIn("8.50", alert.message)
        self.assertIn("10.00", alert.message)
        self.assertIn(symbol, alert.message)
        self.assertNotIn("8.5000", alert.message)
        self.assertIn("0 tokens (no token limit)", alert.message)
        admin_group = self.env.ref("ai_usage_log.group_ai_usage_admin")
        admins = group_members(admin_group).filtered(
            lambda user: self.company in user.company_ids
        )
        self.assertIn(self.admin, admins)
        self.assertEqual(
            alert.activity_ids.user_id, admins, "an activity for each AI administrator"
        )
        message = alert.message_ids.filtered(lambda m: m.message_type == "comment")
        self.assertEqual(
            message.partner_ids, admins.partner_id, "an email to each of them"
        )
        self.assertIn(f"/odoo/ai.usage.alert/{alert.id}", message.body)
        logs = self.env["ai.usage.log"]
        self.assertEqual(
            logs.search(alert.action_view_logs()["domain"]),
            logs.search(budget._log_domain()),
        )
        self.assertFalse(
            self.run_cron().filtered(lambda alert: alert.budget_id == budget),
            "not again",
        )
        spend(self.env, self.service, cost=2.0)
        crossed = self.run_cron().filtered(lambda alert: alert.budget_id == budget)
        self.assertEqual(len(crossed), 1, "reaching the limit is a new incident")

    def test_error_rate(self):
        for _index in range(9):
            spend(self.env, self.service)
        spend(self.env, self.service, status="failed", error_code="server_error")
        alerts = self.run_cron().filtered(lambda a: a.alert_type == "error_rate")
        self.assertEqual(
            len(alerts), 2, "10% > 5%: in the last hour and in the last day"
        )
        self.assertIn("10.0% of the 10 calls", alerts[0].message)
        failed = self.env["ai.usage.log"].search(alerts[0].log_domain)
        self.assertEqual(failed.mapped("error_code"), ["server_error"])
        self.assertFalse(
            self.run_cron().filtered(lambda a: a.alert_type == "error_rate"),
            "told once",
        )

    def test_error_rate_below_threshold_or_too_few_calls(self):
        for _index in range(30):
            spend(self.env, self.service)
        spend(self.env, self.service, status="failed", error_code="x")  # 3.2%
        self.assertFalse(
            self.run_cron().filtered(lambda a: a.alert_type == "error_rate")
        )
        self.env["ir.config_parameter"].set_param(
            "ai_usage_log.alert_error_rate_percent", "2"
        )
        self.assertTrue(
            self.run_cron().filtered(lambda a: a.alert_type == "error_rate")
        )

    def test_token_spike(self):
        now = fields.Datetime.now()
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        for day in range(1, 8):
            spend(
                self.env,
                self.service,
                tokens=100,
                when=today - timedelta(days=day) + timedelta(hours=12),
            )
        spend(self.env, self.service, tokens=250, when=now)
        self.assertFalse(
            self.run_cron().filtered(lambda a: a.alert_type == "token_spike")
        )
        spend(self.env, self.service, tokens=100, when=now)
        spikes = self.run_cron().filtered(lambda a: a.alert_type == "token_spike")
        self.assertEqual(len(spikes), 1)
        self.assertIn("350 tokens", spikes.message)

    def test_key_failure(self):
        spend(self.env, self.service, status="failed", error_code="invalid_api_key")
        alert = self.run_cron().filtered(lambda a: a.alert_type == "key_failure")
        self.assertEqual(alert.service_id, self.service)
        self.assertFalse(
            self.run_cron().filtered(lambda a: a.alert_type == "key_failure")
        )


@tagged("post_install", "-at_install")
class TestRetentionAndNeutralize(AiUsageCase):
    def test_retention(self):
        now = fields.Datetime.now()
        old = spend(self.env, self.service, when=now - timedelta(days=40))
        recent = spend(self.env, self.service, when=now - timedelta(days=10))
        self.env.flush_all()
        cron = self.env["ai.usage.log"]._cron_delete_old_logs
        self.assertEqual(cron(), 0, "kept forever by default")
        self.env["ir.config_parameter"].set_param("ai_usage_log.retention_days", "30")
        cron()
        self.assertFalse(old.exists())
        self.assertTrue(recent.exists())

    def test_neutralize_blanks_keys_and_metrics_token(self):
        params = self.env["ir.config_parameter"]
        exported = ("metrics_token", "otel_endpoint", "otel_headers")
        for name in exported:
            params.set_param(f"ai_usage_log.{name}", "production value")
        self.service.sudo().admin_api_key = "sk-admin-production"
        self.env.flush_all()
        for query in get_neutralization_queries(["ai_usage_log"]):
            self.env.cr.execute(query)
        self.env.invalidate_all()
        self.assertFalse(self.service.sudo().api_key)
        self.assertFalse(self.service.sudo().admin_api_key)
        for name in exported:
            self.assertFalse(params.get_param(f"ai_usage_log.{name}"), name)


@tagged("post_install", "-at_install")
class TestHardLimitUnderConcurrency(CommittedCase):
    def test_8_calls_at_the_edge_of_a_hard_limit(self):
        limit = 1.0
        with self.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            budget = self._create(
                env,
                "ai.usage.budget",
                {
                    "name": "Edge",
                    "company_id": self.company_ids[0],
                    "limit_cost": limit,
                    "hard_limit": True,
                },
            )
            service = env["ai.service"].browse(self.service_ids[0])
            spend(env, service, cost=limit - CALL_COST / 2)
        start = threading.Barrier(8)
        outcomes = []

        def worker():
            start.wait()
            with self.registry.cursor() as cr:
                env = api.Environment(cr, api.SUPERUSER_ID, {})
                try:
                    env["ai.service"].browse(self.service_ids[0]).make_openai_api_call(
                        "chat/completions", data={"messages": MESSAGES}
                    )
                    outcomes.append("sent")
                except AiCallRefused:
                    outcomes.append("refused")

        threads = [threading.Thread(target=worker) for _index in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(sorted(outcomes), ["refused"] * 7 + ["sent"])
        self.assertEqual(len(self.fake.received()), 1)
        with self.registry.cursor() as cr:
            spent, _tokens = (
                api.Environment(cr, api.SUPERUSER_ID, {})["ai.usage.budget"]
                .browse(budget)
                ._consumption()
            )
        self.assertLessEqual(spent, limit + CALL_COST, "overshoot of at most one call")
        self.assertEqual(self.count_logs(status="blocked"), 7)


@tagged("post_install", "-at_install")
class TestPriceMissingAlertAndDashboardBudgets(AiUsageCase):
    def test_models_without_a_price_are_told_once(self):
        log = spend(self.env, self.service, tokens=10)
        log.write({"model": "gpt-9-preview", "price_missing": True})
        alert = (
            self.env["ai.usage.alert"]
            ._cron_check_alerts()
            .filtered(lambda a: a.alert_type == "price_missing")
        )
        self.assertEqual(alert.name, "No price for model gpt-9-preview")
        self.assertEqual(self.env["ai.usage.log"].search(alert.log_domain), log)
        again = self.env["ai.usage.alert"]._cron_check_alerts()
        self.assertFalse(again.filtered(lambda a: a.alert_type == "price_missing"))

    def test_dashboard_shows_the_month_against_budgets(self):
        self.env["ai.usage.budget"].create(
            {"name": "Support", "company_id": self.company.id, "limit_cost": 4.0}
        )
        spend(self.env, self.service, cost=1.0)
        [budget] = (
            self.env["ai.usage.dashboard"]
            .with_user(self.admin)
            .get_dashboard_data()["budgets"]
        )
        self.assertEqual(
            (budget["name"], budget["percent"], budget["limit"]), ("Support", 25.0, 4.0)
        )
        self.assertAlmostEqual(budget["spent"], 1.0)
        self.assertEqual(len(self.env["ai.usage.log"].search(budget["domain"])), 1)
        self.assertEqual(budget["scope"], "Company", "company figures say so")

    def test_dashboard_shows_a_user_the_budgets_of_their_calls(self):
        Budget = self.env["ai.usage.budget"]
        company = Budget.create(
            {"name": "Everyone", "company_id": self.company.id, "limit_cost": 4.0}
        )
        mine = Budget.create(
            {"name": "Mine", "user_id": self.user.id, "limit_tokens": 1000}
        )
        Budget.create(
            {"name": "Theirs", "user_id": self.other_user.id, "limit_tokens": 1000}
        )
        rows = (
            self.env["ai.usage.dashboard"]
            .with_user(self.user)
            .get_dashboard_data()["budgets"]
        )
        self.assertEqual(
            [(row["name"], row["scope"]) for row in rows],
            [(company.name, "Company"), (mine.name, "My calls")],
        )
        # the company's row counts everyone's calls and opens the user's only
        self.assertEqual([row["others_hidden"] for row in rows], [True, False])
        self.assertEqual(rows[0]["open"]["title"], "Budget Everyone: my calls only")
        everyone = (
            self.env["ai.usage.dashboard"].with_user(self.admin).get_dashboard_data()
        )
        self.assertIn(
            ("Theirs", self.other_user.name),
            [(row["name"], row["scope"]) for row in everyone["budgets"]],
        )
