"""The logs against Anthropic's own figures (its Usage and Cost API), read
from the fake server page by page with the service's Admin API key, next to
OpenAI's in one report; each drift split into tokens and price."""

from datetime import UTC, datetime, timedelta

from odoo.exceptions import AccessError, UserError
from odoo.modules.neutralize import get_neutralization_queries
from odoo.tests import tagged
from odoo.tools import mute_logger

from .fake_openai import Reply
from .fake_providers import anthropic_error
from .test_cost import PricedCase, usage
from .test_reconciliation import ADMIN_KEY as OPENAI_ADMIN_KEY
from .test_reconciliation import bucket as openai_bucket
from .test_reconciliation import completions, cost

ADMIN_KEY = "sk-ant-admin01-test0123456789abcdefghijklmnop"
WORKSPACE_KEY = "sk-ant-api03-workspace0123456789abcdefghij"
MODEL = "claude-sonnet-4-5-20250929"
USAGE = "organizations/usage_report/messages"
COSTS = "organizations/cost_report"


def bucket(day, results):
    start = datetime.combine(day, datetime.min.time(), UTC)
    return {
        "starting_at": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ending_at": (start + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "results": results,
    }


def messages_usage(
    model,
    uncached,
    output,
    cache_read=0,
    write_5m=0,
    write_1h=0,
    tier="standard",
    workspace=None,
):
    """A result of the messages usage report, grouped by model and tier."""
    return {
        "api_key_id": None,
        "workspace_id": workspace,
        "model": model,
        "service_tier": tier,
        "context_window": None,
        "uncached_input_tokens": uncached,
        "cache_creation": {
            "ephemeral_1h_input_tokens": write_1h,
            "ephemeral_5m_input_tokens": write_5m,
        },
        "cache_read_input_tokens": cache_read,
        "output_tokens": output,
        "server_tool_use": {"web_search_requests": 0},
    }


def cost_item(cents, workspace=None, model=None, token_type=None):
    """A result of the cost report grouped by description (and workspace):
    ``cents`` a decimal string; a token cost names its model."""
    return {
        "currency": "USD",
        "amount": cents,
        "workspace_id": workspace,
        "description": f"{model} {token_type}" if model else None,
        "cost_type": "tokens" if model else None,
        "context_window": "0-200k" if model else None,
        "model": model,
        "service_tier": "standard" if model else None,
        "token_type": token_type,
    }


