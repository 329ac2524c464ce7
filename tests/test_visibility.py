"""Counters, dashboard and usage figures count what their reader may see:
the logs' record rules (the add-on's and an integrator's) apply to them
through the ORM, on the daily summary of closed days as on recent logs."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from .common import AiUsageCase

MESSAGES = [{"role": "user", "content": "hello"}]


@tagged("post_install", "-at_install")
class TestVisibility(AiUsageCase):
    def call(self, user, **attribution):
        self.service.with_user(user).make_openai_api_call(
            "chat/completions", data={"messages": MESSAGES}, **attribution
        )

    def old_log(self, user, days, **values):
        """A finished log of ``days`` ago (its day then closed and summed)."""
        return self.Log.create(
            {
                "service_id": self.service.id,
                "user_id": user.id,
                "status": "success",
                "model": "gpt-4.1",
                "request_type": "call_summary",
                "total_tokens": 100,
                "cost_company": 0.5,
                "request_time": fields.Datetime.now() - timedelta(days=days),
                **values,
            }
        )

    def counters(self, user):
        service = self.service.with_user(user)
        service.invalidate_recordset()
        return service.usage_count, service.total_tokens, service.total_cost

    def visible(self, user):
        logs = self.Log.with_user(user).search([("service_id", "=", self.service.id)])
        return (
            len(logs),
            sum(logs.mapped("total_tokens")),
            sum(logs.mapped("cost_company")),
        )

    def usage_total(self, user):
        rows = (
            self.env["ai.usage.report"]
            .with_user(user)
            .get_usage_summary("month", service_id=self.service.id)
        )
        return sum(row["requests"] for row in rows), sum(
            row["total_tokens"] for row in rows
        )

    def assertSeesWhatItMayRead(self, user):
        count, tokens, cost = self.visible(user)
        got = self.counters(user)
        self.assertEqual(got[:2], (count, tokens))
        self.assertAlmostEqual(got[2], cost, places=6)
        self.assertEqual(self.usage_total(user), (count, tokens))

    def test_a_user_counts_only_their_own_calls(self):
        self.call(self.user)
        self.call(self.other_user)
        self.old_log(self.other_user, 5)
        self.old_log(self.user, 6)
        self.env["ai.usage.log.daily"]._refresh()
        self.assertEqual(self.visible(self.user)[0], 2)
        self.assertEqual(self.counters(self.user)[0], 2, "not the 4 of everyone")
        self.assertSeesWhatItMayRead(self.user)
        self.assertEqual(self.counters(self.admin)[0], 4)
        self.assertSeesWhatItMayRead(self.admin)

    def test_an_integrators_rule_on_a_summed_field(self):
        """A rule on a field the summary groups by applies to closed days."""
        self.old_log(self.user, 5, request_type="call_summary")
        self.old_log(self.user, 5, request_type="contact_analysis")
        self.call(self.user, request_type="contact_analysis")
        self.call(self.user, request_type="call_summary")
        self.env["ai.usage.log.daily"]._refresh()
        self.env["ir.rule"].create(
            {
                "name": "Contact analyses are confidential",
                "model_id": self.env.ref("ai_usage_log.model_ai_usage_log").id,
                "domain_force": "[('request_type', '!=', 'contact_analysis')]",
            }
        )
        self.assertEqual(self.visible(self.user)[0], 2)
        self.assertSeesWhatItMayRead(self.user)
        self.assertEqual(self.visible(self.admin)[0], 2)
        self.assertSeesWhatItMayRead(self.admin)

    def test_an_integrators_rule_on_any_field(self):
        """A rule on a field the summary does not have: the logs are read."""
        self.old_log(self.user, 5, location_id="loc-secret")
        self.old_log(self.user, 5, location_id="loc-paris")
        self.call(self.user, location_id="loc-secret")
        self.call(self.user, location_id="loc-paris")
        self.env["ai.usage.log.daily"]._refresh()
        self.env["ir.rule"].create(
            {
                "name": "Secret location hidden",
                "model_id": self.env.ref("ai_usage_log.model_ai_usage_log").id,
                "domain_force": "[('location_id', '!=', 'loc-secret')]",
            }
        )
        self.assertEqual(self.visible(self.user)[0], 2)
        self.assertSeesWhatItMayRead(self.user)
        self.assertEqual(self.visible(self.admin)[0], 2, "a global rule binds all")
        self.assertSeesWhatItMayRead(self.admin)

    def test_the_dashboard_counts_what_the_reader_may_see(self):
        self.call(self.user)
        self.call(self.other_user)
        data = self.env["ai.usage.dashboard"].with_user(self.user).get_dashboard_data()
        self.assertEqual(data["periods"][0]["calls"], 1)
