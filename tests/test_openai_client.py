import sys
import unittest
from unittest.mock import patch

from odoo.exceptions import UserError

from .common import TEST_API_KEY, AiUsageCase
from .fake_openai import REPLY_TEXT, Reply, count_tokens, error_body

try:
    import openai
except ImportError:  # optional dependency
    openai = None

MESSAGES = [{"role": "user", "content": "Who called today?"}]


@unittest.skipUnless(openai, "the openai package is not installed")
class TestOpenaiClient(AiUsageCase):
    def client(self, **attribution):
        return self.service.openai_client(**attribution)

    def test_chat_completion(self):
        completion = self.client(
            request_type="contact_analysis", contact_id="c-3"
        ).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        self.assertEqual(completion.choices[0].message.content, REPLY_TEXT)
        self.assertEqual(
            self.fake.received()[0]["headers"]["Authorization"],
            f"Bearer {TEST_API_KEY}",
        )
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "status": "success",
                    "endpoint": "chat/completions",
                    "request_type": "contact_analysis",
                    "contact_id": "c-3",
                    "model": "gpt-4o-mini",
                    "response_model": "gpt-4o-mini-2024-07-18",
                    "input_tokens": completion.usage.prompt_tokens,
                    "output_tokens": completion.usage.completion_tokens,
                    "response_id": completion.id,
                    "price_missing": False,
                }
            ],
        )

    def test_responses_and_embeddings(self):
        client = self.client()
        response = client.responses.create(model="gpt-5", input="Hello")
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "endpoint": "responses",
                    "output_tokens": response.usage.output_tokens,
                    "status": "success",
                }
            ],
        )
        embedding = client.embeddings.create(
            model="text-embedding-3-small", input=["a", "b"]
        )
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "endpoint": "embeddings",
                    "input_tokens": embedding.usage.prompt_tokens,
                    "output_tokens": 0,
                }
            ],
        )

    def test_streaming(self):
        stream = self.client().chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        text = "".join(
            chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices
        )
        self.assertEqual(text, REPLY_TEXT)
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "status": "success",
                    "is_stream": True,
                    "input_tokens": count_tokens(MESSAGES),
                    "output_tokens": count_tokens(REPLY_TEXT),
                }
            ],
        )

    def test_abandoned_stream(self):
        stream = self.client().chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
        next(iter(stream))
        stream.close()
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "status": "failed",
                    "error_code": "interrupted",
                    "usage_state": "missing",
                }
            ],
        )

    def test_each_attempt_is_logged(self):
        self.fake.script(
            Reply(
                429,
                error_body("Rate limit", "requests", "rate_limit_exceeded"),
                headers={"retry-after-ms": "5"},
            )
        )
        self.client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        self.assertEqual(
            self.logs().mapped(
                lambda log: (log.status, log.http_status, log.error_code or "")
            ),
            [("success", 200, ""), ("failed", 429, "rate_limit_exceeded")],
        )

    def test_sdk_errors_are_logged(self):
        self.fake.script(
            Reply(
                401,
                error_body(
                    f"Incorrect API key {TEST_API_KEY}",
                    "invalid_request_error",
                    "invalid_api_key",
                ),
            )
        )
        with unittest.TestCase.assertRaises(self, openai.AuthenticationError):
            self.client().chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES
            )
        log = self.last_log()
        self.assertEqual((log.status, log.error_code), ("failed", "invalid_api_key"))
        self.assertNotIn(TEST_API_KEY, log.error_message)

    def test_without_the_openai_package(self):
        with (
            patch.dict(sys.modules, {"openai": None}),
            self.assertRaisesRegex(UserError, "pip install openai"),
        ):
            self.service.openai_client()
