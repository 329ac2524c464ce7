import os
import unittest
from datetime import timedelta

from lxml import etree

from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from .common import AiUsageCase


def make_logs(env, service, user, specs):
    """Logs as the reports see them: (status, model, tokens, cost, error code),
    a second apart and all of today (UTC), whatever the hour the tests run."""
    now = fields.Datetime.now()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return env["ai.usage.log"].create(
        [
            {
                "service_id": service.id,
                "company_id": service.company_id.id,
                "user_id": user.id,
                "request_type": "call_summary",
                "model": model,
                "status": status,
                "usage_state": "reported" if status == "success" else "missing",
                "input_tokens": tokens,
                "total_tokens": tokens,
                "cost": cost,
                "cost_company": cost,
                "currency_id": env.ref("base.USD").id,
                "error_code": error_code,
                "error_message": "Rate limit reached" if error_code else False,
                "request_time": max(now - timedelta(seconds=index), today),
            }
            for index, (status, model, tokens, cost, error_code) in enumerate(specs)
        ]
    )


@tagged("post_install", "-at_install")
class TestUsageByContact(AiUsageCase):
    def test_rebilling_report_sums_the_calls_of_each_contact(self):
        acme, globex = self.env["res.partner"].create(
            [{"name": "Acme"}, {"name": "Globex"}]
        )
        logs = make_logs(
            self.env,
            self.service,
            self.user,
            [("success", "gpt-4.1", 1000, 0.5, False)] * 3
            + [("success", "gpt-4.1", 10, 0.25, False)],
        )
        logs[0].partner_id = logs[1].partner_id = acme
        logs[2].partner_id = globex
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "ai_usage_log.action_ai_usage_log_by_partner"
        )
        context = safe_eval(action["context"])
        rows = self.Log._read_group(
            safe_eval(action["domain"]) + [("service_id", "=", self.service.id)],
            context["pivot_row_groupby"],
            ["__count", "total_tokens:sum", "cost_company:sum"],
        )
        self.assertEqual(
            {partner.name: figures for partner, *figures in rows},
            {"Acme": [2, 2000, 1.0], "Globex": [1, 1000, 0.5]},
            "the call without a contact is not rebilled",
        )
        self.assertEqual(context["pivot_column_groupby"], ["request_time:month"])


@tagged("post_install", "-at_install")
class TestDashboard(AiUsageCase):
    def test_trend_of_30_days_and_last_month(self):
        logs = make_logs(
            self.env,
            self.service,
            self.user,
            [("success", "gpt-4.1", 100, 0.25, False)] * 5,
        )
        now = fields.Datetime.now()
        logs[1].request_time = now - timedelta(days=3)
        logs[2].request_time = now - timedelta(days=29)  # the trend's first day
        logs[3].request_time = now - timedelta(days=45)  # out of the trend
        data = self.env["ai.usage.dashboard"].with_user(self.user).get_dashboard_data()
        trend = data["trend"]
        self.assertEqual(len(trend), 30)
        self.assertEqual(trend[-1]["date"], fields.Date.to_string(now.date()))
        by_date = {day["date"]: day for day in trend}
        self.assertEqual(sum(day["calls"] for day in trend), 4)
        self.assertEqual(trend[0]["calls"], 1)
        self.assertEqual(by_date[fields.Date.to_string(now.date())]["calls"], 2)
        three_days_ago = by_date[
            fields.Date.to_string((now - timedelta(days=3)).date())
        ]
        self.assertEqual((three_days_ago["calls"], three_days_ago["cost"]), (1, 0.25))
        # a day's domain opens exactly that day's logs
        self.assertEqual(
            self.Log.with_user(self.user).search(three_days_ago["domain"]), logs[1]
        )
        previous = data["periods"][1]["previous"]
        in_last_month = self.Log.search_count(previous["domain"])
        self.assertEqual(previous["calls"], in_last_month)

    def test_dashboard_figures_match_the_logs(self):
        make_logs(
            self.env,
            self.service,
            self.user,
            [
                ("success", "gpt-4.1", 1000, 0.004, False),
                ("success", "gpt-4.1", 500, 0.002, False),
                ("success", "gpt-4o-mini", 300, 0.0001, False),
                ("failed", "gpt-4o-mini", 0, 0.0, "rate_limit_exceeded"),
            ],
        )
        make_logs(
            self.env, self.service, self.other_user, [("success", "o3", 50, 1.0, False)]
        )
        unpriced = make_logs(
            self.env, self.service, self.user, [("success", "gpt-9", 70, 0.0, False)]
        )
        unpriced.price_missing = True
        unpriced._clear_cost()
        data = self.env["ai.usage.dashboard"].with_user(self.user).get_dashboard_data()
        month = data["periods"][1]
        self.assertEqual(month["key"], "month")
        self.assertEqual(month["calls"], 5, "a user sees only their own calls")
        self.assertEqual(month["tokens"], 1870)
        self.assertAlmostEqual(month["cost"], 0.0061, places=10)
        self.assertEqual(month["error_rate"], 20.0)
        self.assertEqual(month["unpriced"], 1)
        self.assertEqual(
            [(row["name"], row["unpriced"]) for row in data["top_models"]],
            [("gpt-4.1", False), ("gpt-4o-mini", False), ("gpt-9", True)],
            "by cost, models without a price last",
        )
        self.assertEqual(data["top_models"][0]["calls"], 2)
        self.assertEqual(data["top_users"][0]["name"], self.user.name)
        self.assertFalse(
            data["top_users"][0]["unpriced"], "some of its calls have a price"
        )
        # each figure opens exactly the logs it counts
        logs = self.env["ai.usage.log"].with_user(self.user)
        self.assertEqual(logs.search_count(month["domain"]), 5)
        self.assertEqual(logs.search_count(month["failed_domain"]), 1)
        self.assertEqual(logs.search_count(month["unpriced_domain"]), 1)
        self.assertEqual(logs.search_count(data["top_models"][1]["domain"]), 2)
        # ...through facets of the search view where it has them, titled
        self.assertEqual(
            month["open_failed"],
            {
                "title": "Failed Calls This Month",
                "context": {
                    "search_default_filter_this_month": 1,
                    "search_default_filter_failed": 1,
                },
                "domain": [],
            },
        )
        self.assertEqual(
            data["top_users"][0]["open"]["context"],
            {
                "search_default_filter_this_month": 1,
                "search_default_user_id": self.user.id,
            },
        )
        gpt_41 = data["top_models"][0]["open"]
        self.assertEqual(gpt_41["title"], "gpt-4.1 This Month")
        self.assertEqual(gpt_41["domain"], [("model", "=", "gpt-4.1")], "exact name")
        search_view = etree.fromstring(
            self.env["ai.usage.log"].get_views([(False, "search")])["views"]["search"][
                "arch"
            ]
        )
        names = {node.get("name") for node in search_view.iter("filter", "field")}
        openings = [
            period[key]
            for period in data["periods"]
            for key in ("open", "open_failed", "open_unpriced")
        ] + [row["open"] for row in data["top_models"] + data["top_users"]]
        for opening in openings + [data["periods"][1]["previous"]["open"]]:
            for key in opening["context"]:
                self.assertIn(key.removeprefix("search_default_"), names, key)

        everything = (
            self.env["ai.usage.dashboard"].with_user(self.admin).get_dashboard_data()
        )
        self.assertEqual(everything["periods"][1]["calls"], 6)
        self.assertEqual(everything["top_models"][0]["name"], "o3", "ordered by cost")

    def test_reports_offer_only_measures_that_mean_something(self):
        described = self.env["ai.usage.log"].fields_get(attributes=["aggregator"])
        measures = {
            name for name, field in described.items() if field.get("aggregator")
        }
        self.assertLessEqual(
            {"total_tokens", "input_tokens", "output_tokens", "cost_company"}, measures
        )
        for meaningless in (
            "price_input",
            "price_output",
            "price_cached_input",
            "price_reasoning",
            "http_status",
            "reserved_cost",
            "reserved_tokens",
            "response_length",
        ):
            self.assertNotIn(meaningless, measures, "a sum of it means nothing")
        self.assertEqual(described["retry_count"]["aggregator"], "avg")
        self.assertEqual(described["duration_ms"]["aggregator"], "avg")

    def test_error_rate_measure(self):
        make_logs(
            self.env,
            self.service,
            self.user,
            [("failed", "m", 0, 0, "x")] + [("success", "m", 1, 0, False)] * 3,
        )
        [(rate,)] = self.env["ai.usage.log"]._read_group(
            [("service_id", "=", self.service.id)], [], ["error_rate:avg"]
        )
        self.assertEqual(rate, 25.0)


