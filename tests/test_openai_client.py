import sys
import unittest
from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import TEST_API_KEY, AiUsageCase
from .fake_openai import (
    REPLY_TEXT,
    FakeOpenAI,
    Reply,
    count_tokens,
    error_body,
    response_object,
    responses_usage,
)

try:
    import openai
except ImportError:  # optional dependency
    openai = None

MESSAGES = [{"role": "user", "content": "Who called today?"}]


@tagged("post_install", "-at_install")
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
                    "finish_reason": "stop",
                    "response_length": len(REPLY_TEXT),
                    "usage_state": "reported",
                }
            ],
        )
        self.assertGreaterEqual(self.last_log().time_to_first_token_ms, 0)

    def test_abandoned_stream(self):
        events = FakeOpenAI.chat_stream_events("gpt-4o-mini", 10, {})
        self.fake.script(Reply(events=events, event_delay=0.05))
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
                    "error_code": "abandoned",
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

    def sdk_stream(self, events, **options):
        self.fake.script(Reply(events=events))
        return self.client().responses.create(
            model="gpt-5", input="Summarise", stream=True, **options
        )

    def test_failed_response_stream(self):
        usage = responses_usage(40, 12)
        events = FakeOpenAI.responses_stream_events("gpt-5", usage)
        failed = response_object("gpt-5", usage, status="failed")
        failed["error"] = {"code": "server_error", "message": "The model failed."}
        events[-1] = (
            "response.failed",
            {"type": "response.failed", "response": failed},
        )
        list(self.sdk_stream(events))
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "status": "failed",
                    "error_code": "server_error",
                    "usage_state": "partial",
                    "total_tokens": 52,
                }
            ],
        )

    def test_incomplete_response_stream(self):
        usage = responses_usage(40, 12)
        events = FakeOpenAI.responses_stream_events("gpt-5", usage)
        incomplete = response_object("gpt-5", usage, status="incomplete")
        incomplete["incomplete_details"] = {"reason": "max_output_tokens"}
        events[-1] = (
            "response.incomplete",
            {"type": "response.incomplete", "response": incomplete},
        )
        list(self.sdk_stream(events))
        self.assertRecordValues(
            self.last_log(),
            [{"status": "success", "finish_reason": "max_output_tokens"}],
        )

    def test_stream_the_server_ends_early(self):
        events = FakeOpenAI.responses_stream_events("gpt-5", responses_usage(1, 1))
        list(self.sdk_stream(events[:4]))
        log = self.last_log()
        self.assertEqual((log.status, log.error_code), ("failed", "interrupted"))

    def test_a_refused_call_is_one_blocked_log_and_no_retry(self):
        self.env["ai.usage.budget"].create(
            {"name": "Spent", "limit_tokens": 1, "hard_limit": True}
        )
        self.client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        with unittest.TestCase.assertRaises(self, openai.RateLimitError) as refused:
            self.client().chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES
            )
        self.assertIn("Spent", str(refused.exception))
        self.assertEqual(len(self.fake.received()), 1, "only the first call went out")
        self.assertEqual(
            self.logs().mapped(lambda log: (log.status, log.error_code or "")),
            [("blocked", "budget_exceeded"), ("success", "")],
        )
