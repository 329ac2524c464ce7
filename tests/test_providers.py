"""Each provider through the fake server: its authentication and addresses,
exact tokens and cost from its own usage shape, its retries and errors,
its streams, and the same reports for all."""

import unittest

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from ..tools import providers
from .common import TEST_API_KEY
from .fake_openai import Reply, chat_completion, chat_usage
from .fake_providers import (
    anthropic_error,
    anthropic_message,
    anthropic_stream_events,
    anthropic_usage,
    gemini_answer,
    gemini_error,
    gemini_stream_chunks,
    gemini_usage,
)
from .test_cost import PricedCase

try:  # the SDKs are optional
    import anthropic
except ImportError:
    anthropic = None
try:
    from google import genai
except ImportError:
    genai = None
try:
    import openai
except ImportError:
    openai = None

GEMINI_KEY = "AIzaSyD-test0123456789abcdefghijklmnopq"
ANTHROPIC_KEY = "sk-ant-api03-test0123456789abcdefghijklmnop"
MESSAGES = [{"role": "user", "content": "Summarise the call."}]


class ProviderCase(PricedCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.anthropic = cls.provider_service(
            "Claude",
            "anthropic",
            cls.fake.url_of("anthropic"),
            ANTHROPIC_KEY,
            "claude-sonnet-4-5-20250929",
        )
        cls.gemini = cls.provider_service(
            "Gemini",
            "gemini",
            cls.fake.url_of("gemini"),
            GEMINI_KEY,
            "gemini-2.5-flash",
        )
        cls.azure = cls.provider_service(
            "Azure",
            "azure",
            cls.fake.url_of("azure"),
            "0123456789abcdef0123456789abcdef",
            "prod-4o",
        )
        cls.mistral = cls.provider_service(
            "Mistral",
            "openai_compatible",
            cls.fake.url,
            TEST_API_KEY,
            "mistral-large-latest",
            price_provider="mistral",
        )

    @classmethod
    def provider_service(cls, name, provider, url, key, model, **values):
        return cls.env["ai.service"].create(
            {
                "name": name,
                "company_id": cls.company.id,
                "timeout": 20,
                "max_retries": 2,
                "provider": provider,
                "api_base_url": url,
                "api_key": key,
                "default_model": model,
                **values,
            }
        )


@tagged("post_install", "-at_install")
class TestProviderSetup(ProviderCase):
    def test_each_provider_gets_its_defaults(self):
        Service = self.env["ai.service"]
        for code, url, version, prices in (
            ("anthropic", "https://api.anthropic.com/v1", "2023-06-01", "anthropic"),
            (
                "gemini",
                "https://generativelanguage.googleapis.com/v1beta",
                False,
                "google",
            ),
            ("openai", "https://api.openai.com/v1", False, "openai"),
        ):
            with self.subTest(provider=code):
                service = Service.create({"name": code, "provider": code})
                self.assertEqual(
                    (service.api_base_url, service.api_version, service.price_provider),
                    (url, version, prices),
                )
        azure = Service.create(
            {
                "name": "azure",
                "provider": "azure",
                "api_base_url": "https://acme.openai.azure.com",
            }
        )
        self.assertEqual(
            (azure.api_version, azure.price_provider), ("2024-10-21", "azure")
        )

    def test_the_price_catalogue_is_chosen_among_the_catalogues_providers(self):
        choices = dict(
            self.env["ai.service"]
            ._fields["price_provider"]
            ._description_selection(self.env)
        )
        # named as the catalogue names them, where the user reads them
        self.assertEqual(choices["openai"], "OpenAI")
        self.assertEqual(choices["azure"], "Microsoft Azure")
        self.assertEqual(
            dict(
                self.env["ai.model.price"]
                ._fields["price_provider"]
                ._description_selection(self.env)
            )["anthropic"],
            "Anthropic",
        )
        with self.assertRaisesRegex(
            ValidationError, "not a provider of the price catalogue"
        ):
            self.mistral.price_provider = "mistrall"
            self.mistral.flush_recordset()


@tagged("post_install", "-at_install")
class TestAnthropic(ProviderCase):
    def test_a_message_is_logged_with_its_tokens_and_cost(self):
        # 1,000 uncached + 3,000 read from the cache + 2,000 written to it
        # (500 of them for an hour), 400 output; claude-sonnet-4-5 per 1M:
        # 3 in, 0.30 cache read, 3.75 cache write, 6 hour-long write, 15 out
        # 1000*3 + 3000*0.3 + 1500*3.75 + 500*6 + 400*15 = 18,525 per 1M
        usage = anthropic_usage(1000, 400, cache_read=3000, cache_write=2000)
        usage["cache_creation"]["ephemeral_1h_input_tokens"] = 500
        usage["cache_creation"]["ephemeral_5m_input_tokens"] = 1500
        self.fake.script(
            Reply(body=anthropic_message("claude-sonnet-4-5-20250929", usage))
        )
        answer = self.anthropic.make_api_call(
            "messages", data={"max_tokens": 512, "messages": MESSAGES}
        )
        self.assertEqual(answer["type"], "message")
        [request] = self.fake.received()
        self.assertEqual(request["path"], "/anthropic/v1/messages")
        self.assertEqual(request["headers"]["X-Api-Key"], ANTHROPIC_KEY)
        self.assertEqual(request["headers"]["Anthropic-Version"], "2023-06-01")
        self.assertNotIn("Authorization", request["headers"])
        self.assertEqual(request["json"]["model"], "claude-sonnet-4-5-20250929")
        log = self.last_log(self.anthropic)
        self.assertRecordValues(
            log,
            [
                {
                    "provider": "anthropic",
                    "status": "success",
                    "input_tokens": 6000,
                    "cached_input_tokens": 3000,
                    "cache_write_tokens": 2000,
                    "cache_write_1h_tokens": 500,
                    "output_tokens": 400,
                    "finish_reason": "end_turn",
                    "price_missing": False,
                }
            ],
        )
        self.assertAlmostEqual(log.cost, 0.018525, places=10)
        self.assertEqual(log.price_id.price_provider, "anthropic")
        self.assertEqual(log.price_id.model_name, "claude-sonnet-4-5-20250929")

    def test_hour_long_cache_writes_without_their_price_are_missing_price(self):
        self.env["ai.model.price"].create(
            {
                "price_provider": "anthropic",
                "model_name": "claude-house-1",
                "date_from": "2020-01-01",
                "input_price": 1.0,
                "cache_write_price": 1.25,
                "output_price": 5.0,
            }
        )
        usage = anthropic_usage(10, 10, cache_write=100, cache_write_1h=100)
        self.fake.script(Reply(body=anthropic_message("claude-house-1", usage)))
        self.anthropic.make_api_call(
            "messages", data={"model": "claude-house-1", "max_tokens": 9}
        )
        log = self.last_log(self.anthropic)
        self.assertTrue(log.price_missing)
        self.assertFalse(log.cost)

    def test_overloaded_529_is_retried(self):
        self.fake.script(anthropic_error(529, "overloaded_error", "Overloaded"))
        self.anthropic.make_api_call(
            "messages", data={"max_tokens": 512, "messages": MESSAGES}
        )
        self.assertEqual(len(self.fake.received()), 2)
        log = self.last_log(self.anthropic)
        self.assertEqual((log.status, log.retry_count), ("success", 1))

    def test_openai_does_not_retry_529(self):
        self.fake.script(Reply(529, {"error": {"message": "?", "type": "odd"}}))
        with self.assertCallFails("odd"):
            self.service.make_openai_api_call("chat/completions", data={})
        self.assertEqual(len(self.fake.received()), 1)

    def test_a_bad_request_fails_at_once_with_anthropics_error_type(self):
        with self.assertCallFails("max_tokens: Field required"):
            self.anthropic.make_api_call("messages", data={"messages": MESSAGES})
        self.assertEqual(len(self.fake.received()), 1)
        log = self.last_log(self.anthropic)
        self.assertRecordValues(
            log,
            [
                {
                    "status": "failed",
                    "error_code": "invalid_request_error",
                    "http_status": 400,
                    "retry_count": 0,
                }
            ],
        )

    def test_the_openai_shape_is_refused_before_anything_is_sent(self):
        with self.assertCallFails("make_api_call"):
            self.anthropic.make_openai_api_call("chat/completions", data={})
        with self.assertCallFails("Unknown Anthropic endpoint"):
            self.anthropic.make_api_call("chat/completions", data={})
        self.assertFalse(self.fake.received())
        self.assertFalse(self.logs(self.anthropic))

    def test_a_stream_is_logged_from_its_events(self):
        events = self.anthropic.stream_api_call(
            "messages", {"max_tokens": 512, "messages": MESSAGES}
        )
        kinds = [event["type"] for event in events]
        self.assertEqual((kinds[0], kinds[-1]), ("message_start", "message_stop"))
        [request] = self.fake.received()
        self.assertIs(request["json"]["stream"], True)
        log = self.last_log(self.anthropic)
        self.assertEqual((log.status, log.is_stream), ("success", True))
        self.assertEqual(log.finish_reason, "end_turn")
        self.assertGreater(log.input_tokens, 0)
        self.assertEqual(
            log.output_tokens, 16
        )  # message_delta's, not message_start's 1
        self.assertGreater(log.response_length, 50)
        self.assertGreater(log.cost, 0)

    def test_a_cut_stream_keeps_its_input_usage(self):
        usage = anthropic_usage(700, 90)
        events = anthropic_stream_events("claude-sonnet-4-5-20250929", usage)
        self.fake.script(Reply(events=events, cut_after=5))
        with self.assertCallFails("interrupted"):
            list(self.anthropic.stream_api_call("messages", {"max_tokens": 5}))
        log = self.last_log(self.anthropic)
        self.assertEqual((log.status, log.error_code), ("failed", "interrupted"))
        self.assertEqual((log.usage_state, log.input_tokens), ("partial", 700))

    def test_an_error_event_fails_the_stream(self):
        events = anthropic_stream_events(
            "claude-sonnet-4-5-20250929", anthropic_usage(10, 5)
        )[:3]
        events.append(
            (
                "error",
                {
                    "type": "error",
                    "error": {"type": "overloaded_error", "message": "Overloaded"},
                },
            )
        )
        self.fake.script(Reply(events=events))
        with self.assertCallFails("Overloaded"):
            list(self.anthropic.stream_api_call("messages", {"max_tokens": 5}))
        self.assertEqual(self.last_log(self.anthropic).error_code, "overloaded_error")

    def test_summaries_and_connection_test_speak_anthropic(self):
        summary = self.anthropic.generate_summary("m1", "c1", "Caller wants Friday.")
        self.assertIn("Friday", summary)
        [request] = self.fake.received()
        self.assertEqual(request["path"], "/anthropic/v1/messages")
        self.assertIn("Summarise", request["json"]["system"])
        self.assertEqual(request["json"]["messages"][0]["role"], "user")
        result = self.anthropic.action_test_connection()
        self.assertEqual(result["params"]["type"], "success")
        self.assertEqual(
            self.logs(self.anthropic).mapped("request_type"),
            ["test_connection", "call_summary"],
        )


@tagged("post_install", "-at_install")
class TestGemini(ProviderCase):
    def test_generate_content_is_logged_with_its_tokens_and_cost(self):
        # 10,000 prompt tokens (4,000 cached, 2,000 of audio), 300 answer and
        # 700 thought tokens; gemini-2.5-flash per 1M: 0.30 in, 0.03 cached,
        # 1.00 audio in, 2.50 out (thoughts are output)
        # 4000*0.3 + 4000*0.03 + 2000*1.0 + 300*2.5 + 700*2.5 = 5,820 per 1M
        usage = gemini_usage(10_000, 300, thoughts=700, cached=4000, audio=2000)
        self.fake.script(Reply(body=gemini_answer("gemini-2.5-flash", usage)))
        answer = self.gemini.make_api_call(
            "generateContent", data={"contents": [{"parts": [{"text": "Hi"}]}]}
        )
        self.assertIn("candidates", answer)
        [request] = self.fake.received()
        self.assertEqual(
            request["path"], "/gemini/v1beta/models/gemini-2.5-flash:generateContent"
        )
        self.assertEqual(request["headers"]["X-Goog-Api-Key"], GEMINI_KEY)
        log = self.last_log(self.gemini)
        self.assertRecordValues(
            log,
            [
                {
                    "provider": "gemini",
                    "model": "gemini-2.5-flash",
                    "endpoint": "models/gemini-2.5-flash:generateContent",
                    "input_tokens": 10_000,
                    "cached_input_tokens": 4000,
                    "audio_input_tokens": 2000,
                    "output_tokens": 1000,
                    "reasoning_tokens": 700,
                    "finish_reason": "STOP",
                    "price_missing": False,
                }
            ],
        )
        self.assertAlmostEqual(log.cost, 0.00582, places=10)
        self.assertEqual(log.price_id.price_provider, "google")

    def test_long_context_is_priced_at_its_tier(self):
        # gemini-2.5-pro past 200,000 input tokens: 2.50 in, 15 out per 1M
        self.fake.script(
            Reply(body=gemini_answer("gemini-2.5-pro", gemini_usage(250_000, 1000)))
        )
        self.gemini.make_api_call("models/gemini-2.5-pro:generateContent", data={})
        log = self.last_log(self.gemini)
        self.assertAlmostEqual(log.cost, 0.64, places=10)
        self.assertEqual(log.price_id.min_input_tokens, 200_000)

    def test_unavailable_is_retried_and_exhaustion_is_named(self):
        self.fake.script(gemini_error(503, "UNAVAILABLE", "The model is overloaded."))
        self.gemini.make_api_call("generateContent", data={})
        self.assertEqual(self.last_log(self.gemini).retry_count, 1)
        self.fake.reset()
        self.fake.script(
            *[gemini_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.")] * 3
        )
        with self.assertCallFails("Quota exceeded"):
            self.gemini.make_api_call("generateContent", data={})
        self.assertEqual(len(self.fake.received()), 3)
        self.assertRecordValues(
            self.last_log(self.gemini),
            [
                {
                    "error_code": "RESOURCE_EXHAUSTED",
                    "http_status": 429,
                    "retry_count": 2,
                }
            ],
        )

    def test_its_key_never_reaches_a_log(self):
        self.fake.script(
            gemini_error(
                400,
                "INVALID_ARGUMENT",
                f"API key not valid: {GEMINI_KEY[:-3]}xyz "
                "(from ?key=AIzaOther123456789)",
            )
        )
        with self.assertCallFails("INVALID_ARGUMENT") as failure:
            self.gemini.make_api_call("generateContent", data={})
        log = self.last_log(self.gemini)
        for text in (log.error_message, str(failure.exception)):
            self.assertNotIn("AIza", text)
            self.assertIn("[redacted]", text)

    def test_a_stream_is_sent_as_server_sent_events(self):
        chunks = list(
            self.gemini.stream_api_call(
                "generateContent", {"contents": [{"parts": [{"text": "Hi"}]}]}
            )
        )
        self.assertEqual(chunks[-1]["candidates"][0]["finishReason"], "STOP")
        [request] = self.fake.received()
        self.assertEqual(
            request["path"],
            "/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        )
        log = self.last_log(self.gemini)
        usage = chunks[-1]["usageMetadata"]
        self.assertEqual((log.status, log.finish_reason), ("success", "STOP"))
        self.assertEqual(log.input_tokens, usage["promptTokenCount"])
        self.assertEqual(log.output_tokens, usage["candidatesTokenCount"])
        self.assertGreater(log.cost, 0)

    def test_a_stream_without_its_last_chunk_is_interrupted(self):
        chunks = gemini_stream_chunks("gemini-2.5-flash", gemini_usage(50, 12))
        self.fake.script(Reply(events=chunks, cut_after=len(chunks) - 1))
        with self.assertCallFails("interrupted"):
            list(self.gemini.stream_api_call("generateContent", {}))
        log = self.last_log(self.gemini)
        self.assertEqual((log.status, log.usage_state), ("failed", "partial"))
        self.assertEqual(log.input_tokens, 50)

    def test_its_openai_compatible_endpoint(self):
        self.fake.script(
            Reply(body=chat_completion("gemini-2.5-flash", chat_usage(1000, 100)))
        )
        self.gemini.make_openai_api_call("chat/completions", data={"messages": []})
        [request] = self.fake.received()
        self.assertEqual(request["path"], "/gemini/v1beta/openai/chat/completions")
        self.assertEqual(request["headers"]["Authorization"], f"Bearer {GEMINI_KEY}")
        # 1000 * 0.30 + 100 * 2.50 = 550 per 1M
        self.assertAlmostEqual(self.last_log(self.gemini).cost, 0.00055, places=10)

    def test_streaming_is_asked_with_stream_api_call_only(self):
        with self.assertCallFails("stream_api_call"):
            self.gemini.make_api_call(
                "models/gemini-2.5-flash:streamGenerateContent", data={}
            )
        self.assertFalse(self.fake.received())


@tagged("post_install", "-at_install")
class TestAzure(ProviderCase):
    def test_a_deployment_is_called_and_priced_by_the_model_it_runs(self):
        self.fake.script(
            Reply(body=chat_completion("gpt-4o-2024-08-06", chat_usage(1000, 100)))
        )
        self.azure.make_openai_api_call("chat/completions", data={"messages": []})
        [request] = self.fake.received()
        self.assertEqual(
            request["path"],
            "/azure/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21",
        )
        self.assertEqual(request["headers"]["Api-Key"], self.azure.api_key)
        self.assertNotIn("Authorization", request["headers"])
        log = self.last_log(self.azure)
        self.assertEqual(
            (log.model, log.response_model), ("prod-4o", "gpt-4o-2024-08-06")
        )
        # the Azure catalogue prices gpt-4o as its fallback provider OpenAI
        # does: 1000 * 2.50 + 100 * 10 = 3,500 per 1M
        self.assertFalse(log.price_missing)
        self.assertAlmostEqual(log.cost, 0.0035, places=10)
        self.assertEqual(log.price_id.price_provider, "azure")
        self.assertIn("openai's price, the catalogue's fallback", log.price_id.source)

    def test_azure_deployments_the_catalogue_proposes_are_priced(self):
        for model in ("gpt-4o-2024-08-06", "gpt-4.1", "gpt-5", "o3-mini"):
            with self.subTest(model=model):
                self.fake.script(
                    Reply(body=chat_completion(model, chat_usage(1000, 100)))
                )
                self.azure.make_openai_api_call(
                    "chat/completions", data={"messages": []}
                )
                log = self.last_log(self.azure)
                self.assertFalse(log.price_missing, model)
                self.assertGreater(log.cost, 0)

    def test_the_v1_api_without_api_version(self):
        self.azure.api_version = False
        self.azure.flush_recordset()
        self.azure.make_openai_api_call("chat/completions", data={"messages": []})
        [request] = self.fake.received()
        self.assertEqual(request["path"], "/azure/openai/v1/chat/completions")
        self.assertEqual(request["json"]["model"], "prod-4o")
        self.assertEqual(self.last_log(self.azure).status, "success")

    def test_retry_after_ms_is_honoured(self):
        self.fake.script(
            Reply(
                429,
                {"error": {"code": "429", "message": "Rate limit"}},
                headers={"retry-after-ms": "20", "Retry-After": "60"},
            )
        )
        self.azure.make_openai_api_call("chat/completions", data={"messages": []})
        self.assertEqual(self.last_log(self.azure).retry_count, 1)

    def test_an_unknown_deployment_is_named(self):
        with self.assertCallFails("DeploymentNotFound"):
            self.azure.make_openai_api_call(
                "chat/completions", data={"model": "gone", "messages": []}
            )


@tagged("post_install", "-at_install")
class TestOpenAICompatible(ProviderCase):
    def test_a_mistral_server_is_priced_from_its_catalogue(self):
        self.fake.script(
            Reply(body=chat_completion("mistral-large-latest", chat_usage(1000, 100)))
        )
        self.mistral.make_api_call("chat/completions", data={"messages": []})
        [request] = self.fake.received()
        self.assertEqual(request["headers"]["Authorization"], f"Bearer {TEST_API_KEY}")
        log = self.last_log(self.mistral)
        self.assertEqual(log.provider, "openai_compatible")
        # mistral-large per 1M: 2 in, 6 out: 1000 * 2 + 100 * 6 = 2,600
        self.assertAlmostEqual(log.cost, 0.0026, places=10)
        self.assertEqual(log.price_id.price_provider, "mistral")

    def test_openai_prices_do_not_bill_another_provider(self):
        self.assertTrue(
            self.env["ai.model.price"].search([("model_name", "=", "gpt-4o")])
        )
        self.fake.script(Reply(body=chat_completion("gpt-4o", chat_usage(1000, 100))))
        self.mistral.make_api_call("chat/completions", data={"messages": []})
        self.assertTrue(self.last_log(self.mistral).price_missing)


@tagged("post_install", "-at_install")
class TestProviderReports(ProviderCase):
    def test_every_provider_in_reports_and_metrics(self):
        self.anthropic.make_api_call("messages", data={"max_tokens": 5})
        self.gemini.make_api_call("generateContent", data={})
        self.azure.make_openai_api_call("chat/completions", data={"messages": []})
        self.mistral.make_api_call("chat/completions", data={"messages": []})
        self.service.make_openai_api_call("chat/completions", data={"messages": []})
        services = self.anthropic | self.gemini | self.azure | self.mistral
        groups = self.Log._read_group(
            [("service_id", "in", (services | self.service).ids)],
            ["provider"],
            ["__count"],
        )
        counted = {provider: count for provider, count in groups}
        for code in providers.PROVIDERS:
            self.assertGreaterEqual(counted.get(code, 0), 1, code)
        metrics = self.env["ai.usage.report"]._prometheus_metrics()
        for code in providers.PROVIDERS:
            self.assertIn(f'provider="{code}"', metrics)
        self.assertIn('service="Claude",provider="anthropic"', metrics)


@tagged("post_install", "-at_install")
class TestProviderSdks(ProviderCase):
    """ensure_usage_logging on the objects the providers' own SDKs return,
    from real HTTP answers of the fake server."""

    @unittest.skipUnless(anthropic, "the anthropic package is not installed")
    def test_an_anthropic_sdk_message(self):
        client = anthropic.Anthropic(
            api_key=ANTHROPIC_KEY,
            base_url=self.fake.url_of("anthropic").removesuffix("/v1"),
            max_retries=0,
        )
        message = self.anthropic.ensure_usage_logging(
            lambda: client.messages.create(
                model="claude-sonnet-4-5-20250929", max_tokens=64, messages=MESSAGES
            ),
            request_type="call_summary",
            endpoint="messages",
        )
        self.assertIsInstance(message, anthropic.types.Message)
        log = self.last_log(self.anthropic)
        self.assertRecordValues(
            log,
            [
                {
                    "status": "success",
                    "model": "claude-sonnet-4-5-20250929",
                    "input_tokens": message.usage.input_tokens,
                    "output_tokens": message.usage.output_tokens,
                    "finish_reason": "end_turn",
                    "price_missing": False,
                }
            ],
        )
        expected = (
            message.usage.input_tokens * 3 + message.usage.output_tokens * 15
        ) / 1e6
        self.assertAlmostEqual(log.cost, expected, places=10)

    @unittest.skipUnless(genai, "the google-genai package is not installed")
    def test_a_google_genai_response(self):
        client = genai.Client(
            api_key=GEMINI_KEY,
            http_options=genai.types.HttpOptions(
                base_url=self.fake.url_of("gemini").removesuffix("v1beta"),
                api_version="v1beta",
            ),
        )
        response = self.gemini.ensure_usage_logging(
            lambda: client.models.generate_content(
                model="gemini-2.5-flash", contents="Summarise the call."
            ),
            endpoint="models/gemini-2.5-flash:generateContent",
        )
        usage = response.usage_metadata
        log = self.last_log(self.gemini)
        self.assertRecordValues(
            log,
            [
                {
                    "status": "success",
                    "model": "gemini-2.5-flash",
                    "input_tokens": usage.prompt_token_count,
                    "output_tokens": usage.candidates_token_count,
                    "finish_reason": "STOP",
                    "price_missing": False,
                }
            ],
        )
        expected = (
            usage.prompt_token_count * 0.3 + usage.candidates_token_count * 2.5
        ) / 1e6
        self.assertAlmostEqual(log.cost, expected, places=10)

    @unittest.skipUnless(openai, "the openai package is not installed")
    def test_openai_client_on_azure_and_gemini(self):
        for service, path in (
            (self.azure, "/azure/openai/deployments/prod-4o/chat/completions"),
            (self.gemini, "/gemini/v1beta/openai/chat/completions"),
        ):
            with self.subTest(service=service.name):
                self.fake.reset()
                client = service.openai_client(message_id="sdk")
                client.chat.completions.create(model=service.default_model, messages=[])
                [request] = self.fake.received()
                self.assertEqual(request["path"].split("?")[0], path)
                log = self.last_log(service)
                self.assertEqual(
                    (log.endpoint, log.status, log.message_id),
                    ("chat/completions", "success", "sdk"),
                )
        with self.assertCallFails("make_api_call"):
            self.anthropic.openai_client()