@tagged("post_install", "-at_install")
class TestUsageTour(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        service = cls.env["ai.service"].create(
            {"name": "Tour service", "api_base_url": "http://127.0.0.1:9/v1"}
        )
        admin = cls.env.ref("base.user_admin")
        make_logs(
            cls.env,
            service,
            admin,
            [
                ("success", "gpt-4.1", 1200, 0.0048, False),
                ("success", "gpt-4o-mini", 800, 0.0002, False),
                ("failed", "gpt-4o-mini", 0, 0.0, "rate_limit_exceeded"),
            ],
        )

        unpriced = make_logs(
            cls.env, service, admin, [("success", "gpt-9-preview", 500, 0.0, False)]
        )
        unpriced.price_missing = True
        unpriced._clear_cost()
        cls.employee = new_test_user(
            cls.env,
            login="ai_tour_employee",
            groups="base.group_user,ai_usage_log.group_ai_usage_user",
        )
        make_logs(
            cls.env,
            service,
            cls.employee,
            [("success", "gpt-4o-mini", 100, 0.0001, False)] * 7,
        )
        Budget = cls.env["ai.usage.budget"]
        Budget.create({"name": "Company budget", "limit_cost": 100.0})
        Budget.create(
            {
                "name": "Employee budget",
                "limit_tokens": 5000,
                "user_id": cls.employee.id,
            }
        )
        Budget.create(
            {"name": "Admin budget", "limit_tokens": 5000, "user_id": admin.id}
        )

    def test_usage_tour(self):
        try:
            self.start_tour("/odoo", "ai_usage_log_tour", login="admin")
            self.assertTrue(
                self.env["ir.config_parameter"].get_param("ai_usage_log.metrics_token"),
                "the tour made a metrics token in Settings",
            )
        except unittest.SkipTest as skipped:
            if os.environ.get("CI"):
                self.fail(f"The browser test could not run in CI: {skipped}")
            raise

    def test_employee_tour(self):
        try:
            self.start_tour(
                "/odoo", "ai_usage_log_employee_tour", login=self.employee.login
            )
        except unittest.SkipTest as skipped:
            if os.environ.get("CI"):
                self.fail(f"The browser test could not run in CI: {skipped}")
            raise

    def test_first_service_tour(self):
        # a database without a service: the dashboard offers to create one
        self.env["ai.service"].search([]).action_archive()
        try:
            self.start_tour("/odoo", "ai_usage_log_first_service_tour", login="admin")
        except unittest.SkipTest as skipped:
            if os.environ.get("CI"):
                self.fail(f"The browser test could not run in CI: {skipped}")
            raise
