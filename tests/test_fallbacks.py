"""Fallbacks between services: a call whose service is out (5xx, 529, a 429
after the retries, no connection) goes on to the backups, in order; every
attempt is a log linked to the first; the reports count the call once; our
own limits and the request's errors never fall back."""

import unittest
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import BaseCase, tagged

from .. import captured_calls
from ..exceptions import AiCallError, AiCallRefused
from ..tools import fallbacks, providers
from ..tools.providers import NATIVE_DIALECT, OPENAI_DIALECT
from .common import TEST_API_KEY
from .fake_openai import REPLY_TEXT, FakeOpenAI, Reply, error_body
from .fake_providers import anthropic_error
from .test_budgets import spend
from .test_capture import acme
from .test_providers import GEMINI_KEY, ProviderCase

try:
    import openai
except ImportError:  # optional dependency
    openai = None

MESSAGES = [{"role": "user", "content": "Summarise: delivery on Friday."}]
BACKUP_KEY = "sk-backup-0123456789abcdef0123456789ab"


def server_error(status=500, **headers):
    return Reply(
        status, error_body("The server had an error", "server_error"), headers=headers
    )


@tagged("post_install", "-at_install")
class TestFallbacks(ProviderCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.service.max_retries = 1
        # a second OpenAI-compatible server (same fake, its own key)
        cls.backup = cls.provider_service(
            "Backup OpenAI", "openai", cls.fake.url, BACKUP_KEY, "gpt-4o"
        )

    def fall_back_to(self, service, *backups, **values):
        service.write(
            {
                "fallback_ids": [
                    (0, 0, dict(values, backup_id=backup.id, sequence=n))
                    for n, backup in enumerate(backups)
                ]
            }
        )

    def chain(self, first):
        """The chain of the call whose first attempt is ``first``."""
        self.env.invalidate_all()
        return first | first.fallback_ids.sorted("fallback_attempt")

    def assertChain(self, logs, *expected):
        """Each log of ``logs`` has the values of its ``expected`` dict."""
        self.assertEqual(len(logs), len(expected), logs.mapped("status"))
        for log, values in zip(logs, expected, strict=True):
            self.assertRecordValues(log, [values])

    def first_attempt(self, service=None):
        return self.Log.search(
            [
                ("service_id", "=", (service or self.service).id),
                ("fallback_of_id", "=", False),
            ],
            order="id desc",
            limit=1,
        )

    def call(self, service=None, **options):
        return (service or self.service).make_openai_api_call(
            "chat/completions", data={"messages": MESSAGES}, **options
        )

    # ------------------------------------------------------------------
    # every entry path
    # ------------------------------------------------------------------
    def test_make_openai_api_call_falls_back_with_the_model_map(self):
        self.fall_back_to(
            self.service, self.gemini, model_map="gpt-4o-mini = gemini-2.5-flash"
        )
        self.fake.script(server_error(), server_error(503))
        payload = self.call(request_type="call_summary", contact_id="c-9")
        self.assertEqual(payload["choices"][0]["message"]["content"], REPLY_TEXT)
        self.assertEqual(payload["model"], "gemini-2.5-flash")
        sent = self.fake.received()
        self.assertEqual(
            [r["path"] for r in sent],
            ["/v1/chat/completions"] * 2 + ["/gemini/v1beta/openai/chat/completions"],
            "the service's own retries first, then its backup",
        )
        self.assertEqual(sent[2]["json"]["model"], "gemini-2.5-flash")
        self.assertEqual(sent[2]["headers"]["Authorization"], f"Bearer {GEMINI_KEY}")
        first = self.first_attempt()
        self.assertChain(
            self.chain(first),
            *[
                {
                    "service_id": self.service.id,
                    "status": "fallback",
                    "error_code": "server_error",
                    "http_status": 503,
                    "retry_count": 1,
                    "fallback_attempt": 0,
                    "contact_id": "c-9",
                },
                {
                    "service_id": self.gemini.id,
                    "status": "success",
                    "model": "gemini-2.5-flash",
                    "fallback_of_id": first.id,
                    "fallback_attempt": 1,
                    "request_type": "call_summary",
                    "contact_id": "c-9",
                },
            ],
        )
        self.env.cr.execute(
            "SELECT error_rate FROM ai_usage_log WHERE id = %s", [first.id]
        )
        self.assertEqual(self.env.cr.fetchone(), (None,), "no call of its own")
        self.assertGreater(self.chain(first)[1].cost, 0, "the backup's call is priced")

    def test_a_helper_falls_back_with_the_backups_own_key(self):
        self.fall_back_to(self.service, self.backup, model="gpt-4o")
        self.fake.script(server_error(), server_error())
        summary = self.service.generate_summary(
            "msg-7", "c-2", "Customer: Friday please."
        )
        self.assertEqual(summary, REPLY_TEXT)
        sent = self.fake.received()
        self.assertEqual(
            [r["headers"]["Authorization"] for r in sent],
            [f"Bearer {TEST_API_KEY}"] * 2 + [f"Bearer {BACKUP_KEY}"],
            "each service is called with its own key",
        )
        self.assertEqual(sent[2]["json"]["model"], "gpt-4o")
        first = self.first_attempt()
        self.assertChain(
            self.chain(first),
            {
                "status": "fallback",
                "request_type": "call_summary",
                "message_id": "msg-7",
            },
            {
                "status": "success",
                "request_type": "call_summary",
                "message_id": "msg-7",
            },
        )

    def test_make_api_call_native_anthropic_overloaded(self):
        second = self.provider_service(
            "Claude backup",
            "anthropic",
            self.fake.url_of("anthropic"),
            "sk-ant-api03-backup0123456789abcdefgh",
            "claude-haiku-4-5",
        )
        self.fall_back_to(self.anthropic, second, model="claude-haiku-4-5")
        overloaded = Reply(
            529, anthropic_error(529, "overloaded_error", "Overloaded").body
        )
        self.fake.script(*[overloaded] * 3)  # max retries 2
        payload = self.anthropic.make_api_call(
            "messages", data={"max_tokens": 64, "messages": MESSAGES}
        )
        self.assertEqual(payload["model"], "claude-haiku-4-5")
        sent = self.fake.received()
        self.assertEqual(len(sent), 4)
        self.assertEqual(sent[3]["headers"]["X-Api-Key"], second.api_key)
        first = self.first_attempt(self.anthropic)
        self.assertChain(
            self.chain(first),
            *[
                {
                    "status": "fallback",
                    "http_status": 529,
                    "error_code": "overloaded_error",
                },
                {
                    "status": "success",
                    "service_id": second.id,
                    "fallback_of_id": first.id,
                },
            ],
        )

    def test_a_stream_falls_back_before_its_first_byte_only(self):
        self.fall_back_to(self.service, self.mistral)
        # no connection at all: an outage, retried, then passed on
        self.service.api_base_url = "http://127.0.0.1:1/v1"
        events = list(
            self.service.stream_openai_api_call(
                "chat/completions", {"messages": MESSAGES}
            )
        )
        text = "".join(
            (e["choices"][0]["delta"].get("content") or "")
            for e in events
            if e.get("choices")
        )
        self.assertEqual(text, REPLY_TEXT)
        first = self.first_attempt()
        self.assertChain(
            self.chain(first),
            *[
                {
                    "status": "fallback",
                    "error_code": "connection_error",
                    "is_stream": True,
                },
                {
                    "status": "success",
                    "service_id": self.mistral.id,
                    "model": "mistral-large-latest",
                    "is_stream": True,
                    "fallback_of_id": first.id,
                },
            ],
        )
        self.assertGreater(self.chain(first)[1].output_tokens, 0)
        # once the stream flows, a cut is the caller's: no second answer
        self.service.api_base_url = self.fake.url
        self.fake.reset()
        self.fake.script(
            Reply(
                events=FakeOpenAI.chat_stream_events("gpt-4o-mini", 5, {}),
                cut_after=2,
            )
        )
        with self.assertCallFails():
            list(
                self.service.stream_openai_api_call(
                    "chat/completions", {"messages": MESSAGES}
                )
            )
        self.assertEqual(
            [r["path"] for r in self.fake.received()], ["/v1/chat/completions"]
        )
        self.assertEqual(self.last_log().status, "failed")

    @unittest.skipUnless(openai, "the openai package is not installed")
    def test_openai_client_reroutes_the_sdks_last_attempt(self):
        self.fall_back_to(self.service, self.backup, model="gpt-4o")
        quick = {"retry-after-ms": "5"}
        self.fake.script(server_error(502, **quick), server_error(502, **quick))
        client = self.service.openai_client(request_type="contact_analysis")
        completion = client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES
        )
        self.assertEqual(completion.choices[0].message.content, REPLY_TEXT)
        self.assertEqual(completion.model, "gpt-4o-2024-08-06")
        sent = self.fake.received()
        self.assertEqual(len(sent), 3, "the SDK's attempt and retry, then the backup")
        self.assertEqual(sent[2]["headers"]["Authorization"], f"Bearer {BACKUP_KEY}")
        self.assertEqual(sent[2]["json"]["model"], "gpt-4o")
        logs = self.logs() | self.logs(self.backup)
        retried, last, answered = logs.sorted("id")
        self.assertChain(
            retried | last | answered,
            *[
                # the SDK's first attempt failed and was retried: a failure
                {"status": "failed", "http_status": 502, "fallback_of_id": False},
                {"status": "fallback", "http_status": 502, "fallback_of_id": False},
                {
                    "status": "success",
                    "service_id": self.backup.id,
                    "model": "gpt-4o",
                    "fallback_of_id": last.id,
                    "fallback_attempt": 1,
                    "request_type": "contact_analysis",
                },
            ],
        )
        # a plain 400 on the last attempt is the SDK's error, not rerouted
        self.fake.reset()
        self.fake.script(
            server_error(502, **quick),
            Reply(400, error_body("bad messages", "invalid_request_error")),
        )
        with unittest.TestCase.assertRaises(self, openai.BadRequestError):
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        self.assertEqual(len(self.fake.received()), 2)

    def test_a_captured_call_is_never_rerouted(self):
        self.fall_back_to(self.service, self.backup)
        captured_calls.forget_targets(self.env.cr.dbname)
        self.fake.script(server_error(503))
        # someone else's code (test_capture's acme_ai), captured as it leaves
        response = acme()["post"](
            self.env["res.partner"].with_user(self.user),
            self.fake.url,
            {"model": "gpt-4o-mini", "messages": MESSAGES},
            TEST_API_KEY,
        )
        self.assertEqual(response.status_code, 503, "the caller gets its own answer")
        self.assertEqual(len(self.fake.received()), 1)
        log = self.last_log()
        self.assertRecordValues(
            log, [{"is_captured": True, "status": "failed", "http_status": 503}]
        )
        self.assertFalse(self.logs(self.backup))

    # ------------------------------------------------------------------
    # what never falls back, and a chain out everywhere
    # ------------------------------------------------------------------
    def test_no_fallback_on_a_budget_a_rate_limit_nor_a_bad_request(self):
        self.fall_back_to(self.service, self.backup)
        self.env["ai.usage.budget"].create(
            {
                "name": "Spent",
                "company_id": self.company.id,
                "service_id": self.service.id,
                "hard_limit": True,
                "limit_tokens": 1,
            }
        )
        spend(self.env, self.service, tokens=50)
        with unittest.TestCase.assertRaises(self, AiCallRefused):
            self.call()
        self.assertFalse(self.fake.received(), "refused before anything was sent")
        self.assertFalse(
            self.logs(self.backup), "a refusal never moves spend elsewhere"
        )
        self.env["ai.usage.budget"].search([("name", "=", "Spent")]).unlink()

        self.service.rate_limit_per_minute = 1
        self.call(self.service.with_user(self.user))
        with unittest.TestCase.assertRaisesRegex(self, AiCallRefused, "Rate limit"):
            self.call(self.service.with_user(self.user))
        self.assertEqual(self.logs(self.service)[0].status, "rate_limited")
        self.service.rate_limit_per_minute = 0

        self.fake.script(
            Reply(400, error_body("bad messages", "invalid_request_error"))
        )
        with self.assertCallFails("bad messages"):
            self.call()
        self.assertEqual(self.last_log().status, "failed")
        self.assertFalse(self.logs(self.backup), "a bad request is bad everywhere")

    def test_no_fallback_on_a_quota_nor_with_the_callers_own_key(self):
        self.fall_back_to(self.service, self.backup)
        quota = Reply(
            429,
            error_body("You exceeded your current quota.", "insufficient_quota",
                       "insufficient_quota"),
        )  # fmt: skip
        self.fake.script(quota, quota)  # the service retries a 429 once
        with self.assertCallFails("current quota"):
            self.call()
        self.assertEqual(self.last_log().status, "failed")
        self.assertFalse(self.logs(self.backup), "a quota is a limit, not an outage")
        outage = Reply(503, error_body("Overloaded", "server_error"))
        self.fake.script(outage, outage)
        with self.assertCallFails("Overloaded"):
            self.call(custom_api_key="sk-callers-own-0123456789abcdef")
        self.assertFalse(
            self.logs(self.backup), "the caller's own key is not swapped for another"
        )
        self.assertEqual(
            [r["headers"]["Authorization"] for r in self.fake.received()][-2:],
            ["Bearer sk-callers-own-0123456789abcdef"] * 2,
        )

    def test_the_connection_test_tests_the_service_only(self):
        self.fall_back_to(self.service, self.backup)
        self.fake.script(server_error(), server_error())
        with self.assertCallFails("server_error"):
            self.service._test_connection()
        self.assertEqual(len(self.fake.received()), 2)
        self.assertRecordValues(
            self.last_log(), [{"status": "failed", "request_type": "test_connection"}]
        )
        self.assertFalse(self.logs(self.backup))

    def test_a_refusal_on_the_backup_ends_the_chain(self):
        self.fall_back_to(self.service, self.backup)
        self.backup.rate_limit_per_minute = 1
        self.call(self.backup)
        self.fake.reset()
        self.fake.script(server_error(), server_error())
        with unittest.TestCase.assertRaisesRegex(self, AiCallRefused, "Rate limit"):
            self.call()
        first = self.first_attempt()
        self.assertChain(
            self.chain(first),
            *[
                {"status": "fallback"},
                {"status": "rate_limited", "fallback_of_id": first.id},
            ],
        )
        self.assertEqual(len(self.fake.received()), 2, "the backup was not called")

    def test_a_chain_out_everywhere_raises_one_error(self):
        self.fall_back_to(self.service, self.backup, self.mistral)
        self.fake.script(
            *[server_error()] * 2,  # the service (max retries 1)
            *[Reply(429, error_body("Slow down", "rate_limit_exceeded"))] * 3,
        )
        self.mistral.api_base_url = "http://127.0.0.1:1/v1"
        with self.assertCallFails("Every service of the fallback chain") as caught:
            self.call()
        error = caught.exception
        message = str(error)
        for name in (self.service.name, self.backup.name, self.mistral.name):
            self.assertIn(name, message)
        self.assertIn("server_error", message)
        self.assertIn("rate_limit_exceeded", message)
        self.assertIn("connection_error", message)
        for key in (TEST_API_KEY, BACKUP_KEY):
            self.assertNotIn(key, message)
        first = self.first_attempt()
        chain = self.chain(first)
        self.assertChain(
            chain,
            *[
                {"status": "fallback", "service_id": self.service.id},
                {
                    "status": "fallback",
                    "service_id": self.backup.id,
                    "fallback_attempt": 1,
                },
                {
                    "status": "failed",
                    "service_id": self.mistral.id,
                    "fallback_attempt": 2,
                    "error_code": "connection_error",
                },
            ],
        )
        self.assertIsInstance(error, AiCallError)
        self.assertEqual(error.log_id, chain[2].id, "the last attempt's log")

    def test_a_backup_that_cannot_take_the_shape_is_skipped(self):
        # Gemini's own API: an OpenAI backup cannot take it
        self.fall_back_to(self.gemini, self.backup)
        self.fake.script(
            *[
                Reply(
                    503,
                    [
                        {
                            "error": {
                                "code": 503,
                                "status": "UNAVAILABLE",
                                "message": "down",
                            }
                        }
                    ],
                )
            ]
            * 3
        )
        with self.assertCallFails("cannot take this request shape"):
            self.gemini.make_api_call(
                "generateContent", data={"contents": [{"parts": [{"text": "Hi"}]}]}
            )
        self.assertRecordValues(self.last_log(self.gemini), [{"status": "failed"}])
        self.assertFalse(self.logs(self.backup))

    # ------------------------------------------------------------------
    # the reports count a chain once
    # ------------------------------------------------------------------
    def test_reports_count_the_chain_once(self):
        self.fall_back_to(self.service, self.backup)
        self.fake.script(server_error(), server_error())
        self.call()
        self.call()  # no outage: no fallback
        self.env.invalidate_all()
        self.assertEqual((self.service.usage_count, self.service.error_count), (1, 0))
        self.assertEqual(self.backup.usage_count, 1)
        [today] = self.env["ai.usage.report"].get_usage_summary(
            date_from=fields.Date.today(), date_to=fields.Date.today()
        )
        self.assertEqual(today["requests"], 2)
        self.assertEqual(today["error_rate"], 0.0)
        dashboard = self.env["ai.usage.dashboard"].get_dashboard_data()
        figures = dashboard["periods"][0]
        self.assertEqual(figures["calls"], 2)
        self.assertEqual(figures["error_rate"], 0.0)
        self.assertEqual(figures["fell_back"], 1)
        self.assertEqual(figures["fallback_rate"], 50.0)
        self.assertEqual(
            self.Log.search_count(figures["fallback_domain"]), 1, "what it opens"
        )
        # the same from the daily summary once the day is closed
        logs = self.Log.search([("service_id", "in", (self.service | self.backup).ids)])
        past = fields.Datetime.now() - timedelta(days=3)
        self.env.cr.execute(
            "UPDATE ai_usage_log SET request_time = %s WHERE id IN %s",
            [past, tuple(logs.ids)],
        )
        self.env.invalidate_all()
        self.env["ai.usage.log.daily"]._resummarize_days({past.date()})
        [day] = self.env["ai.usage.report"].get_usage_summary(
            date_from=past.date(), date_to=past.date()
        )
        self.assertEqual((day["requests"], day["error_rate"]), (2, 0.0))
        self.assertEqual((self.service.usage_count, self.backup.usage_count), (1, 1))
        domain = [
            ("request_time", ">=", past - timedelta(hours=1)),
            ("status", "!=", "fallback"),
        ]
        aggregates = ["__count", "error_rate:avg"]
        self.assertEqual(
            self.Log._read_group(domain, [], aggregates),
            self.Log.with_context(ai_usage_from_logs=True)._read_group(
                domain, [], aggregates
            ),
        )
        self.assertEqual(self.Log._read_group(domain, [], ["__count"]), [(2,)])

    def test_an_alert_when_a_service_falls_back(self):
        self.fall_back_to(self.service, self.backup)
        self.fake.script(server_error(), server_error())
        self.call()
        alerts = self.env["ai.usage.alert"]._cron_check_alerts()
        alert = alerts.filtered(lambda a: a.alert_type == "fallback")
        self.assertEqual(len(alert), 1)
        self.assertEqual(alert.service_id, self.service)
        self.assertIn("1 call(s) of Test OpenAI went on to a backup", alert.message)
        self.assertEqual(
            self.Log.search(alert.log_domain), self.first_attempt(), "its logs"
        )
        self.assertFalse(
            self.env["ai.usage.alert"]
            ._cron_check_alerts()
            .filtered(lambda a: a.alert_type == "fallback"),
            "told once",
        )

    # ------------------------------------------------------------------
    # configuration and rights
    # ------------------------------------------------------------------
    def test_bad_backups_are_refused(self):
        with self.assertRaisesRegex(ValidationError, "its own backup"):
            self.fall_back_to(self.service, self.service)
        with self.assertRaisesRegex(ValidationError, "cannot take the calls"):
            self.fall_back_to(self.service, self.anthropic)
        self.fall_back_to(self.service, self.backup)
        # each backs the other up: a chain is the called service's list only
        self.fall_back_to(self.backup, self.service)
        other = self.env["res.company"].create({"name": "Elsewhere"})
        foreign = self.env["ai.service"].create(
            {"name": "Foreign", "api_base_url": self.fake.url, "company_id": other.id}
        )
        with self.assertRaisesRegex(ValidationError, "another company"):
            self.fall_back_to(self.mistral, foreign)
        with self.assertRaisesRegex(ValidationError, "model map"):
            self.fall_back_to(self.mistral, self.azure, model_map="gpt-4o claude")
        with self.assertRaises(AccessError):
            self.env["ai.service.fallback"].with_user(self.user).create(
                {"service_id": self.mistral.id, "backup_id": self.azure.id}
            )

    def test_a_user_sees_the_chain_of_their_own_calls_only(self):
        self.fall_back_to(self.service, self.backup)
        self.fake.script(server_error(), server_error())
        self.call(self.service.with_user(self.user))
        first = self.first_attempt()
        self.assertEqual(first.user_id, self.user)
        mine = self.Log.with_user(self.user).browse(first.id)
        self.assertEqual(mine.fallback_ids.service_id, self.backup)
        self.assertEqual(mine.fallback_ids.fallback_of_id, mine)
        with self.assertRaises(AccessError):
            self.Log.with_user(self.other_user).browse(first.fallback_ids.id).read(
                ["fallback_of_id"]
            )


