"""The providers' addresses and answer shapes, without a database."""

from odoo.tests import BaseCase, tagged

from ..tools import providers
from ..tools.http_client import extract_error
from ..tools.providers import NATIVE_DIALECT, OPENAI_DIALECT
from ..tools.redaction import redact_secrets
from ..tools.usage import UsageError, extract_usage


@tagged("post_install", "-at_install")
class TestProviderShapes(BaseCase):
    def test_addresses_and_authentication(self):
        azure, gemini = providers.get("azure"), providers.get("gemini")
        anthropic = providers.get("anthropic")
        cases = [
            (
                azure.url("https://acme.openai.azure.com/", "chat/completions",
                          OPENAI_DIALECT, "prod 4o", "2024-10-21"),
                (
                    "https://acme.openai.azure.com/openai/deployments/prod%204o/"
                    "chat/completions?api-version=2024-10-21"
                ),
            ),
            (
                azure.url("https://acme.openai.azure.com/openai/v1", "responses",
                          OPENAI_DIALECT, "gpt-4o"),
                "https://acme.openai.azure.com/openai/v1/responses",
            ),
            (
                gemini.url("https://g.example/v1beta", "models/m:streamGenerateContent",
                           NATIVE_DIALECT),
                "https://g.example/v1beta/models/m:streamGenerateContent?alt=sse",
            ),
            (
                gemini.url("https://g.example/v1beta", "chat/completions",
                           OPENAI_DIALECT),
                "https://g.example/v1beta/openai/chat/completions",
            ),
        ]  # fmt: skip
        for url, expected in cases:
            self.assertEqual(url, expected)
        self.assertEqual(
            anthropic.headers("k", NATIVE_DIALECT),
            {"x-api-key": "k", "anthropic-version": "2023-06-01"},
        )
        self.assertEqual(gemini.headers("k", NATIVE_DIALECT), {"x-goog-api-key": "k"})
        self.assertEqual(azure.headers("k", OPENAI_DIALECT), {"api-key": "k"})
        self.assertIn(529, anthropic.retryable_statuses)
        self.assertNotIn(529, providers.get("openai").retryable_statuses)
        self.assertEqual(
            azure.endpoint_of("/openai/deployments/prod/chat/completions", ""),
            "chat/completions",
        )

    def test_anthropic_input_tokens_leave_out_the_cache(self):
        usage = extract_usage(
            {
                "type": "message",
                "usage": {
                    "input_tokens": 10,
                    "cache_read_input_tokens": 30,
                    "cache_creation_input_tokens": None,
                    "output_tokens": 5,
                },
            }
        )
        self.assertEqual(
            (
                usage["input_tokens"],
                usage["cached_input_tokens"],
                usage["total_tokens"],
            ),
            (40, 30, 45),
        )

    def test_gemini_usage_in_json_and_in_sdk_names(self):
        camel = {
            "usageMetadata": {
                "promptTokenCount": 100,
                "cachedContentTokenCount": 40,
                "candidatesTokenCount": 20,
                "thoughtsTokenCount": 30,
                "toolUsePromptTokenCount": 5,
            }
        }
        snake = {
            "usage_metadata": {
                "prompt_token_count": 100,
                "cached_content_token_count": 40,
                "candidates_token_count": 20,
                "thoughts_token_count": 30,
                "tool_use_prompt_token_count": 5,
            }
        }
        for payload in (camel, snake):
            usage = extract_usage(payload)
            self.assertEqual(
                [usage[k] for k in ("input_tokens", "cached_input_tokens",
                                    "output_tokens", "reasoning_tokens")],
                [105, 40, 50, 30],
            )  # fmt: skip
        with self.assertRaises(UsageError):
            extract_usage({"usageMetadata": {"promptTokenCount": -1}})

    def test_errors_and_keys(self):
        self.assertEqual(
            extract_error(
                [
                    {
                        "error": {
                            "code": 429,
                            "message": "Quota",
                            "status": "RESOURCE_EXHAUSTED",
                        }
                    }
                ]
            ),
            ("RESOURCE_EXHAUSTED", "Quota"),
        )
        self.assertEqual(
            extract_error(
                {"type": "error", "error": {"type": "overloaded_error", "message": "O"}}
            ),
            ("overloaded_error", "O"),
        )
        text = redact_secrets(
            "key AIzaSyA0123456789abcdefghijklmnopqrstu, api-key: 0123abcd0123abcd, "
            "x-api-key=sk-ant-api03-abcdefgh, url?key=secret123&alt=sse"
        )
        for secret in ("AIzaSy", "0123abcd0123abcd", "sk-ant", "secret123"):
            self.assertNotIn(secret, text)
        self.assertIn("alt=sse", text)
