"""Calls made by code that never heard of the add-on (another module's
requests.post, httpx2 client or SDK), captured where they leave Odoo and
logged like the add-on's own: once, with their user, module, usage and
cost; refused by a hard budget; never in the caller's way."""

import asyncio
import json
import os
import textwrap
import threading
import unittest
from unittest.mock import patch

import requests

from odoo import SUPERUSER_ID, api
from odoo.tests import new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from .. import captured_calls
from .common import TEST_API_KEY, AiHttpCase, AiUsageCase
from .fake_openai import Reply, error_body
from .test_providers import ANTHROPIC_KEY, GEMINI_KEY, MESSAGES, ProviderCase

try:
    import openai
except ImportError:  # optional
    openai = None
try:
    import httpx2
except ImportError:  # comes with the SDKs
    httpx2 = None
try:
    import anthropic
except ImportError:  # optional
    anthropic = None
try:
    from google import genai
except ImportError:  # optional
    genai = None

# The code of "acme_ai", a module that calls OpenAI its own way: its
# functions run as a model method would, on a recordset (``self``).
ACME_CODE = textwrap.dedent(
    """
    import requests

    def post(self, url, body, key):
        return requests.post(
            url + "/chat/completions",
            json=body,
            headers={"Authorization": "Bearer " + key},
            timeout=10,
        )

    def with_client(self, client_call):
        return client_call()
    """
)


def acme():
    namespace = {"__name__": "odoo.addons.acme_ai.models.assistant"}
    exec(compile(ACME_CODE, "acme_ai/models/assistant.py", "exec"), namespace)  # noqa: S102
    return namespace


BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}


