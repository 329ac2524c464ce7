from datetime import date, datetime

from odoo import fields
from odoo.tests import tagged

from ..tools.pricing import compute_cost
from .common import AiUsageCase
from .fake_openai import Reply, chat_completion, chat_usage


def usage(input_tokens, output_tokens, cached=0, reasoning=0):
    return {
        "input_tokens": input_tokens,
        "cached_input_tokens": cached,
        "output_tokens": output_tokens,
        "reasoning_tokens": reasoning,
        "total_tokens": input_tokens + output_tokens,
    }


class PricedCase(AiUsageCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Price = cls.env["ai.model.price"]

    def priced_log(
        self,
        model_name,
        token_usage,
        when="2025-09-01 12:00:00",
        service=None,
        service_tier=None,
        batch=False,
    ):
        service = service or self.service
        log = self.Log.create(
            {
                "service_id": service.id,
                "model": model_name,
                "status": "success",
                "request_time": when,
                "company_id": service.company_id.id,
                "service_tier": service_tier,
                "is_batch": batch,
            }
        )
        log.write(log._usage_vals(token_usage, model_name, log._pricing_inputs()))
        if log.price_missing:
            log._clear_cost()
        return log


@tagged("post_install", "-at_install")
class TestCost(PricedCase):
    def test_hand_computed_costs_with_shipped_prices(self):
        # (model as OpenAI names it, usage, expected USD, price entry that must be used)
        cases = [
            # gpt-4o-mini: 0.15 in / 0.075 cached / 0.60 out. Cached tokens are
            # billed once, at the cached price:
            # 600 * 0.15 + 400 * 0.075 + 200 * 0.60 = 90 + 30 + 120 = 240 per 1M
            (
                "gpt-4o-mini-2024-07-18",
                usage(1000, 200, cached=400),
                0.000240,
                "gpt-4o-mini",
            ),
            # o4-mini: reasoning tokens are part of output and billed as output:
            # 1000 * 1.10 + 500 * 4.40
            (
                "o4-mini-2025-04-16",
                usage(1000, 500, reasoning=300),
                0.003300,
                "o4-mini",
            ),
            # gpt-5: 2000 * 1.25 + 8000 * 0.125 + 1500 * 10 = 2500 + 1000 + 15000
            (
                "gpt-5-2025-08-07",
                usage(10000, 1500, cached=8000, reasoning=1000),
                0.018500,
                "gpt-5",
            ),
            # a dated snapshot of gpt-4.1-nano, not gpt-4.1:
            # 1_000_000 * 0.10 + 100_000 * 0.40
            (
                "gpt-4.1-nano-2025-04-14",
                usage(1_000_000, 100_000),
                0.140000,
                "gpt-4.1-nano",
            ),
            ("gpt-4.1-2025-04-14", usage(1_000_000, 100_000), 2.800000, "gpt-4.1"),
            # o3-mini is not o3: 1000 * 1.10 + 1000 * 4.40
            ("o3-mini", usage(1000, 1000), 0.005500, "o3-mini"),
            # embeddings bill input only: 123456 * 0.02
            (
                "text-embedding-3-small",
                usage(123456, 0),
                0.00246912,
                "text-embedding-3-small",
            ),
        ]
        for model_name, token_usage, expected, price_name in cases:
            with self.subTest(model=model_name):
                log = self.priced_log(model_name, token_usage)
                self.assertAlmostEqual(log.cost, expected, places=10)
                self.assertEqual(log.price_id.model_name, price_name)
                self.assertEqual(log.currency_id, self.env.ref("base.USD"))
                self.assertFalse(log.price_missing)

    def test_separate_reasoning_price(self):
        self.Price.create(
            {
                "model_name": "think-1",
                "match_type": "exact",
                "date_from": "2025-01-01",
                "input_price": 1.0,
                "output_price": 4.0,
                "reasoning_price": 10.0,
            }
        )
        log = self.priced_log("think-1", usage(1000, 500, reasoning=300))
        # 1000 * 1 + 200 * 4 + 300 * 10 = 1000 + 800 + 3000
        self.assertAlmostEqual(log.cost, 0.0048, places=10)
        self.assertEqual(log.price_reasoning, 10.0)

    def test_zero_cached_price_means_no_discount(self):
        self.Price.create(
            {
                "model_name": "nocache",
                "date_from": "2025-01-01",
                "input_price": 2.0,
                "output_price": 0.0,
            }
        )
        log = self.priced_log("nocache", usage(1000, 0, cached=600))
        self.assertAlmostEqual(log.cost, 0.002, places=10)

    def test_price_change_at_a_date_boundary(self):
        self.Price.create(
            {
                "model_name": "acme-1",
                "date_from": "2025-01-01",
                "input_price": 1.0,
                "output_price": 2.0,
            }
        )
        self.Price.create(
            {
                "model_name": "acme-1",
                "date_from": "2025-06-01",
                "input_price": 3.0,
                "output_price": 6.0,
            }
        )
        before = self.priced_log(
            "acme-1", usage(1_000_000, 0), when="2025-05-31 23:59:59"
        )
        after = self.priced_log(
            "acme-1", usage(1_000_000, 0), when="2025-06-01 00:00:00"
        )
        self.assertAlmostEqual(before.cost, 1.0, places=10)
        self.assertAlmostEqual(after.cost, 3.0, places=10)
        self.assertEqual(before.price_id.date_from, date(2025, 1, 1))
        self.assertEqual(after.price_id.date_from, date(2025, 6, 1))
        too_early = self.priced_log(
            "acme-1", usage(1000, 0), when="2024-12-31 23:59:59"
        )
        self.assertTrue(too_early.price_missing)

    def test_undated_and_service_prices(self):
        self.Price.create(
            {
                "model_name": "gpt-4o-mini",
                "date_from": "2025-01-01",
                "input_price": 9.0,
                "output_price": 9.0,
            }
        )
        for name in ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"):
            self.assertAlmostEqual(
                self.priced_log(name, usage(1_000_000, 0)).cost, 9.0, places=10
            )
        self.Price.create(
            {
                "model_name": "gpt-4o-mini",
                "date_from": "2024-06-01",
                "service_id": self.service.id,
                "input_price": 0.1,
                "output_price": 0.1,
            }
        )
        self.assertAlmostEqual(
            self.priced_log("gpt-4o-mini-2024-07-18", usage(1_000_000, 0)).cost,
            0.1,
            places=10,
            msg="a service's own price beats a shared one",
        )

    def test_unknown_model_has_no_cost_and_is_flagged(self):
        log = self.priced_log("gpt-9-ultra", usage(1000, 1000))
        self.assertTrue(log.price_missing)
        self.env.cr.execute(
            "SELECT cost, cost_company FROM ai_usage_log WHERE id = %s", [log.id]
        )
        self.assertEqual(self.env.cr.fetchone(), (None, None), "empty, not 0")
        flagged = self.Log.search(
            [("price_missing", "=", True), ("service_id", "=", self.service.id)]
        )
        self.assertIn(log, flagged)

    def test_recompute_after_a_price_is_added_and_old_logs_stay(self):
        log = self.priced_log("gpt-9-ultra", usage(1_000_000, 1_000_000))
        price = self.Price.create(
            {
                "model_name": "gpt-9",
                "match_type": "prefix",  # an administrator's choice, made here
                "date_from": "2025-01-01",
                "input_price": 5.0,
                "output_price": 20.0,
            }
        )
        self.assertTrue(log.price_missing, "adding a price changes nothing silently")
        log.action_recompute_cost()
        self.assertFalse(log.price_missing)
        self.assertAlmostEqual(log.cost, 25.0, places=10)
        price.input_price = 50.0
        self.assertAlmostEqual(
            log.cost, 25.0, places=10, msg="a later price edit does not change old logs"
        )
        self.assertEqual(log.price_input, 5.0, "the price used is kept on the log")
        log.action_recompute_cost()
        self.assertAlmostEqual(log.cost, 70.0, places=10)
        price.unlink()
        log.action_recompute_cost()
        self.assertTrue(log.price_missing)
        self.env.cr.execute("SELECT cost FROM ai_usage_log WHERE id = %s", [log.id])
        self.assertIsNone(self.env.cr.fetchone()[0])

    def test_recompute_says_what_it_priced_and_the_new_price_starts_early_enough(self):
        old = self.priced_log("gpt-9-ultra", usage(1000, 0), when="2025-03-02 08:00:00")
        newer = self.priced_log(
            "gpt-9-ultra", usage(1000, 0), when="2025-06-01 08:00:00"
        )
        priced = self.priced_log("gpt-4o", usage(1000, 0), when="2025-06-01 08:00:00")
        failed = self.Log.create(
            {
                "service_id": self.service.id,
                "model": "gpt-4o",
                "status": "failed",
                "usage_state": "missing",
                "company_id": self.service.company_id.id,
            }
        )
        # "Add its price" starts the row at the oldest call still without one
        add = newer.action_add_price()
        self.assertEqual(add["res_model"], "ai.model.price")
        self.assertEqual(add["context"]["default_model_name"], "gpt-9-ultra")
        self.assertEqual(add["context"]["default_date_from"], "2025-03-02")
        # a price from a later date leaves the older call unpriced, and says so
        self.Price.create(
            {"model_name": "gpt-9-ultra", "date_from": "2025-05-01", "input_price": 1.0}
        )
        logs = old | newer | priced | failed
        result = logs.action_recompute_cost()
        self.assertEqual(
            result["params"]["message"],
            "2 of 4 re-priced; without a price at their date: 1 (the oldest: "
            "gpt-9-ultra on 2025-03-02; add a price valid from that day); "
            "without a usage to price: 1.",
        )
        self.assertEqual(result["params"]["type"], "warning")
        self.assertRecordValues(
            logs,
            [
                {"price_missing": True},
                {"price_missing": False},
                {"price_missing": False},
                {"price_missing": False},
            ],
        )
        self.Price.create(
            {
                "model_name": "gpt-9-ultra",
                "date_from": add["context"]["default_date_from"],
                "input_price": 1.0,
            }
        )
        result = old.action_recompute_cost()
        self.assertEqual(result["params"]["message"], "1 of 1 re-priced.")
        self.assertEqual(result["params"]["type"], "success")
        self.assertAlmostEqual(old.cost, 0.001, places=10)

    def test_conversion_to_company_currency_at_the_request_date(self):
        eur = self.env.ref("base.EUR")
        eur.active = True
        company = self.env["res.company"].create(
            {"name": "AI Europe", "currency_id": eur.id}
        )
        usd = self.env.ref("base.USD")
        # In a EUR company a USD rate of 1.25 means 1 EUR = 1.25 USD.
        self.env["res.currency.rate"].create(
            [
                {
                    "currency_id": usd.id,
                    "company_id": company.id,
                    "name": "2025-01-01",
                    "rate": 1.25,
                },
                {
                    "currency_id": usd.id,
                    "company_id": company.id,
                    "name": "2025-07-01",
                    "rate": 1.10,
                },
            ]
        )
        service = self.env["ai.service"].create(
            {
                "name": "EU service",
                "company_id": company.id,
                "api_base_url": self.fake.url,
            }
        )
        log = self.priced_log(
            "gpt-4.1", usage(1_000_000, 0), when="2025-03-10 10:00:00", service=service
        )
        self.assertAlmostEqual(log.cost, 2.0, places=10)
        self.assertEqual(log.company_currency_id, eur)
        self.assertAlmostEqual(log.cost_company, 2.0 / 1.25, places=8)
        later = self.priced_log(
            "gpt-4.1", usage(1_000_000, 0), when="2025-08-10 10:00:00", service=service
        )
        self.assertAlmostEqual(later.cost_company, 2.0 / 1.10, places=8)

    def test_cost_is_stored_precisely(self):
        log = self.priced_log("gpt-5-nano", usage(1, 1))
        # one token in at $0.05/1M and one out at $0.40/1M: $0.00000045
        self.assertAlmostEqual(log.cost, 0.00000045, places=12)
        # a Monetary field would keep 0.00 of this
        self.env.flush_all()
        self.env.cr.execute("SELECT cost FROM ai_usage_log WHERE id = %s", [log.id])
        self.assertAlmostEqual(float(self.env.cr.fetchone()[0]), 0.00000045, places=12)

    def test_compute_cost_function(self):
        prices = {"input": 2.0, "cached_input": 0.5, "output": 8.0, "reasoning": 0.0}
        self.assertAlmostEqual(
            compute_cost(usage(1000, 100, cached=1000), prices),
            (500 + 800) / 1e6,
            places=12,
        )

    def test_call_through_the_fake_api_is_priced(self):
        self.fake.script(
            Reply(
                body=chat_completion(
                    "gpt-4o-mini", chat_usage(2000, 100, cached_tokens=1000)
                )
            )
        )
        self.service.make_openai_api_call(
            "chat/completions", data={"messages": [{"role": "user", "content": "x"}]}
        )
        log = self.last_log()
        # 1000 * 0.15 + 1000 * 0.075 + 100 * 0.60 = 150 + 75 + 60 = 285 per 1M
        self.assertAlmostEqual(log.cost, 0.000285, places=10)
        self.assertEqual(log.price_id, self.env.ref("ai_usage_log.price_gpt_4o_mini"))
        self.assertEqual(
            fields.Date.to_date(log.request_time), fields.Date.to_date(datetime.now())
        )
