"""The logs against OpenAI's own figures (Costs and Usage APIs), read from
the fake server page by page with the service's admin key."""

from datetime import UTC, datetime, timedelta

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .fake_openai import Reply, error_body
from .test_cost import PricedCase, usage

ADMIN_KEY = "sk-admin-test0123456789abcdefghijklmnop"


def bucket(day, results):
    start = int(datetime.combine(day, datetime.min.time(), UTC).timestamp())
    return {
        "object": "bucket",
        "start_time": start,
        "end_time": start + 86_400,
        "results": results,
    }


def completions(model, requests, input_tokens, output_tokens, cached=0):
    return {
        "object": "organization.usage.completions.result",
        "input_tokens": input_tokens,
        "input_cached_tokens": cached,
        "output_tokens": output_tokens,
        "num_model_requests": requests,
        "model": model,
        "project_id": None,
        "user_id": None,
        "api_key_id": None,
        "batch": None,
        "service_tier": None,
    }


def cost(value):
    return {
        "object": "organization.costs.result",
        "amount": {"value": value, "currency": "usd"},
        "line_item": None,
        "project_id": None,
    }


@tagged("post_install", "-at_install")
class TestReconciliation(PricedCase):
    def setUp(self):
        super().setUp()
        self.today = datetime.now(UTC).date()
        self.yesterday = self.today - timedelta(days=1)
        self.service.admin_api_key = ADMIN_KEY
        self.service.reconcile_project_id = "proj_abc"
        self.Reconciliation = self.env["ai.usage.reconciliation"]

    def log_yesterday(self, model, token_usage):
        when = datetime.combine(self.yesterday, datetime.min.time()) + timedelta(
            hours=10
        )
        log = self.priced_log(model, token_usage, when=when)
        log.write({"response_model": model, "usage_state": "reported"})
        return log

    def test_billed_and_logged_side_by_side(self):
        # two logged calls of gpt-4o-mini-2024-07-18: 1,000 in / 100 out each;
        # 0.15 / 0.60 per 1M: 2 * (150 + 60) = 420 per 1M = 0.00042 USD
        for _ in range(2):
            self.log_yesterday("gpt-4o-mini-2024-07-18", usage(1000, 100))
        # OpenAI counted a third call made outside Odoo, and billed it
        self.fake.billing = {
            "organization/usage/completions": [
                bucket(self.yesterday - timedelta(days=n), [])
                for n in range(1, 4)  # empty older days: pages of two buckets
            ]
            + [
                bucket(
                    self.yesterday,
                    [completions("gpt-4o-mini-2024-07-18", 3, 3000, 300)],
                )
            ],
            "organization/usage/embeddings": [],
            "organization/costs": [bucket(self.yesterday, [cost(0.00063)])],
        }
        self.service.action_reconcile()
        requests = self.fake.received()
        self.assertTrue(requests)
        for request in requests:
            self.assertEqual(request["headers"]["Authorization"], f"Bearer {ADMIN_KEY}")
            self.assertIn("project_ids=proj_abc", request["path"])
        pages = [r for r in requests if "usage/completions" in r["path"]]
        self.assertEqual(len(pages), 2, "the second page was followed")
        [tokens] = self.Reconciliation.search(
            [("kind", "=", "usage"), ("day", "=", self.yesterday)]
        )
        self.assertRecordValues(
            tokens,
            [
                {
                    "model": "gpt-4o-mini-2024-07-18",
                    "billed_requests": 3,
                    "logged_requests": 2,
                    "billed_tokens": 3300,
                    "logged_tokens": 2200,
                    "token_drift": 1100,
                }
            ],
        )
        [day] = self.Reconciliation.search(
            [("kind", "=", "cost"), ("day", "=", self.yesterday)]
        )
        self.assertAlmostEqual(day.billed_cost, 0.00063, places=10)
        self.assertAlmostEqual(day.logged_cost, 0.00042, places=10)
        self.assertAlmostEqual(day.cost_drift, 0.00021, places=10)
        self.assertAlmostEqual(day.drift_percent, 33.33, places=2)
        # the drift is all tokens: the third call at our price, 0.00021
        self.assertAlmostEqual(tokens.valued_cost, 0.00063, places=10)
        self.assertAlmostEqual(tokens.token_cost_drift, 0.00021, places=10)
        self.assertAlmostEqual(day.price_cost_drift, 0.0, places=10)
        self.assertEqual(day.drift_cause, "tokens")
        # the drift is told once, as an alert
        alerts = self.env["ai.usage.alert"]
        alerts._cron_check_alerts()
        alerts._cron_check_alerts()
        [alert] = alerts.search([("alert_type", "=", "reconciliation")])
        self.assertIn("33.33", alert.name)
        self.assertEqual(
            self.Log.search(alert.log_domain), self.logs().filtered("usage_state")
        )

    def test_reconciling_again_replaces_the_days(self):
        self.fake.billing = {
            "organization/costs": [bucket(self.yesterday, [cost(1.0)])]
        }
        self.service.action_reconcile()
        self.fake.billing = {
            "organization/costs": [bucket(self.yesterday, [cost(2.0)])]
        }
        self.service.action_reconcile()
        [day] = self.Reconciliation.search([("kind", "=", "cost")])
        self.assertEqual(day.billed_cost, 2.0)

    def test_no_admin_key_is_a_clear_error(self):
        self.service.admin_api_key = False
        with self.assertRaisesRegex(UserError, "no OpenAI admin key"):
            self.service.action_reconcile()
        self.assertFalse(self.fake.received())
        self.Reconciliation._cron_reconcile()  # skips it quietly
        self.assertFalse(self.fake.received())

    def test_rate_limits_are_retried_and_refusals_say_why(self):
        self.fake.script(
            Reply(
                429,
                error_body("Rate limit", "rate_limit_exceeded"),
                headers={"Retry-After": "0"},
            )
        )
        self.service.action_reconcile()
        paths = [r["path"].split("?")[0] for r in self.fake.received()]
        # the refused page was asked again, then the other endpoints
        self.assertEqual(paths.count("/v1/organization/usage/completions"), 2)
        self.assertEqual(len(paths), 4)
        self.fake.reset()
        self.fake.script(
            Reply(
                401,
                error_body(
                    f"Incorrect API key provided: {ADMIN_KEY}", "invalid_request_error"
                ),
            )
        )
        with self.assertRaisesRegex(UserError, "refused the admin key") as refused:
            self.service.action_reconcile()
        self.assertNotIn(ADMIN_KEY, str(refused.exception))
        # another failure says the provider's words, the key redacted
        self.fake.reset()
        self.fake.script(
            Reply(400, error_body(f"Bad page for {ADMIN_KEY}", "invalid_request_error"))
        )
        with self.assertRaisesRegex(UserError, "could not be read") as failed:
            self.service.action_reconcile()
        self.assertIn("Bad page for", str(failed.exception))
        self.assertNotIn(ADMIN_KEY, str(failed.exception))

    def test_only_ai_administrators(self):
        with self.assertRaisesRegex(AccessError, "Only AI administrators"):
            self.service.with_user(self.user).action_reconcile()
        self.assertFalse(self.fake.received())

    def price_row(self, model, input_price, output_price, **values):
        """The service's own price of ``model`` per 1M tokens, since 2025."""
        return self.Price.create(
            {
                "model_name": model,
                "service_id": self.service.id,
                "date_from": "2025-01-01",
                "input_price": input_price,
                "output_price": output_price,
                **values,
            }
        )

    def bill_yesterday(self, model, input_tokens, output_tokens, amount):
        """OpenAI's figures of yesterday: one request of ``model``, its cost."""
        self.fake.billing = {
            "organization/usage/completions": [
                bucket(
                    self.yesterday,
                    [completions(model, 1, input_tokens, output_tokens)],
                )
            ],
            "organization/costs": [bucket(self.yesterday, [cost(amount)])],
        }

    def test_a_wrong_price_row_is_the_price_part(self):
        # our row of the model says 0.30 per 1M input instead of 0.15: the
        # logs are priced at it, OpenAI bills the same tokens at its price
        self.price_row("gpt-4o-mini-2024-07-18", 0.30, 0.60)
        self.log_yesterday("gpt-4o-mini-2024-07-18", usage(1000, 100))
        # logged: 1000 * 0.30 + 100 * 0.60 = 360 per 1M; billed: 210
        self.bill_yesterday("gpt-4o-mini-2024-07-18", 1000, 100, 0.00021)
        self.service.action_reconcile()
        [tokens] = self.Reconciliation.search([("kind", "=", "usage")])
        self.assertEqual(tokens.token_drift, 0)
        self.assertAlmostEqual(tokens.token_cost_drift, 0.0, places=10)
        [day] = self.Reconciliation.search([("kind", "=", "cost")])
        self.assertAlmostEqual(day.cost_drift, -0.00015, places=10)
        self.assertAlmostEqual(day.price_cost_drift, -0.00015, places=10)
        self.assertEqual(day.drift_cause, "price")
        self.assertIn("Price -$0.000150", day.drift_explanation)

    def test_batch_usage_is_valued_at_the_batch_price(self):
        self.price_row("acme-batch-1", 2.0, 8.0)
        self.price_row("acme-batch-1", 1.0, 4.0, price_tier="batch")
        self.fake.billing = {
            "organization/usage/completions": [
                bucket(
                    self.yesterday,
                    [dict(completions("acme-batch-1", 1, 1000, 100), batch=True)],
                )
            ],
        }
        self.service.action_reconcile()
        requests = self.fake.received()
        self.assertIn("group_by=batch", requests[0]["path"])
        [tokens] = self.Reconciliation.search([("kind", "=", "usage")])
        # 1000 * 1 + 100 * 4 = 1400 per 1M, not the standard 2800
        self.assertAlmostEqual(tokens.valued_cost, 0.0014, places=10)

    def test_logged_calls_not_billed_are_told_apart(self):
        # two calls logged, OpenAI's figures (of the project read) count one
        for _ in range(2):
            self.log_yesterday("gpt-4o-mini-2024-07-18", usage(1000, 100))
        self.bill_yesterday("gpt-4o-mini-2024-07-18", 1000, 100, 0.00021)
        self.service.action_reconcile()
        [tokens] = self.Reconciliation.search([("kind", "=", "usage")])
        self.assertEqual(tokens.token_drift, -1100)
        self.assertAlmostEqual(tokens.token_cost_drift, -0.00021, places=10)
        self.assertIn("1100 logged tokens not billed", tokens.drift_explanation)
        [day] = self.Reconciliation.search([("kind", "=", "cost")])
        self.assertEqual(day.drift_cause, "tokens")
        self.assertAlmostEqual(day.price_cost_drift, 0.0, places=10)

    def test_a_price_changed_since_the_calls_were_priced(self):
        price = self.price_row("gpt-4o-mini-2024-07-18", 0.15, 0.60)
        self.log_yesterday("gpt-4o-mini-2024-07-18", usage(1000, 100))
        price.input_price = 0.30  # after the call was priced
        self.bill_yesterday("gpt-4o-mini-2024-07-18", 1000, 100, 0.00021)
        self.service.action_reconcile()
        [tokens] = self.Reconciliation.search([("kind", "=", "usage")])
        self.assertEqual(tokens.token_drift, 0)
        self.assertAlmostEqual(tokens.token_cost_drift, 0.00015, places=10)
        self.assertIn(
            "a price changed since they were priced", tokens.drift_explanation
        )
        self.assertEqual(tokens.drift_cause, "price", "the very tokens were logged")
        [day] = self.Reconciliation.search([("kind", "=", "cost")])
        self.assertAlmostEqual(day.cost_drift, 0.0, places=10)
        self.assertEqual(day.drift_cause, "none", "billed and logged agree")
        self.assertAlmostEqual(day.price_cost_drift, -0.00015, places=10)
