"""Which price a call gets: exact name, then its undated name, then a prefix
an administrator marked; else the price catalogue (genai-prices) at call
time; else Missing Price. Never a sibling's price."""

from odoo.exceptions import AccessError

from ..tools import price_catalogue
from .fake_openai import Reply, chat_completion, chat_usage
from .test_cost import PricedCase, usage

# the fake server's usage: 100 input tokens of which 40 cached, 50 output
USAGE = usage(100, 50, cached=40)


class TestPriceMatching(PricedCase):
    def test_real_model_ids_are_priced_exactly_or_flagged(self):
        # (model, request time, expected USD or None for Missing Price)
        # Hand-checked from the catalogue's USD per 1M tokens
        # (input / cached input / output):
        cases = [
            # 60 * 0.15 + 40 * 0.075 + 50 * 0.60 = 42
            ("gpt-4o-mini-2024-07-18", "2025-09-01 12:00:00", 0.000042),
            # o3-pro 20 / - / 80 (no cache discount): 100 * 20 + 50 * 80 = 6000
            ("o3-pro", "2025-09-01 12:00:00", 0.006),
            # gpt-5.2 1.75 / 0.175 / 14: 105 + 7 + 700 = 812
            ("gpt-5.2", "2026-01-15 12:00:00", 0.000812),
            ("gpt-5.2-2025-12-11", "2026-01-15 12:00:00", 0.000812),
            # gpt-5.4-nano 0.2 / 0.02 / 1.25: 12 + 0.8 + 62.5 = 75.3
            ("gpt-5.4-nano", "2026-04-01 12:00:00", 0.0000753),
            # gpt-4o-2024-05-13 is not gpt-4o: 5 / - / 15: 500 + 750 = 1250
            ("gpt-4o-2024-05-13", "2025-09-01 12:00:00", 0.00125),
            # o3 before its price cut (10 / 0.5 / 40): 600 + 20 + 2000 = 2620
            ("o3", "2025-05-01 12:00:00", 0.00262),
            # o3 from 2025-06-10 (2 / 0.5 / 8): 120 + 20 + 400 = 540
            ("o3-2025-04-16", "2025-07-01 12:00:00", 0.00054),
            # o4-mini 1.1 / 0.275 / 4.4: 66 + 11 + 220 = 297
            ("o4-mini-2025-04-16", "2025-09-01 12:00:00", 0.000297),
            # text-embedding-3-small: 0.02 on the 100 input tokens (40 cached
            # at the input price: no discount) = 2
            ("text-embedding-3-small", "2025-09-01 12:00:00", 0.000002),
            # long-context tiers: not a plain price yet, flagged
            ("gpt-5.5-pro", "2026-06-01 12:00:00", None),
            # billed per audio token: flagged, not billed at a text rate
            ("gpt-4o-mini-transcribe", "2025-09-01 12:00:00", None),
            # a fine-tuned model is not its base model
            ("ft:gpt-4o-mini-2024-07-18:acme::AbC123", "2025-09-01 12:00:00", None),
            ("gpt-9-ultra", "2025-09-01 12:00:00", None),
        ]
        for model_name, when, expected in cases:
            with self.subTest(model=model_name):
                log = self.priced_log(model_name, USAGE, when=when)
                if expected is None:
                    self.assertTrue(log.price_missing)
                    self.assertFalse(log.price_id)
                    continue
                self.assertFalse(log.price_missing)
                self.assertAlmostEqual(log.cost, expected, places=12)

    def test_a_model_priced_at_call_time_gets_its_rows(self):
        self.assertFalse(self.Price.search([("model_name", "like", "gpt-5.2")]))
        log = self.priced_log("gpt-5.2-2025-12-11", USAGE, when="2026-01-15 00:00:00")
        row = self.Price.search(
            [("model_name", "like", "gpt-5.2"), ("price_tier", "=", "standard")]
        )
        self.assertEqual(log.price_id, row, "the row used is visible and editable")
        self.assertEqual(row.model_name, "gpt-5.2-2025-12-11")
        self.assertEqual(row.source, f"genai-prices {price_catalogue.version()}")
        row.input_price = 100.0  # an administrator's correction wins from now on
        later = self.priced_log(
            "gpt-5.2-2025-12-11", usage(1_000_000, 0), when="2026-02-01 00:00:00"
        )
        self.assertAlmostEqual(later.cost, 100.0, places=10)

    def test_a_snapshot_of_the_same_model_uses_the_undated_row(self):
        shipped = self.env.ref("ai_usage_log.price_gpt_4o_mini")
        shipped.input_price = 0.1  # a negotiated price applies to its snapshots
        log = self.priced_log("gpt-4o-mini-2024-07-18", usage(1_000_000, 0))
        self.assertEqual(log.price_id, shipped)
        self.assertAlmostEqual(log.cost, 0.1, places=10)

    def test_a_prefix_bills_only_where_marked(self):
        self.assertTrue(self.priced_log("acme-chat-large", USAGE).price_missing)
        self.Price.create(
            {
                "model_name": "acme-chat",
                "match_type": "prefix",
                "date_from": "2024-01-01",
                "input_price": 1.0,
                "output_price": 1.0,
            }
        )
        log = self.priced_log("acme-chat-large", usage(1_000_000, 0))
        self.assertAlmostEqual(log.cost, 1.0, places=10)


