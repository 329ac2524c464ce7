"""The gateway (/ai_usage/v1) as outside applications use it: the official
openai SDK pointed at a real Odoo HTTP server with an Odoo API key, the fake
providers upstream."""

import json
import time
import unittest

import requests

from odoo import fields
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from ..compat import serve_outside_clients
from .common import TEST_API_KEY, AiHttpCase
from .fake_openai import REPLY_TEXT, Reply, error_body

UPSTREAM_KEY_2 = "sk-second-0123456789abcdef0123456789abcdef"
MESSAGES = [{"role": "user", "content": "Summarise the call."}]


@tagged("post_install", "-at_install")
class TestGateway(AiHttpCase):
    login = "ai_gateway_user"
    admin_login = "ai_gateway_admin"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key = cls.api_key(cls.user)
        cls.outsider = new_test_user(cls.env, login="gateway_outsider")
        cls.outsider_key = cls.api_key(cls.outsider)

    @classmethod
    def api_key(cls, user):
        # as Preferences > Account Security makes it, without expiry
        return (
            cls.env["res.users.apikeys"]
            .with_user(user)
            .sudo()
            ._generate(None, "gateway test", None)
        )

    def client(self, key=None, max_retries=2):
        import openai

        return openai.OpenAI(
            base_url=f"{self.base_url()}/ai_usage/v1",
            api_key=key or self.key,
            max_retries=max_retries,
            timeout=30,
        )

    def setUp(self):
        super().setUp()
        serve_outside_clients(self)

    def raises(self, error):
        # not Odoo's assertRaises: its savepoint would roll back the logs the
        # server wrote in the test transaction
        return unittest.TestCase.assertRaises(self, error)

    def upstream(self, path):
        return self.fake.received(path)

    def assert_no_upstream_key(self, text):
        self.assertNotIn(TEST_API_KEY, text)
        self.assertNotIn(TEST_API_KEY[8:20], text)

    # ------------------------------------------------------------------
    def test_chat_completion_logged_for_the_key_user(self):
        answer = self.client().chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            user="end-user-7",
            metadata={"app": "website"},
        )
        self.assertEqual(answer.choices[0].message.content, REPLY_TEXT)
        sent = self.upstream("/v1/chat/completions")
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["headers"]["Authorization"], f"Bearer {TEST_API_KEY}")
        self.assertEqual(sent[0]["json"]["user"], "end-user-7", "the body goes as is")
        self.assertNotIn(self.key, json.dumps(sent[0]), "the Odoo key stays here")
        (log,) = self.logs()
        self.assertRecordValues(
            log,
            [
                {
                    "status": "success",
                    "request_type": "gateway",
                    "user_id": self.user.id,
                    "company_id": self.user.company_id.id,
                    "endpoint": "chat/completions",
                    "model": "gpt-4o-mini",
                    "input_tokens": answer.usage.prompt_tokens,
                    "output_tokens": answer.usage.completion_tokens,
                    "price_missing": False,
                }
            ],
        )
        self.assertEqual(log.metadata, {"app": "website", "user": "end-user-7"})
        self.assertGreater(log.cost, 0)

    def test_streams_pass_through_and_are_logged(self):
        client = self.client()
        chunks = list(
            client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        self.assertEqual(text, REPLY_TEXT)
        self.assertTrue(
            all(c.usage is None for c in chunks),
            "the usage chunk the client did not ask for is not passed on",
        )
        with_usage = list(
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        usage = with_usage[-1].usage
        self.assertGreater(usage.total_tokens, 0)
        events = list(
            client.responses.create(model="gpt-4.1", input="Hello", stream=True)
        )
        self.assertEqual(events[-1].type, "response.completed")
        first, second, third = self.logs().sorted("id")
        for log in (first, second, third):
            self.assertRecordValues(
                log,
                [{"status": "success", "is_stream": True, "request_type": "gateway"}],
            )
        self.assertEqual(
            (second.input_tokens, second.output_tokens),
            (usage.prompt_tokens, usage.completion_tokens),
        )
        self.assertEqual(first.total_tokens, second.total_tokens)
        self.assertEqual(third.output_tokens, events[-1].response.usage.output_tokens)

    def test_embeddings_and_models(self):
        client = self.client()
        embedded = client.embeddings.create(
            model="text-embedding-3-small", input=["one", "two"]
        )
        self.assertEqual(len(embedded.data), 2)
        (log,) = self.logs()
        self.assertRecordValues(
            log,
            [
                {
                    "endpoint": "embeddings",
                    "model": "text-embedding-3-small",
                    "input_tokens": embedded.usage.prompt_tokens,
                    "status": "success",
                }
            ],
        )
        second = self.env["ai.service"].create(
            {
                "name": "Second",
                "api_base_url": self.fake.url,
                "default_model": "o4-mini",
            }
        )
        self.env["ai.service"].create({"name": "Claude", "provider": "anthropic"})
        ids = [model.id for model in client.models.list()]
        self.assertEqual(
            ids,
            [
                self.service.default_model,
                f"HTTP service/{self.service.default_model}",
                f"Second/{second.default_model}",
            ],
            "not Claude: an Anthropic service has no OpenAI API",
        )
        self.assertEqual(len(self.logs()), 1, "listing the models spends nothing")

    def test_a_service_named_in_the_model(self):
        second = self.env["ai.service"].create(
            {"name": "Second", "api_base_url": self.fake.url, "api_key": UPSTREAM_KEY_2}
        )
        client = self.client()
        client.chat.completions.create(model="Second/gpt-4.1", messages=MESSAGES)
        client.chat.completions.create(model="vendor/open-model", messages=MESSAGES)
        named, plain = self.upstream("/v1/chat/completions")
        self.assertEqual(
            (named["headers"]["Authorization"], named["json"]["model"]),
            (f"Bearer {UPSTREAM_KEY_2}", "gpt-4.1"),
        )
        self.assertEqual(
            (plain["headers"]["Authorization"], plain["json"]["model"]),
            (f"Bearer {TEST_API_KEY}", "vendor/open-model"),
            "a slash that names no service is the model's own",
        )
        logs = self.env["ai.usage.log"].search(
            [("request_type", "=", "gateway")], order="id"
        )
        self.assertEqual(
            [(log.service_id, log.model) for log in logs],
            [(second, "gpt-4.1"), (self.service, "vendor/open-model")],
        )

    def test_a_budget_refusal_is_one_unretried_429(self):
        import openai

        self.env["ai.usage.budget"].create(
            {
                "name": "Gateway",
                "company_id": self.user.company_id.id,
                "limit_tokens": 10,
                "hard_limit": True,
            }
        )
        self.env["ai.usage.log"].create(
            {
                "service_id": self.service.id,
                "user_id": self.user.id,
                "status": "success",
                "total_tokens": 50,
                "request_time": fields.Datetime.now(),
            }
        )
        with self.raises(openai.RateLimitError) as refused:
            self.client(max_retries=3).chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES
            )
        self.assertIn("Gateway", refused.exception.message)
        self.assertEqual(refused.exception.code, "budget_exceeded")
        self.assertEqual(self.upstream("/v1/chat/completions"), [], "nothing sent")
        blocked = self.logs().filtered(lambda log: log.status == "blocked")
        self.assertEqual(len(blocked), 1, "one refusal: the SDK did not retry it")

    def test_bad_key_and_missing_group(self):
        import openai

        with self.raises(openai.AuthenticationError) as bad:
            self.client(key="not-a-key").chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES
            )
        self.assertEqual(bad.exception.code, "invalid_api_key")
        with self.raises(openai.PermissionDeniedError) as outsider:
            self.client(key=self.outsider_key).chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES
            )
        self.assertEqual(outsider.exception.code, "missing_group")
        self.assertIn("gateway_outsider", outsider.exception.message)
        self.assertEqual(self.fake.received(), [], "nothing was sent upstream")
        self.assertFalse(self.logs())
        bare = requests.post(
            f"{self.base_url()}/ai_usage/v1/chat/completions", json={}, timeout=10
        )
        self.assertEqual(bare.status_code, 401)
        self.assertEqual(bare.json()["error"]["code"], "missing_api_key")

    def test_upstream_errors_are_passed_on_redacted(self):
        import openai

        client = self.client()
        self.fake.script(
            Reply(
                404,
                error_body(
                    "The model `gpt-9` does not exist.",
                    "invalid_request_error",
                    "model_not_found",
                    "model",
                ),
            )
        )
        with self.raises(openai.NotFoundError) as missing:
            client.chat.completions.create(model="gpt-9", messages=MESSAGES)
        self.assertIn("The model `gpt-9` does not exist.", missing.exception.message)
        self.assertEqual(missing.exception.code, "model_not_found")
        self.fake.script(
            Reply(
                401,
                error_body(
                    f"Incorrect API key provided: {TEST_API_KEY}.",
                    "invalid_request_error",
                    "invalid_api_key",
                ),
            )
        )
        with self.raises(openai.InternalServerError) as leaked:
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        self.assertEqual(
            (leaked.exception.status_code, leaked.exception.code),
            (502, "upstream_key_refused"),
            "the client's own key is not the one refused",
        )
        self.assert_no_upstream_key(json.dumps(leaked.exception.body))
        self.assert_no_upstream_key(str(leaked.exception))
        self.fake.script(*[Reply(500, error_body("Boom", "server_error"))] * 3)
        with (
            mute_logger("odoo.addons.ai_usage_log.recorder"),
            self.raises(openai.InternalServerError) as outage,
        ):
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        self.assertEqual(outage.exception.status_code, 500)
        self.assertEqual(
            len(self.upstream("/v1/chat/completions")),
            1 + 1 + 3,
            "the service retried the 500s; the client did not retry them again",
        )
        logs = self.logs().sorted("id")
        self.assertEqual(
            [(log.status, log.http_status, log.error_code) for log in logs],
            [
                ("failed", 404, "model_not_found"),
                ("failed", 401, "invalid_api_key"),
                ("failed", 500, "server_error"),
            ],
        )
        self.assertEqual(logs[2].retry_count, 2)
        for log in logs:
            self.assert_no_upstream_key(log.error_message)

    def test_an_outage_falls_back_for_the_client(self):
        backup = self.env["ai.service"].create(
            {
                "name": "Backup",
                "api_base_url": self.fake.url,
                "api_key": UPSTREAM_KEY_2,
                "max_retries": 0,
            }
        )
        self.env["ai.service.fallback"].create(
            {"service_id": self.service.id, "backup_id": backup.id, "model": "gpt-4.1"}
        )
        outage = [Reply(503, error_body("Overloaded", "server_error"))] * 3
        client = self.client()
        for stream in (False, True):
            self.fake.script(*outage)
            with mute_logger("odoo.addons.ai_usage_log.recorder"):
                answer = client.chat.completions.create(
                    model="gpt-4o-mini", messages=MESSAGES, stream=stream
                )
                text = (
                    "".join(c.choices[0].delta.content or "" for c in answer)
                    if stream
                    else answer.choices[0].message.content
                )
            self.assertEqual(text, REPLY_TEXT, "one answer: the backup's")
        sent = self.upstream("/v1/chat/completions")
        self.assertEqual(
            [r["headers"]["Authorization"] for r in sent],
            [f"Bearer {TEST_API_KEY}"] * 3 + [f"Bearer {UPSTREAM_KEY_2}"]
            + [f"Bearer {TEST_API_KEY}"] * 3 + [f"Bearer {UPSTREAM_KEY_2}"],
        )  # fmt: skip
        logs = self.env["ai.usage.log"].search(
            [("request_type", "=", "gateway")], order="id"
        )
        self.assertEqual(
            [
                (log.service_id, log.status, log.fallback_of_id, log.model)
                for log in logs
            ],
            [
                (self.service, "fallback", logs[0].browse(), "gpt-4o-mini"),
                (backup, "success", logs[0], "gpt-4.1"),
                (self.service, "fallback", logs[0].browse(), "gpt-4o-mini"),
                (backup, "success", logs[2], "gpt-4.1"),
            ],
        )
        self.assertEqual(logs.user_id, self.user, "every attempt is the key user's")

    def test_a_client_that_goes_away_abandons_the_stream(self):
        events = self.fake.chat_stream_events("gpt-4o-mini", 12, {})
        middle = events[1]
        self.fake.script(
            Reply(events=[events[0]] + [middle] * 200 + events[1:], event_delay=0.05)
        )
        with requests.post(
            f"{self.base_url()}/ai_usage/v1/chat/completions",
            headers={"Authorization": f"Bearer {self.key}"},
            json={"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True},
            stream=True,
            timeout=10,
        ) as answer:
            self.assertEqual(answer.status_code, 200)
            self.assertIn("text/event-stream", answer.headers["Content-Type"])
            first = next(answer.iter_lines())
            self.assertTrue(first.startswith(b"data: {"))
        # the server learns it when it next writes; the upstream then ends,
        # before its 10 s of events (read to the end, the stream would succeed)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            log = self.logs()
            if log and log.status != "processing":
                break
            time.sleep(0.1)
        self.assertRecordValues(
            log, [{"status": "failed", "error_code": "abandoned", "is_stream": True}]
        )

    def test_bad_requests_in_openai_shape(self):
        url = f"{self.base_url()}/ai_usage/v1"
        auth = {"Authorization": f"Bearer {self.key}"}
        not_json = requests.post(
            f"{url}/chat/completions", data="hello", headers=auth, timeout=10
        )
        self.assertEqual(not_json.status_code, 400)
        self.assertEqual(not_json.json()["error"]["code"], "invalid_json")
        bad_type = requests.post(
            f"{url}/chat/completions",
            json={"messages": MESSAGES},
            headers={**auth, "X-AI-Usage-Request-Type": "nonsense"},
            timeout=10,
        )
        self.assertEqual(bad_type.status_code, 400)
        self.assertIn("Unknown request type", bad_type.json()["error"]["message"])
        typed = requests.post(
            f"{url}/chat/completions",
            json={"messages": MESSAGES},
            headers={**auth, "X-AI-Usage-Request-Type": "call_summary"},
            timeout=10,
        )
        self.assertEqual(typed.status_code, 200, typed.text)
        self.assertEqual(self.logs().request_type, "call_summary")
        wrong_method = requests.get(f"{url}/chat/completions", headers=auth, timeout=10)
        self.assertEqual(wrong_method.status_code, 405)
        self.assertEqual(wrong_method.headers["Allow"], "POST")
        unknown = requests.post(f"{url}/images/edits", headers=auth, timeout=10)
        self.assertEqual(unknown.status_code, 404)
        self.assertEqual(unknown.json()["error"]["code"], "unknown_url")
        anonymous = requests.post(f"{url}/images/edits", timeout=10)
        self.assertEqual(anonymous.status_code, 401, "no key: nothing said of URLs")