@tagged("post_install", "-at_install")
class TestAnthropicReconciliation(PricedCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.claude = cls.env["ai.service"].create(
            {
                "name": "Test Anthropic",
                "provider": "anthropic",
                "api_base_url": cls.fake.url_of("anthropic"),
                "api_key": "sk-ant-api03-calls0123456789abcdefghijklmn",
                "default_model": MODEL,
                "price_provider": False,
                "company_id": cls.company.id,
                "admin_api_key": ADMIN_KEY,
            }
        )
        # our price (USD per 1M): 3 in, 0.30 read, 3.75 5-minute writes, 6
        # one-hour writes, 15 out
        cls.price = cls.env["ai.model.price"].create(
            {
                "model_name": MODEL,
                "service_id": cls.claude.id,
                "date_from": "2025-01-01",
                "input_price": 3.0,
                "cached_input_price": 0.30,
                "cache_write_price": 3.75,
                "cache_write_1h_price": 6.0,
                "output_price": 15.0,
            }
        )

    def setUp(self):
        super().setUp()
        self.today = datetime.now(UTC).date()
        self.yesterday = self.today - timedelta(days=1)
        self.Reconciliation = self.env["ai.usage.reconciliation"]

    def log_yesterday(self, service, model, token_usage):
        when = datetime.combine(self.yesterday, datetime.min.time()) + timedelta(
            hours=10
        )
        log = self.priced_log(model, token_usage, when=when, service=service)
        log.write({"response_model": model, "usage_state": "reported"})
        return log

    def claude_call(self, write_1h=0):
        """One logged call: 1,000 uncached + 2,000 read + 1,000 written (of
        them ``write_1h`` for an hour) in, 100 out."""
        return dict(
            usage(4000, 100, cached=2000),
            cache_write_tokens=1000,
            cache_write_1h_tokens=write_1h,
        )

    def rows(self, service, kind):
        return self.Reconciliation.search(
            [("service_id", "=", service.id), ("kind", "=", kind)]
        )

    def test_pages_cents_and_unseen_calls_next_to_openai(self):
        # two calls logged: 1000*3 + 2000*0.30 + 1000*3.75 + 100*15 = 8850
        # per 1M each, 0.01770 USD for both
        for _ in range(2):
            self.log_yesterday(self.claude, MODEL, self.claude_call())
        # Anthropic counted a third call (another application on the same
        # workspace) and billed the three at our price: 2.655 cents
        self.claude.reconcile_project_id = "wrkspc_odoo"
        self.fake.billing = {
            USAGE: [bucket(self.yesterday - timedelta(days=n), []) for n in range(1, 4)]
            + [
                bucket(
                    self.yesterday,
                    [messages_usage(MODEL, 3000, 300, cache_read=6000, write_5m=3000)],
                )
            ],
            COSTS: [
                bucket(
                    self.yesterday,
                    [
                        cost_item("2.655", "wrkspc_odoo"),
                        cost_item("123.45", "wrkspc_other"),  # not this one's
                    ],
                )
            ],
        }
        # and OpenAI, on its own service: its figures agree with the logs
        self.service.admin_api_key = OPENAI_ADMIN_KEY
        self.log_yesterday(self.service, "gpt-4o-mini-2024-07-18", usage(1000, 100))
        self.fake.billing.update(
            {
                "organization/usage/completions": [
                    openai_bucket(
                        self.yesterday,
                        [completions("gpt-4o-mini-2024-07-18", 1, 1000, 100)],
                    )
                ],
                "organization/costs": [openai_bucket(self.yesterday, [cost(0.00021)])],
            }
        )
        self.Reconciliation._cron_reconcile()

        requests = self.fake.received()
        anthropic = [r for r in requests if r["path"].startswith("/anthropic/")]
        for request in anthropic:
            self.assertEqual(request["headers"]["X-Api-Key"], ADMIN_KEY)
            self.assertEqual(request["headers"]["Anthropic-Version"], "2023-06-01")
        pages = [r["path"] for r in anthropic if "usage_report" in r["path"]]
        self.assertEqual(len(pages), 2, "the second page was followed")
        self.assertIn("page=2", pages[1])
        self.assertIn("group_by%5B%5D=model", pages[0])
        self.assertIn("workspace_ids%5B%5D=wrkspc_odoo", pages[0])
        self.assertIn("starting_at=", pages[0])

        [tokens] = self.rows(self.claude, "usage").filtered(
            lambda r: r.day == self.yesterday
        )
        self.assertRecordValues(
            tokens,
            [
                {
                    "provider": "anthropic",
                    "model": MODEL,
                    "billed_input_tokens": 12000,
                    "logged_input_tokens": 8000,
                    "billed_cached_tokens": 6000,
                    "billed_cache_write_tokens": 3000,
                    "billed_tokens": 12300,
                    "logged_tokens": 8200,
                    "token_drift": 4100,
                    "drift_cause": "tokens",
                }
            ],
        )
        self.assertAlmostEqual(tokens.valued_cost, 0.02655, places=10)
        self.assertAlmostEqual(tokens.token_cost_drift, 0.00885, places=10)
        self.assertIn("4100 billed tokens not in the logs", tokens.drift_explanation)
        [day] = self.rows(self.claude, "cost").filtered(
            lambda r: r.day == self.yesterday
        )
        # "2.655" cents is $0.02655; the other workspace's $1.2345 is not ours
        self.assertAlmostEqual(day.billed_cost, 0.02655, places=10)
        self.assertAlmostEqual(day.logged_cost, 0.0177, places=10)
        self.assertAlmostEqual(day.price_cost_drift, 0.0, places=10)
        self.assertEqual(day.drift_cause, "tokens")
        self.assertIn("tokens +$0.008850", day.drift_explanation)
        self.assertIn("Price +$0.000000", day.drift_explanation)

        # both providers in one report, by provider
        by_provider = dict(
            self.Reconciliation._read_group(
                [("kind", "=", "cost"), ("day", "=", self.yesterday)],
                ["provider"],
                ["cost_drift:sum"],
            )
        )
        self.assertEqual(set(by_provider), {"openai", "anthropic"})
        self.assertAlmostEqual(by_provider["openai"], 0.0, places=10)
        self.assertAlmostEqual(by_provider["anthropic"], 0.00885, places=10)
        # the drift is told once, as an alert naming its cause
        alerts = self.env["ai.usage.alert"]
        alerts._cron_check_alerts()
        [alert] = alerts.search([("alert_type", "=", "reconciliation")])
        self.assertIn("Anthropic", alert.name)
        self.assertIn("calls Odoo did not log", alert.message)

    def test_wrong_price_row_is_the_price_part(self):
        # our row says 6 per 1M output; Anthropic bills 15: the same tokens
        self.price.output_price = 6.0
        self.log_yesterday(self.claude, MODEL, self.claude_call())
        # logged at our price: 1000*3 + 2000*0.3 + 1000*3.75 + 100*6 = 7950
        self.fake.billing = {
            USAGE: [
                bucket(
                    self.yesterday,
                    [messages_usage(MODEL, 1000, 100, cache_read=2000, write_5m=1000)],
                )
            ],
            # 8850 / 1M by kind of token, and a web search of no model
            COSTS: [
                bucket(
                    self.yesterday,
                    [
                        cost_item(
                            "0.3", model=MODEL, token_type="uncached_input_tokens"
                        ),
                        cost_item(
                            "0.06", model=MODEL, token_type="cache_read_input_tokens"
                        ),
                        cost_item(
                            "0.375",
                            model=MODEL,
                            token_type="cache_creation.ephemeral_5m_input_tokens",
                        ),
                        cost_item("0.15", model=MODEL, token_type="output_tokens"),
                        cost_item("1"),
                    ],
                )
            ],
        }
        self.claude.action_reconcile()
        self.assertIn("group_by%5B%5D=description", self.fake.received()[-1]["path"])
        [tokens] = self.rows(self.claude, "usage")
        self.assertEqual(tokens.token_drift, 0)
        self.assertAlmostEqual(tokens.token_cost_drift, 0.0, places=10)
        # the model's price part on its row, the web search on the day's
        self.assertAlmostEqual(tokens.price_cost_drift, 0.0009, places=10)
        self.assertEqual(tokens.drift_cause, "price")
        self.assertIn("Price +$0.000900", tokens.drift_explanation)
        [day] = self.rows(self.claude, "cost")
        self.assertAlmostEqual(day.cost_drift, 0.0109, places=10)
        self.assertAlmostEqual(day.price_cost_drift, 0.01, places=10)
        self.assertEqual(day.drift_cause, "price")
        self.assertIn("tokens +$0.000000", day.drift_explanation)
        self.assertIn("Price +$0.010900", day.drift_explanation)

    def test_hour_long_cache_writes_are_valued_at_their_price(self):
        # 1,000 written for an hour: 1000*3 + 2000*0.3 + 1000*6 + 100*15 =
        # 11100 per 1M, logged and billed alike: no price part
        self.log_yesterday(self.claude, MODEL, self.claude_call(write_1h=1000))
        self.fake.billing = {
            USAGE: [
                bucket(
                    self.yesterday,
                    [messages_usage(MODEL, 1000, 100, cache_read=2000, write_1h=1000)],
                )
            ],
            COSTS: [bucket(self.yesterday, [cost_item("1.11")])],
        }
        self.claude.action_reconcile()
        [tokens] = self.rows(self.claude, "usage")
        self.assertEqual(tokens.billed_cache_write_1h_tokens, 1000)
        self.assertAlmostEqual(tokens.valued_cost, 0.0111, places=10)
        [day] = self.rows(self.claude, "cost")
        self.assertAlmostEqual(day.price_cost_drift, 0.0, places=10)
        self.assertEqual(day.drift_cause, "none")
        # without an hour-long write price, the drift is not split: no guess
        self.price.cache_write_1h_price = 0.0
        self.claude.action_reconcile()
        [day] = self.rows(self.claude, "cost")
        self.assertEqual(day.drift_cause, "unknown")
        self.assertIn("cache_write_1h", day.unpriced)
        self.assertIn("No price here for", day.drift_explanation)
        self.assertAlmostEqual(day.price_cost_drift, 0.0, places=10)

    def test_priority_tier_is_valued_from_the_usage_report(self):
        self.env["ai.model.price"].create(
            {
                "model_name": MODEL,
                "service_id": self.claude.id,
                "date_from": "2025-01-01",
                "price_tier": "priority",
                "input_price": 6.0,
                "output_price": 30.0,
            }
        )
        self.fake.billing = {
            USAGE: [
                bucket(
                    self.yesterday,
                    [messages_usage(MODEL, 1000, 100, tier="priority")],
                )
            ],
            COSTS: [bucket(self.yesterday, [])],  # no Priority Tier costs in it
        }
        self.claude.action_reconcile()
        [day] = self.rows(self.claude, "cost")
        # 1000*6 + 100*30 = 9000 per 1M, at our priority price: all tokens
        self.assertAlmostEqual(day.billed_cost, 0.009, places=10)
        self.assertAlmostEqual(day.price_cost_drift, 0.0, places=10)
        self.assertEqual(day.drift_cause, "tokens")

    def test_rate_limits_are_retried(self):
        self.fake.script(
            Reply(
                429,
                anthropic_error(429, "rate_limit_error", "Rate limited").body,
                headers={"retry-after": "0"},
            )
        )
        self.claude.action_reconcile()
        paths = [r["path"].split("?")[0] for r in self.fake.received()]
        self.assertEqual(
            paths,
            [
                "/anthropic/v1/organizations/usage_report/messages",
                "/anthropic/v1/organizations/usage_report/messages",
                "/anthropic/v1/organizations/cost_report",
            ],
        )

    def test_a_workspace_key_is_refused_plainly(self):
        self.log_yesterday(self.claude, MODEL, self.claude_call())
        self.claude.admin_api_key = WORKSPACE_KEY
        with self.assertRaises(UserError) as refused:
            self.claude.action_reconcile()
        message = str(refused.exception)
        self.assertIn("refused the admin key of Test Anthropic (HTTP 403)", message)
        self.assertIn("sk-ant-admin-", message)
        self.assertNotIn(WORKSPACE_KEY, message)
        self.assertFalse(self.Reconciliation.search([]))
        # the daily run says it in its log, without the key, and goes on
        with self.assertLogs(
            "odoo.addons.ai_usage_log.models.ai_usage_reconciliation", "WARNING"
        ) as logged:
            self.Reconciliation._cron_reconcile()
        self.assertIn("refused the admin key", logged.output[0])
        self.assertNotIn(WORKSPACE_KEY, "".join(logged.output))
        self.assertEqual(self.claude.log_ids.mapped("usage_state"), ["reported"])

    def test_gemini_has_no_usage_api(self):
        gemini = self.claude.copy(
            {"provider": "gemini", "admin_api_key": "some-key", "name": "Gemini"}
        )
        with self.assertRaisesRegex(UserError, "publishes no usage or cost API"):
            gemini.action_reconcile()
        self.assertFalse(self.fake.received())

    def test_the_admin_key_stays_with_administrators(self):
        service = self.claude.with_user(self.user)
        with self.assertRaises(AccessError):
            service.read(["admin_api_key"])
        with self.assertRaisesRegex(AccessError, "Only AI administrators"):
            service.action_reconcile()
        self.assertFalse(self.fake.received())
        self.assertFalse(self.claude._fields["admin_api_key"].exportable)
        with mute_logger("odoo.sql_db"):
            for query in get_neutralization_queries(["ai_usage_log"]):
                self.env.cr.execute(query)
        self.claude.invalidate_recordset()
        self.assertFalse(self.claude.sudo().admin_api_key)

    def test_a_model_only_another_application_used_is_priced(self):
        # no call of it logged: its catalogue rows are added, as a call's
        self.claude.price_provider = "anthropic"
        model = "claude-haiku-4-5-20251001"
        self.fake.billing = {
            USAGE: [bucket(self.yesterday, [messages_usage(model, 1_000_000, 0)])]
        }
        self.claude.action_reconcile()
        [tokens] = self.rows(self.claude, "usage")
        self.assertFalse(tokens.unpriced)
        price_id, prices, *_found = self.env["ai.model.price"]._find_price_values(
            model, self.claude.id, self.yesterday
        )
        self.assertEqual(
            self.env["ai.model.price"].browse(price_id).price_provider, "anthropic"
        )
        self.assertTrue(prices["input"])
        self.assertAlmostEqual(tokens.valued_cost, prices["input"], places=8)
        self.assertAlmostEqual(tokens.token_cost_drift, prices["input"], places=8)

    def test_amounts_are_cents(self):
        self.fake.billing = {
            COSTS: [bucket(self.yesterday, [cost_item("123.45"), cost_item("0.05")])]
        }
        self.claude.action_reconcile()
        [day] = self.rows(self.claude, "cost")
        self.assertAlmostEqual(day.billed_cost, 1.235, places=10)  # $1.2345 + $0.0005
        self.assertAlmostEqual(day.cost_drift, 1.235, places=10)
        self.assertEqual(day.drift_percent, 100.0)

    def test_an_unreadable_amount_is_a_clear_error(self):
        self.fake.billing = {COSTS: [bucket(self.yesterday, [cost_item("n/a")])]}
        with self.assertRaisesRegex(UserError, "is not a number"):
            self.claude.action_reconcile()