class TestUpdatePrices(PricedCase):
    def test_update_adds_never_overwrites_and_runs_twice_for_nothing(self):
        edited = self.env.ref("ai_usage_log.price_gpt_4o")
        edited.input_price = 99.0  # an administrator's own price
        mine = self.Price.create(
            {"model_name": "gpt-5.2", "date_from": "2020-01-01", "input_price": 7.0}
        )
        before = self.Price.search_count([])
        result = self.Price.with_user(self.admin).action_update_prices()
        added = self.Price.search_count([]) - before
        self.assertGreater(added, 50, "the catalogue's models were added")
        message = result["params"]["message"]
        self.assertIn(f"{added} prices added", message)
        self.assertIn("gpt-3.5-turbo (2020-01-01)", message)
        self.assertTrue(self.Price.search([("model_name", "=", "gpt-5.4-nano")]))
        self.assertEqual(edited.input_price, 99.0, "an edited row is kept")
        self.assertEqual(mine.input_price, 7.0)
        standard = self.Price.search(
            [("model_name", "=", "gpt-5.2"), ("price_tier", "=", "standard")]
        )
        self.assertEqual(standard, mine, "the administrator's row stands")
        self.assertFalse(
            self.Price.search([("model_name", "in", ("gpt-5.5-pro", "ft:gpt-4o"))]),
            "no price the list cannot hold exactly",
        )
        again = self.Price.with_user(self.admin).action_update_prices()
        self.assertEqual(self.Price.search_count([]) - before, added, "nothing twice")
        self.assertIn("already has every price", again["params"]["message"])
        self.assertEqual(self.Price._cron_update_prices(), 0)

    def test_only_administrators_update_prices(self):
        with self.assertRaises(AccessError):
            self.Price.with_user(self.user).action_update_prices()


class TestTiers(PricedCase):
    """A call is priced at the rate of its service tier or of the Batch API,
    from the catalogue's date for that rate; never at another tier's."""

    def tier_log(self, model_name, when, service_tier=None, batch=False):
        log = self.Log.create(
            {
                "service_id": self.service.id,
                "model": model_name,
                "status": "success",
                "request_time": when,
                "service_tier": service_tier,
                "is_batch": batch,
            }
        )
        log.write(log._usage_vals(USAGE, model_name, log._facts()))
        if log.price_missing:
            log._clear_cost()
        return log

    def test_tiers_and_batch(self):
        when = "2026-11-01 12:00:00"
        cases = [
            # gpt-5 standard 1.25 / 0.125 / 10: 75 + 5 + 500 = 580
            ("gpt-5", None, False, 0.00058),
            ("gpt-5", "default", False, 0.00058),
            # flex is half: 0.625 / 0.0625 / 5: 37.5 + 2.5 + 250 = 290
            ("gpt-5", "flex", False, 0.00029),
            # priority 2.5 / 0.25 / 20: 150 + 10 + 1000 = 1160
            ("gpt-5-2025-08-07", "priority", False, 0.00116),
            # the API may answer "fast" for priority
            ("gpt-5", "fast", False, 0.00116),
            # batch 0.625 / 0.0625 / 5
            ("gpt-5", None, True, 0.00029),
            # gpt-4o-mini batch 0.075 / 0.075 (no cached rate in batch) / 0.3:
            # 4.5 + 3 + 15 = 22.5
            ("gpt-4o-mini", None, True, 0.0000225),
            # gpt-4o-mini has no flex rate: flagged, not the standard one
            ("gpt-4o-mini", "flex", False, None),
            ("gpt-5", "scale", False, None),
        ]
        for model_name, tier, batch, expected in cases:
            with self.subTest(model=model_name, tier=tier, batch=batch):
                log = self.tier_log(model_name, when, tier, batch)
                if expected is None:
                    self.assertTrue(log.price_missing)
                    continue
                self.assertFalse(log.price_missing)
                self.assertAlmostEqual(log.cost, expected, places=12)

    def test_a_tier_rate_applies_from_its_date(self):
        before = self.tier_log("gpt-5", "2026-09-01 12:00:00", "flex")
        self.assertTrue(before.price_missing, "the flex rate before it is unknown")

    def test_a_flex_call_through_the_api(self):
        body = chat_completion("gpt-5", chat_usage(100, 50, cached_tokens=40))
        body["service_tier"] = "flex"
        self.fake.script(Reply(body=body))
        self.service.make_openai_api_call(
            "chat/completions",
            data={"model": "gpt-5", "messages": [{"role": "user", "content": "x"}]},
        )
        log = self.last_log()
        self.assertEqual(log.service_tier, "flex")
        self.assertEqual(log.price_id.price_tier, "flex")
        self.assertAlmostEqual(log.cost, 0.00029, places=12)
