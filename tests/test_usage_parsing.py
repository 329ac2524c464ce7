from email.utils import formatdate

from odoo.tests import BaseCase

from ..tools.openai_usage import (
    UsageError,
    extract_error,
    extract_response_info,
    extract_usage,
    parse_retry_after,
    redact_secrets,
)
from .fake_openai import chat_completion, chat_usage, response_object, responses_usage


class TestUsageParsing(BaseCase):
    def test_chat_completion_usage_with_cached_and_reasoning(self):
        payload = chat_completion(
            "o4-mini", chat_usage(1200, 800, cached_tokens=1024, reasoning_tokens=640)
        )
        self.assertEqual(
            extract_usage(payload),
            {
                "input_tokens": 1200,
                "cached_input_tokens": 1024,
                "output_tokens": 800,
                "reasoning_tokens": 640,
                "total_tokens": 2000,
            },
        )

    def test_responses_api_usage(self):
        payload = response_object(
            "gpt-5", responses_usage(300, 90, cached_tokens=128, reasoning_tokens=64)
        )
        self.assertEqual(
            extract_usage(payload),
            {
                "input_tokens": 300,
                "cached_input_tokens": 128,
                "output_tokens": 90,
                "reasoning_tokens": 64,
                "total_tokens": 390,
            },
        )

    def test_responses_stream_completed_event_usage(self):
        event = {
            "type": "response.completed",
            "sequence_number": 9,
            "response": response_object("gpt-5", responses_usage(10, 5)),
        }
        self.assertEqual(extract_usage(event)["total_tokens"], 15)
        self.assertEqual(extract_response_info(event)["response_model"], "gpt-5")

    def test_embeddings_usage_has_no_output(self):
        payload = {
            "object": "list",
            "data": [],
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 42, "total_tokens": 42},
        }
        self.assertEqual(
            extract_usage(payload),
            {
                "input_tokens": 42,
                "cached_input_tokens": 0,
                "output_tokens": 0,
                "reasoning_tokens": 0,
                "total_tokens": 42,
            },
        )

    def test_no_usage_is_unknown_not_zero(self):
        self.assertIsNone(extract_usage({"id": "x", "choices": []}))
        self.assertIsNone(extract_usage({"usage": None}))
        self.assertIsNone(extract_usage(None))

    def test_impossible_usage_is_refused(self):
        for usage in (
            chat_usage(-5, 10),
            chat_usage(10, 10**12),
            chat_usage(10, 10, cached_tokens=11),
            chat_usage(10, 10, reasoning_tokens=11),
            {"prompt_tokens": "12", "completion_tokens": 1},
            {"prompt_tokens": True, "completion_tokens": 1},
        ):
            with self.subTest(usage=usage), self.assertRaises(UsageError):
                extract_usage({"usage": usage})

    def test_response_facts(self):
        payload = chat_completion(
            "gpt-4o-mini", chat_usage(1, 1), content="Hello", finish_reason="length"
        )
        info = extract_response_info(payload)
        self.assertEqual(info["response_model"], "gpt-4o-mini-2024-07-18")
        self.assertEqual(info["finish_reason"], "length")
        self.assertEqual(info["response_length"], 5)
        self.assertEqual(info["system_fingerprint"], "fp_44709d6fcb")
        self.assertTrue(info["response_id"].startswith("chatcmpl-"))

    def test_error_body(self):
        body = {
            "error": {
                "message": "Rate limit reached",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            }
        }
        self.assertEqual(
            extract_error(body, 429), ("rate_limit_exceeded", "Rate limit reached")
        )
        self.assertEqual(extract_error(None, 502), ("http_502", ""))

    def test_redaction(self):
        key = "sk-proj-abcdefghijklmnop1234567890"
        text = f"Incorrect API key provided: {key}. Header was Bearer {key}"
        redacted = redact_secrets(text)
        self.assertNotIn(key, redacted)
        self.assertNotIn("abcdefghijklmnop", redacted)
        self.assertIn("[redacted]", redacted)
        self.assertEqual(
            redact_secrets("key my-custom-secret-value", ["my-custom-secret-value"]),
            "key [redacted]",
        )

    def test_retry_after(self):
        self.assertEqual(parse_retry_after("3"), 3.0)
        self.assertEqual(parse_retry_after("1.5"), 1.5)
        now = 1_800_000_000
        self.assertAlmostEqual(
            parse_retry_after(formatdate(now + 7, usegmt=True), now=now), 7, delta=0.01
        )
        self.assertEqual(
            parse_retry_after(formatdate(now - 60, usegmt=True), now=now), 0.0
        )
        self.assertIsNone(parse_retry_after("soon"))
        self.assertIsNone(parse_retry_after(None))
