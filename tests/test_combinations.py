"""Where two working parts meet: a price table with a prefix row of another
name, a step of the finish that raises, a cache filled under another
context. Each test failed before its fix."""

from unittest.mock import patch

from odoo.tests import tagged

from .fake_openai import Reply, chat_completion, chat_usage, error_body
from .test_cost import PricedCase, usage

MESSAGES = [{"role": "user", "content": "Summarize the call."}]


@tagged("post_install", "-at_install")
class TestCombinations(PricedCase):
    def call(self, **kwargs):
        return self.service.make_openai_api_call(
            "chat/completions",
            data={"model": "gpt-4o-mini", "messages": MESSAGES},
            **kwargs,
        )

    def answer(self, prompt=1000, completion=200):
        self.fake.script(
            Reply(body=chat_completion("gpt-4o-mini", chat_usage(prompt, completion)))
        )

    def test_a_prefix_row_of_another_name_leaves_every_call_priced(self):
        self.Price.create(
            {
                "model_name": "acme-chat",
                "match_type": "prefix",
                "input_price": 1.0,
                "output_price": 2.0,
                "date_from": "2020-01-01",
            }
        )
        self.answer()
        self.call()
        log = self.last_log()
        self.assertEqual(log.status, "success")
        self.assertFalse(log.price_missing)
        # gpt-4o-mini: 1000 * 0.15 + 200 * 0.60 per 1M tokens
        self.assertAlmostEqual(log.cost, 270e-6, places=10)
        self.assertNotEqual(log.price_id.model_name, "acme-chat")

    def test_finishing_keeps_the_usage_whatever_step_raises(self):
        Log = type(self.env["ai.usage.log"])
        Price = type(self.env["ai.model.price"])
        update = Log._sql_update

        def first_finish_fails(logs, log_id, vals):
            if vals.get("status") == "success" and "cost" in vals:
                raise RuntimeError("disk full")
            return update(logs, log_id, vals)

        steps = {
            "pricing": patch.object(
                Price, "_cost_vals", side_effect=RuntimeError("bad row")
            ),
            "daily summary": patch.object(
                Log, "_resummarize_closed_days", side_effect=RuntimeError("locked")
            ),
            "export": patch.object(
                Log, "_export_call", side_effect=RuntimeError("collector down")
            ),
            "the write itself": patch.object(Log, "_sql_update", first_finish_fails),
        }
        for step, failure in steps.items():
            with self.subTest(step=step):
                self.answer(1000 + len(step), 200)
                with failure:
                    # the caller gets the provider's answer
                    answer = self.call(message_id=step)
                self.assertEqual(answer["usage"]["prompt_tokens"], 1000 + len(step))
                log = self.last_log()
                self.assertEqual(log.message_id, step)
                self.assertEqual(log.status, "success")
                self.assertEqual(log.input_tokens, 1000 + len(step))
                self.assertEqual(log.output_tokens, 200)
                self.assertEqual(log.usage_state, "reported")
                self.assertTrue(log.response_time)
                if step in ("pricing", "the write itself"):
                    self.assertTrue(log.price_missing, "an unknown cost is flagged")
                    self.assertIn(log.error_code, ("pricing_failed", "record_failed"))
                else:
                    self.assertFalse(
                        log.price_missing, (log.error_code, log.error_message)
                    )

    def test_a_failed_call_keeps_its_own_error_when_pricing_fails(self):
        self.fake.script(
            Reply(
                status=400,
                body=error_body("Bad request", "invalid_request_error", "bad_param"),
            )
        )
        with (
            patch.object(
                type(self.env["ai.model.price"]), "_cost_vals", side_effect=RuntimeError
            ),
            self.assertCallFails(),
        ):
            self.call()
        log = self.last_log()
        self.assertEqual(log.status, "failed")
        self.assertEqual(log.error_code, "bad_param")

    def test_an_inactive_context_does_not_leak_archived_prices_into_the_cache(self):
        archived = self.Price.create(
            {
                "model_name": "gpt-4o-mini",
                "service_id": self.service.id,
                "input_price": 99.0,
                "output_price": 99.0,
                "date_from": "2020-01-01",
                "active": False,
            }
        )
        self.env.registry.clear_cache()
        self.Price.with_context(active_test=False)._price_candidates(
            "gpt-4o-mini",
            self.service.id,
            archived.date_from.replace(year=2025),
            "standard",
        )
        log = self.priced_log("gpt-4o-mini", usage(1000, 0))
        self.assertNotEqual(log.price_id, archived)
        self.assertAlmostEqual(log.cost, 150e-6, places=10)

    def test_an_inactive_context_does_not_leak_archived_budgets_into_the_cache(self):
        Budget = self.env["ai.usage.budget"]
        archived = Budget.create(
            {
                "name": "Archived hard budget",
                "company_id": self.company.id,
                "hard_limit": True,
                "limit_cost": 0.01,
                "active": False,
            }
        )
        self.env.registry.clear_cache()
        Budget.with_context(active_test=False)._hard_budgets(self.company.id)
        self.assertNotIn(
            archived.id,
            Budget._applicable_hard_budgets(
                self.company.id, self.service.id, self.env.uid
            ),
        )

    def test_add_its_price_then_every_call_of_the_model_is_repriced(self):
        logs = [
            self.priced_log("acme-9", usage(1000, 100), when=when)
            for when in ("2025-03-02 10:00:00", "2025-05-01 10:00:00")
        ]
        self.assertTrue(all(log.price_missing for log in logs))
        action = logs[1].with_user(self.admin).action_add_price()
        self.assertEqual(action["context"]["default_date_from"], "2025-03-02")
        self.Price.create(
            {
                "model_name": "acme-9",
                "date_from": action["context"]["default_date_from"],
                "input_price": 1.0,
                "output_price": 2.0,
            }
        )
        answer = logs[1].with_user(self.admin).action_recompute_model_cost()
        self.assertIn("2 of 2 re-priced", answer["params"]["message"])
        self.env.invalidate_all()
        for log in logs:
            self.assertFalse(log.price_missing)
            self.assertAlmostEqual(log.cost, 1200e-6, places=10)

    def test_an_upgrade_archives_prices_that_say_the_same_but_the_newest(self):
        # what an older version let an administrator save: two active rows
        # for the same calls (the index that now refuses it is not there yet)
        self.env.cr.execute("DROP INDEX ai_model_price_one_active_price")
        shipped = self.Price.search(
            [("model_name", "=", "gpt-4o-mini"), ("service_id", "=", False)], limit=1
        )
        newer = shipped.copy({"input_price": 9.0})
        self.Price.init()
        self.env.invalidate_all()
        self.assertFalse(shipped.exists().active, "the older row is archived")
        self.assertTrue(newer.active, "the row that priced calls stays")
        self.env.cr.execute(
            "SELECT count(*) FROM ai_model_price WHERE active GROUP BY"
            " COALESCE(service_id, 0), price_provider, model_name, match_type,"
            " price_tier, date_from, min_input_tokens HAVING count(*) > 1"
        )
        self.assertEqual(self.env.cr.fetchall(), [])
