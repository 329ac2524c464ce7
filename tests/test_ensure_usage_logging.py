import unittest

import requests

from odoo.tests import tagged

from .common import TEST_API_KEY, AiUsageCase
from .fake_openai import chat_completion, chat_usage, response_object, responses_usage

try:
    import openai
except ImportError:  # the SDK is optional
    openai = None


@tagged("post_install", "-at_install")
class TestEnsureUsageLogging(AiUsageCase):
    def test_dict_result(self):
        payload = chat_completion(
            "gpt-4.1-mini", chat_usage(500, 50, cached_tokens=256)
        )
        result = self.service.ensure_usage_logging(
            lambda: payload,
            request_type="contact_analysis",
            contact_id="c-1",
            endpoint="chat/completions",
        )
        self.assertIs(result, payload)
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "status": "success",
                    "request_type": "contact_analysis",
                    "contact_id": "c-1",
                    "input_tokens": 500,
                    "cached_input_tokens": 256,
                    "output_tokens": 50,
                    "response_model": "gpt-4.1-mini",
                    "model": "gpt-4.1-mini",
                    "response_id": payload["id"],
                }
            ],
        )

    def test_requests_response_result(self):
        def call():
            return requests.post(
                f"{self.fake.url}/responses",
                json={"model": "gpt-5", "input": "hi"},
                timeout=10,
            )

        response = self.service.ensure_usage_logging(
            call, endpoint="responses", model="gpt-5"
        )
        self.assertEqual(response.status_code, 200)
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "status": "success",
                    "http_status": 200,
                    "usage_state": "reported",
                    "output_tokens": response.json()["usage"]["output_tokens"],
                }
            ],
        )

    def test_requests_error_response_is_a_failure(self):
        def call():
            return requests.post(f"{self.fake.url}/nothing-here", json={}, timeout=10)

        response = self.service.ensure_usage_logging(call)
        self.assertEqual(response.status_code, 404)
        self.assertRecordValues(
            self.last_log(), [{"status": "failed", "http_status": 404}]
        )

    def test_exception_is_logged_and_reraised_without_the_key(self):
        def call():
            raise RuntimeError(f"proxy refused key {TEST_API_KEY}")

        with unittest.TestCase.assertRaises(self, RuntimeError):
            self.service.ensure_usage_logging(call, request_type="custom_prompt")
        log = self.last_log()
        self.assertRecordValues(
            log,
            [
                {
                    "status": "failed",
                    "error_code": "RuntimeError",
                    "request_type": "custom_prompt",
                    "usage_state": "missing",
                }
            ],
        )
        self.assertNotIn(TEST_API_KEY, log.error_message)

    @unittest.skipUnless(openai, "the openai package is not installed")
    def test_openai_sdk_objects(self):
        client = openai.OpenAI(
            base_url=self.fake.url, api_key=TEST_API_KEY, max_retries=0
        )
        completion = self.service.ensure_usage_logging(
            lambda: client.chat.completions.create(
                model="o4-mini", messages=[{"role": "user", "content": "hi"}]
            ),
            endpoint="chat/completions",
            model="o4-mini",
        )
        log = self.last_log()
        self.assertEqual(log.total_tokens, completion.usage.total_tokens)
        self.assertEqual(log.response_id, completion.id)
        response = self.service.ensure_usage_logging(
            lambda: client.responses.create(model="gpt-5", input="hi"),
            endpoint="responses",
            model="gpt-5",
        )
        self.assertEqual(self.last_log().output_tokens, response.usage.output_tokens)

    @unittest.skipUnless(openai, "the openai package is not installed")
    def test_openai_sdk_error(self):
        from .fake_openai import Reply, error_body

        self.fake.script(
            Reply(429, error_body("Rate limit", "requests", "rate_limit_exceeded"))
        )
        client = openai.OpenAI(
            base_url=self.fake.url, api_key=TEST_API_KEY, max_retries=0
        )
        with unittest.TestCase.assertRaises(self, openai.RateLimitError):
            self.service.ensure_usage_logging(
                lambda: client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": "x"}]
                )
            )
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "status": "failed",
                    "http_status": 429,
                    "error_code": "rate_limit_exceeded",
                }
            ],
        )

    def test_sdk_like_object_with_model_dump(self):
        class SdkResponse:
            def model_dump(self, mode="python"):
                return response_object(
                    "gpt-5-mini", responses_usage(40, 20, reasoning_tokens=8)
                )

        self.service.ensure_usage_logging(SdkResponse)
        self.assertRecordValues(
            self.last_log(),
            [{"input_tokens": 40, "output_tokens": 20, "reasoning_tokens": 8}],
        )