@tagged("post_install", "-at_install")
class TestFallbackRules(BaseCase):
    """tools.fallbacks, without a database."""

    def test_what_is_an_outage(self):
        for status in (500, 502, 503, 504, 529, 429):
            self.assertTrue(fallbacks.is_outage("any", status), status)
        for status in (400, 401, 403, 404, 408, 409, 422):
            self.assertFalse(fallbacks.is_outage("any", status), status)
        self.assertFalse(
            fallbacks.is_outage("insufficient_quota", 429), "a quota is a limit"
        )
        for code in ("connection_error", "connect_timeout", "timeout"):
            self.assertTrue(fallbacks.is_outage(code, None), code)
        for code in ("ssl_error", "invalid_json", "request_error", "budget_exceeded"):
            self.assertFalse(fallbacks.is_outage(code, None), code)

    def test_which_backup_takes_which_shape(self):
        get = providers.get
        openai_shape = fallbacks.request_shape(get("openai"), NATIVE_DIALECT)
        self.assertEqual(openai_shape, OPENAI_DIALECT, "OpenAI's own API is its shape")
        self.assertEqual(
            fallbacks.backup_dialect(openai_shape, get("gemini")), "openai"
        )
        self.assertIsNone(fallbacks.backup_dialect(openai_shape, get("anthropic")))
        gemini_native = fallbacks.request_shape(get("gemini"), NATIVE_DIALECT)
        self.assertEqual(
            fallbacks.backup_dialect(gemini_native, get("gemini")), "native"
        )
        self.assertIsNone(fallbacks.backup_dialect(gemini_native, get("openai")))

    def test_model_map_and_the_model_asked(self):
        mapping = fallbacks.parse_model_map(
            "# OpenAI to Gemini\ngpt-4o = gemini-2.5-pro\n\n"
            " gpt-4o-mini=gemini-2.5-flash "
        )
        self.assertEqual(
            mapping, {"gpt-4o": "gemini-2.5-pro", "gpt-4o-mini": "gemini-2.5-flash"}
        )
        with self.assertRaisesRegex(ValueError, "line 2"):
            fallbacks.parse_model_map("a = b\nno equals sign")
        self.assertEqual(
            fallbacks.backup_model("gpt-4o", mapping, "x", None), "gemini-2.5-pro"
        )
        self.assertEqual(fallbacks.backup_model("o3", mapping, "x", "o3"), "x")
        self.assertEqual(fallbacks.backup_model("o3", mapping, False, "o3"), "o3")
        self.assertIsNone(fallbacks.backup_model("o3", mapping, False, None))
        gemini = providers.get("gemini")
        self.assertEqual(
            fallbacks.with_model(
                gemini,
                NATIVE_DIALECT,
                "models/gemini-2.5-flash:generateContent",
                {},
                "gemini-2.5-pro",
            ),
            ("models/gemini-2.5-pro:generateContent", {}),
        )
        self.assertEqual(
            fallbacks.with_model(
                providers.get("openai"),
                OPENAI_DIALECT,
                "chat/completions",
                {"model": "a"},
                "b",
            ),
            ("chat/completions", {"model": "b"}),
        )