@tagged("post_install", "-at_install")
class TestCapture(AiUsageCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.acme = acme()
        cls.employee = cls.user

    def setUp(self):
        super().setUp()
        captured_calls.forget_targets(self.env.cr.dbname)

    def as_acme(self, user=None):
        """A recordset of acme's code, for ``user``."""
        return self.env["res.partner"].with_user(user or self.employee)

    def captured(self):
        return self.logs().filtered("is_captured")

    def test_a_plain_requests_post_is_logged_once_with_its_user_and_module(self):
        response = self.acme["post"](self.as_acme(), self.fake.url, BODY, TEST_API_KEY)
        self.assertEqual(response.status_code, 200)
        usage = response.json()["usage"]
        logs = self.logs()
        self.assertEqual(len(logs), 1, "one log, the call's")
        self.assertRecordValues(
            logs,
            [
                {
                    "is_captured": True,
                    "status": "success",
                    "source_module": "acme_ai",
                    "user_id": self.employee.id,
                    "company_id": self.company.id,
                    "endpoint": "chat/completions",
                    "model": "gpt-4o-mini",
                    "input_tokens": usage["prompt_tokens"],
                    "output_tokens": usage["completion_tokens"],
                    "http_status": 200,
                    "price_missing": False,
                }
            ],
        )
        self.assertGreater(logs.cost, 0)
        # a fingerprint tells keys apart; the key is stored nowhere
        self.assertEqual(logs.api_key_hint, "sk-…6789")
        self.env.cr.execute(
            "SELECT count(*) FROM ai_usage_log WHERE row_to_json(ai_usage_log)::text"
            " LIKE %s",
            [f"%{TEST_API_KEY}%"],
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)

    def test_the_dashboard_and_cost_by_module_name_the_module(self):
        self.acme["post"](self.as_acme(), self.fake.url, BODY, TEST_API_KEY)
        self.service.make_openai_api_call("chat/completions", data=dict(BODY))
        data = self.env["ai.usage.dashboard"].get_dashboard_data()
        self.assertEqual(
            [(row["name"], row["calls"]) for row in data["top_modules"]],
            [("acme_ai", 1)],
            "the captured call's module; the helper's call names none",
        )
        action = self.env.ref("ai_usage_log.action_ai_usage_log_cost_by_module")
        groups = self.Log._read_group(
            safe_eval(action.domain), ["source_module"], ["cost_company:sum"]
        )
        self.assertEqual([module for module, _cost in groups], ["acme_ai"])
        self.assertGreater(groups[0][1], 0)

    def test_the_add_ons_own_calls_are_not_captured_again(self):
        self.service.make_openai_api_call("chat/completions", data=dict(BODY))
        self.service.ensure_usage_logging(
            lambda: requests.post(
                f"{self.fake.url}/chat/completions",
                json=BODY,
                headers={"Authorization": f"Bearer {TEST_API_KEY}"},
                timeout=10,
            ),
            endpoint="chat/completions",
        )
        if openai:
            self.service.openai_client().chat.completions.create(**BODY)
        self.assertEqual(len(self.logs()), 3 if openai else 2)
        self.assertFalse(self.captured())

    @unittest.skipUnless(httpx2, "httpx2 is not installed")
    def test_an_httpx2_client_sync_and_async(self):
        def sync_call():
            with httpx2.Client() as client:
                return client.post(
                    f"{self.fake.url}/chat/completions",
                    json=BODY,
                    headers={"Authorization": f"Bearer {TEST_API_KEY}"},
                ).json()

        async def async_call():
            async with httpx2.AsyncClient() as client:
                response = await client.post(
                    f"{self.fake.url}/embeddings",
                    json={"model": "text-embedding-3-small", "input": "hi"},
                    headers={"Authorization": f"Bearer {TEST_API_KEY}"},
                )
                return response.json()

        self.acme["with_client"](self.as_acme(), sync_call)
        self.acme["with_client"](self.as_acme(), lambda: asyncio.run(async_call()))
        logs = self.captured()
        self.assertEqual(len(logs), 2)
        self.assertEqual(
            sorted(logs.mapped("endpoint")), ["chat/completions", "embeddings"]
        )
        self.assertEqual(set(logs.mapped("status")), {"success"})
        self.assertEqual(set(logs.mapped("source_module")), {"acme_ai"})
        self.assertTrue(all(log.input_tokens for log in logs))

    @unittest.skipUnless(openai, "the openai package is not installed")
    def test_the_openai_sdk_of_another_module_sync_streaming_and_async(self):
        client = openai.OpenAI(base_url=self.fake.url, api_key=TEST_API_KEY)
        self.acme["with_client"](
            self.as_acme(), lambda: client.chat.completions.create(**BODY)
        )

        def streamed():
            stream = client.chat.completions.create(
                **BODY, stream=True, stream_options={"include_usage": True}
            )
            return [chunk for chunk in stream]

        chunks = self.acme["with_client"](self.as_acme(), streamed)
        self.assertTrue(chunks)

        async def async_call():
            async with openai.AsyncOpenAI(
                base_url=self.fake.url, api_key=TEST_API_KEY
            ) as async_client:
                return await async_client.chat.completions.create(**BODY)

        self.acme["with_client"](self.as_acme(), lambda: asyncio.run(async_call()))
        logs = self.captured()
        self.assertEqual(len(logs), 3)
        self.assertEqual(set(logs.mapped("status")), {"success"})
        self.assertEqual(
            logs.filtered("is_stream").mapped("input_tokens"),
            logs[2:].mapped("input_tokens"),
        )
        self.assertTrue(all(log.cost > 0 for log in logs))

    def test_a_hard_budget_refuses_a_captured_call_before_it_is_sent(self):
        self.env["ai.usage.budget"].create(
            {"name": "Spent", "limit_tokens": 1, "hard_limit": True}
        )
        self.service.make_openai_api_call("chat/completions", data=dict(BODY))
        self.fake.reset()
        response = self.acme["post"](self.as_acme(), self.fake.url, BODY, TEST_API_KEY)
        self.assertEqual(response.status_code, 429)
        self.assertEqual(response.headers.get("x-should-retry"), "false")
        self.assertEqual(response.json()["error"]["code"], "budget_exceeded")
        self.assertFalse(self.fake.received(), "nothing was sent")
        self.assertEqual(self.captured().status, "blocked")
        if openai:
            client = openai.OpenAI(base_url=self.fake.url, api_key=TEST_API_KEY)
            with unittest.TestCase.assertRaises(self, openai.RateLimitError):
                self.acme["with_client"](
                    self.as_acme(), lambda: client.chat.completions.create(**BODY)
                )
            self.assertFalse(self.fake.received(), "the SDK did not retry")
            self.assertEqual(
                self.captured().mapped("status"), ["blocked", "blocked"], "one log each"
            )
        # log only: the administrator's switch
        self.env["ir.config_parameter"].set_param(captured_calls.LOG_ONLY_PARAM, "1")
        captured_calls.forget_targets(self.env.cr.dbname)
        response = self.acme["post"](self.as_acme(), self.fake.url, BODY, TEST_API_KEY)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.captured()[:1].status, "success")

    def test_a_failing_upstream_is_logged_and_the_caller_sees_its_answer(self):
        self.fake.script(
            Reply(
                status=400, body=error_body("Bad model", "invalid_request_error", "x")
            )
        )
        response = self.acme["post"](self.as_acme(), self.fake.url, BODY, TEST_API_KEY)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"]["message"], "Bad model")
        log = self.captured()
        self.assertEqual((log.status, log.error_code), ("failed", "x"))
        # the caller's key, whatever its shape, stays out of what is kept
        key = "acme-key-0123456789abcdef"
        self.fake.script(
            Reply(
                status=401,
                body=error_body(f"Incorrect API key provided: {key}.", "auth", "bad"),
            )
        )
        self.acme["post"](self.as_acme(), self.fake.url, BODY, key)
        log = self.captured()[:1]
        self.assertEqual(log.error_code, "bad")
        self.assertNotIn(key, log.error_message)
        self.assertIn("[redacted]", log.error_message)
        self.assertEqual(log.api_key_hint, "acm…cdef")
        # no server at all: the caller's own exception, logged
        self.env["ir.config_parameter"].set_param(
            captured_calls.HOSTS_PARAM, "127.0.0.1:1"
        )
        captured_calls.forget_targets(self.env.cr.dbname)
        # (unittest's assertRaises: Odoo's rolls the test transaction back)
        with unittest.TestCase.assertRaises(self, requests.exceptions.ConnectionError):
            self.acme["post"](self.as_acme(), "http://127.0.0.1:1/v1", BODY, "sk-x")
        down = self.Log.search([("is_captured", "=", True)], order="id desc", limit=1)
        self.assertEqual((down.status, down.error_code), ("failed", "connection_error"))

    def test_capture_off_and_other_hosts(self):
        params = self.env["ir.config_parameter"]
        params.set_param(captured_calls.CAPTURE_OFF_PARAM, "1")
        captured_calls.forget_targets(self.env.cr.dbname)
        self.acme["post"](self.as_acme(), self.fake.url, BODY, TEST_API_KEY)
        self.assertFalse(self.logs(), "capture is off")
        params.set_param(captured_calls.CAPTURE_OFF_PARAM, False)
        captured_calls.forget_targets(self.env.cr.dbname)
        # a server no service names is not an AI host, unless listed
        other = self.fake.url.replace("127.0.0.1", "localhost")
        self.acme["post"](self.as_acme(), other, BODY, TEST_API_KEY)
        self.assertFalse(self.env["ai.usage.log"].search([("is_captured", "=", True)]))
        params.set_param(captured_calls.HOSTS_PARAM, other.split("/")[2])
        captured_calls.forget_targets(self.env.cr.dbname)
        self.acme["post"](self.as_acme(), other, BODY, TEST_API_KEY)
        log = self.env["ai.usage.log"].search([("is_captured", "=", True)])
        self.assertEqual(len(log), 1)
        self.assertTrue(log.service_id.is_captured, "under the captured service")
        self.assertFalse(log.service_id.sudo().api_key, "which holds no key")
        self.assertGreater(log.input_tokens, 0)

    def test_usage_context_attributes_every_call_inside_and_merges(self):
        partner = self.env["res.partner"].create({"name": "Client"})
        Service = self.env["ai.service"]
        with Service.usage_context(
            partner_id=partner.id, metadata={"team": "a"}, request_type="custom_prompt"
        ):
            with Service.usage_context(contact_id="c-9", metadata={"case": "7"}):
                self.acme["post"](self.as_acme(), self.fake.url, BODY, TEST_API_KEY)
                self.service.make_openai_api_call("chat/completions", data=dict(BODY))
            self.service.make_openai_api_call("chat/completions", data=dict(BODY))
        self.service.make_openai_api_call("chat/completions", data=dict(BODY))
        after, outer, helper, captured = self.logs()
        for log in (captured, helper):
            self.assertEqual(log.partner_id, partner)
            self.assertEqual(log.contact_id, "c-9")
            self.assertEqual(log.metadata, {"team": "a", "case": "7"})
        self.assertEqual(captured.request_type, "custom_prompt")
        self.assertEqual(outer.contact_id, "unknown")
        self.assertEqual(outer.metadata, {"team": "a"})
        self.assertFalse(after.partner_id, "nothing leaks past the block")


@tagged("post_install", "-at_install")
class TestCaptureProviders(ProviderCase):
    """The providers' own SDKs in another module's code, captured under the
    service whose base URL they call, priced by its catalogue."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.acme = acme()

    def setUp(self):
        super().setUp()
        captured_calls.forget_targets(self.env.cr.dbname)

    def run_as_acme(self, client_call):
        return self.acme["with_client"](self.env["res.partner"], client_call)

    def anthropic_client(self):
        # the SDKs take the base URL without the version they add
        return anthropic.Anthropic(
            api_key=ANTHROPIC_KEY,
            base_url=self.fake.url_of("anthropic").removesuffix("/v1"),
            max_retries=0,
        )

    def genai_client(self):
        return genai.Client(
            api_key=GEMINI_KEY,
            http_options=genai.types.HttpOptions(
                base_url=self.fake.url_of("gemini").removesuffix("v1beta"),
                api_version="v1beta",
            ),
        )

    @unittest.skipUnless(anthropic, "the anthropic package is not installed")
    def test_the_anthropic_sdk(self):
        client = self.anthropic_client()
        message = self.run_as_acme(
            lambda: client.messages.create(
                model="claude-sonnet-4-5-20250929", max_tokens=64, messages=MESSAGES
            )
        )
        log = self.last_log(self.anthropic)
        self.assertRecordValues(
            log,
            [
                {
                    "is_captured": True,
                    "source_module": "acme_ai",
                    "status": "success",
                    "endpoint": "messages",
                    "model": "claude-sonnet-4-5-20250929",
                    "input_tokens": message.usage.input_tokens,
                    "output_tokens": message.usage.output_tokens,
                    "price_missing": False,
                }
            ],
        )
        expected = (
            message.usage.input_tokens * 3 + message.usage.output_tokens * 15
        ) / 1e6
        self.assertAlmostEqual(log.cost, expected, places=10)
        self.assertEqual(log.api_key_hint, f"sk-…{ANTHROPIC_KEY[-4:]}")

    @unittest.skipUnless(genai, "the google-genai package is not installed")
    def test_the_google_genai_sdk(self):
        client = self.genai_client()
        response = self.run_as_acme(
            lambda: client.models.generate_content(
                model="gemini-2.5-flash", contents="Summarise the call."
            )
        )
        usage = response.usage_metadata
        log = self.last_log(self.gemini)
        self.assertRecordValues(
            log,
            [
                {
                    "is_captured": True,
                    "status": "success",
                    "model": "gemini-2.5-flash",
                    "input_tokens": usage.prompt_token_count,
                    "output_tokens": usage.candidates_token_count,
                    "price_missing": False,
                }
            ],
        )

    @unittest.skipUnless(anthropic, "the anthropic package is not installed")
    def test_an_anthropic_sdk_stream_read_to_its_end(self):
        client = self.anthropic_client()

        def streamed():
            with client.messages.stream(
                model="claude-sonnet-4-5-20250929", max_tokens=64, messages=MESSAGES
            ) as stream:
                text = "".join(stream.text_stream)
                return text, stream.get_final_message().usage

        text, usage = self.run_as_acme(streamed)
        self.assertTrue(text)
        log = self.last_log(self.anthropic)
        self.assertRecordValues(
            log,
            [
                {
                    "is_captured": True,
                    "is_stream": True,
                    "status": "success",
                    "source_module": "acme_ai",
                    "input_tokens": usage.input_tokens,
                    "output_tokens": usage.output_tokens,
                    "price_missing": False,
                }
            ],
        )
        expected = (usage.input_tokens * 3 + usage.output_tokens * 15) / 1e6
        self.assertAlmostEqual(log.cost, expected, places=10)

    @unittest.skipUnless(genai, "the google-genai package is not installed")
    def test_a_google_genai_stream_read_to_its_end(self):
        client = self.genai_client()
        chunks = self.run_as_acme(
            lambda: list(
                client.models.generate_content_stream(
                    model="gemini-2.5-flash", contents="Summarise the call."
                )
            )
        )
        self.assertGreater(len(chunks), 1, "streamed in several chunks")
        usage = chunks[-1].usage_metadata
        log = self.last_log(self.gemini)
        self.assertRecordValues(
            log,
            [
                {
                    "is_captured": True,
                    "is_stream": True,
                    "status": "success",
                    "source_module": "acme_ai",
                    "model": "gemini-2.5-flash",
                    "input_tokens": usage.prompt_token_count,
                    "output_tokens": usage.candidates_token_count,
                    "price_missing": False,
                }
            ],
        )
        self.assertGreater(log.cost, 0)
        self.assertEqual(len(self.logs(self.gemini)), 1, "one log for the stream")

    def test_a_stream_dropped_unread_is_logged_abandoned(self):
        def dropped():
            response = requests.post(
                f"{self.fake.url}/chat/completions",
                json=dict(BODY, stream=True),
                headers={"Authorization": f"Bearer {TEST_API_KEY}"},
                stream=True,
                timeout=10,
            )
            next(response.iter_lines())  # reads a little, then leaves it
            response.close()

        self.run_as_acme(dropped)
        log = self.last_log()
        self.assertTrue(log.is_captured)
        self.assertEqual((log.status, log.error_code), ("failed", "abandoned"))


@tagged("post_install", "-at_install")
class TestCaptureInOdoo(AiHttpCase):
    """A module that calls the provider its own way (scripts/test_addons'
    ai_capture_probe, installed beside the add-on by scripts/run_tests.sh):
    its calls from an HTTP route, over JSON-RPC and in a scheduled action
    are each logged once, on behalf of the right user, under its name."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if "ai.capture.probe" not in cls.env:
            if os.environ.get("AI_USAGE_DB_WITHOUT_ADDON"):
                raise RuntimeError("run_tests.sh installs ai_capture_probe: it is not")
            raise unittest.SkipTest("ai_capture_probe (scripts/test_addons) is absent")

    def setUp(self):
        super().setUp()
        captured_calls.forget_targets(self.env.cr.dbname)

    def assertCaptured(self, user, answer, **values):
        logs = self.logs()
        self.assertEqual(len(logs), 1, "one log, the call's")
        self.assertRecordValues(
            logs,
            [
                dict(
                    {
                        "is_captured": True,
                        "status": "success",
                        "source_module": "ai_capture_probe",
                        "user_id": user.id,
                        "input_tokens": answer["usage"]["prompt_tokens"],
                        "output_tokens": answer["usage"]["completion_tokens"],
                        "price_missing": False,
                    },
                    **values,
                )
            ],
        )
        self.assertGreater(logs.cost, 0)

    def test_from_an_http_route(self):
        self.authenticate(self.login, self.login)
        response = self.url_open(
            "/ai_capture_probe/chat",
            data=json.dumps({"url": self.fake.url, "key": TEST_API_KEY}),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertCaptured(self.user, response.json())

    def test_over_json_rpc(self):
        answer = self.rpc("ai.capture.probe", "chat", [self.fake.url, TEST_API_KEY])
        self.assertEqual(answer["status"], 200)
        self.assertCaptured(self.user, answer)

    def test_in_a_scheduled_action(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("ai_capture_probe.url", self.fake.url)
        params.set_param("ai_capture_probe.key", TEST_API_KEY)
        cron = self.env.ref("ai_capture_probe.cron_chat")
        cron.user_id = self.admin
        cron.method_direct_trigger()
        log = self.logs()
        self.assertEqual(len(log), 1)
        self.assertEqual(log.user_id, self.admin, "the scheduled action's user")
        self.assertEqual(log.sudo().cron_id, cron)
        self.assertEqual(log.source_module, "ai_capture_probe")

    def test_from_a_server_action_run_by_a_user(self):
        # what an administrator writes in Settings > Technical > Server
        # Actions: code that calls another module's method, run by a user
        action = self.env["ir.actions.server"].create(
            {
                "name": "Ask the assistant",
                "model_id": self.env.ref("ai_capture_probe.model_ai_capture_probe").id,
                "state": "code",
                "code": (
                    f"answer = model.chat({self.fake.url!r}, {TEST_API_KEY!r},"
                    " prompt=env.user.name)"
                ),
            }
        )
        self.authenticate(self.login, self.login)
        response = self.url_open(
            "/web/action/run",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "params": {"action_id": action.id, "context": {}},
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        self.assertNotIn("error", response.json())
        log = self.logs()
        self.assertEqual(len(log), 1, "one log, the call's")
        self.assertRecordValues(
            log,
            [
                {
                    "is_captured": True,
                    "status": "success",
                    "user_id": self.user.id,
                    # the server action's code is no module's: the module
                    # whose method it called made the request
                    "source_module": "ai_capture_probe",
                    "price_missing": False,
                }
            ],
        )
        sent = self.fake.requests[-1]["json"]["messages"][0]["content"]
        self.assertEqual(sent, self.user.name, "the action's own request")

    def test_a_database_without_the_add_on_is_not_looked_at(self):
        dbname = os.environ.get("AI_USAGE_DB_WITHOUT_ADDON")
        if not dbname:
            self.skipTest("no database without the add-on (run_tests.sh makes one)")
        from odoo.modules.registry import Registry
        from odoo.tools import config

        # loaded for this test only: not as a database to run tests in
        testing = config["test_enable"]
        config["test_enable"] = False
        try:
            registry = Registry(dbname)
        finally:
            config["test_enable"] = testing
        # and gone after it: Odoo's runner reports on every registry it holds
        self.addCleanup(Registry.delete, dbname)
        self.assertNotIn("ai.usage.log", registry)
        # as a worker serving that database: Odoo names it on the thread
        thread = threading.current_thread()
        named = getattr(thread, "dbname", None)
        thread.dbname = dbname
        self.addCleanup(setattr, thread, "dbname", named)
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            queries = []
            execute = type(cr).execute

            def counting(cursor, query, params=None, log_exceptions=True):
                queries.append(query)
                return execute(cursor, query, params, log_exceptions)

            with patch.object(type(cr), "execute", counting):
                answer = env["ai.capture.probe"].chat(self.fake.url, TEST_API_KEY)
        self.assertEqual(answer["status"], 200, "the call went through")
        self.assertEqual(queries, [], "capture asked its database nothing")
        self.assertFalse(self.logs(), "nor logged it anywhere")


@tagged("post_install", "-at_install")
class TestCaptureSettings(AiUsageCase):
    def test_settings_turn_capture_and_its_limits_off_and_on(self):
        Settings = self.env["res.config.settings"]
        params = self.env["ir.config_parameter"]
        fresh = Settings.create({})
        self.assertTrue(fresh.ai_usage_capture, "on by default")
        self.assertTrue(fresh.ai_usage_capture_enforce)
        Settings.create(
            {
                "ai_usage_capture": False,
                "ai_usage_capture_enforce": False,
                "ai_usage_capture_hosts": "llm.internal:8000 vllm.lan",
            }
        ).execute()
        self.assertTrue(params.get_param(captured_calls.CAPTURE_OFF_PARAM))
        self.assertTrue(params.get_param(captured_calls.LOG_ONLY_PARAM))
        targets = captured_calls.targets_of(self.env.registry)
        self.assertFalse(targets.enabled)
        self.assertFalse(targets.enforce)
        self.assertEqual(targets.hosts, {"llm.internal:8000", "vllm.lan"})
        again = Settings.create({})
        self.assertFalse(again.ai_usage_capture, "Settings shows what is set")
        Settings.create(
            {"ai_usage_capture": True, "ai_usage_capture_enforce": True}
        ).execute()
        self.assertFalse(params.get_param(captured_calls.CAPTURE_OFF_PARAM))
        targets = captured_calls.targets_of(self.env.registry)
        self.assertTrue(targets.enabled and targets.enforce)
        self.assertEqual(
            targets.match("https://api.openai.com/v1/chat/completions"),
            (None, "openai"),
        )
        self.assertIsNone(targets.match("https://www.googleapis.com/drive/v3/files"))
        self.assertEqual(
            targets.match(f"{self.service.api_base_url}/embeddings"),
            (self.service.id, None),
        )


@tagged("post_install", "-at_install")
class TestCaptureCompanies(AiUsageCase):
    def test_a_call_no_service_names_goes_to_the_callers_company(self):
        acme_code = acme()
        other = self.env["res.company"].create({"name": "Second Company"})
        user = new_test_user(
            self.env,
            login="ai_two_companies",
            groups="base.group_user,ai_usage_log.group_ai_usage_user",
            company_ids=[(6, 0, [self.company.id, other.id])],
        )
        url = self.fake.url.replace("127.0.0.1", "localhost")
        self.env["ir.config_parameter"].set_param(
            captured_calls.HOSTS_PARAM, url.split("/")[2]
        )
        captured_calls.forget_targets(self.env.cr.dbname)
        for company in (other, self.company):
            caller = self.env["res.partner"].with_user(user).with_company(company)
            acme_code["post"](caller, url, BODY, TEST_API_KEY)
        logs = self.Log.search([("is_captured", "=", True)], order="id")
        self.assertEqual(logs.mapped("company_id"), other | self.company)
        self.assertEqual(logs.mapped("service_id.company_id"), other | self.company)
        self.assertTrue(all(logs.mapped("service_id.is_captured")))
        self.assertEqual(set(logs.mapped("user_id")), {user})
        # a service's own calls are its company's, whoever makes them
        caller = self.env["res.partner"].with_user(user).with_company(other)
        acme_code["post"](caller, self.fake.url, BODY, TEST_API_KEY)
        self.assertEqual(self.last_log().company_id, self.company)
