from email.utils import formatdate

from odoo.tests import BaseCase, tagged

from ..tools.http_client import extract_error, parse_retry_after
from ..tools.redaction import redact_secrets
from ..tools.usage import (
    TOKEN_FIELDS,
    UsageError,
    extract_response_info,
    extract_usage,
    speech_payload,
)
from .fake_openai import chat_completion, chat_usage, response_object, responses_usage


def kinds(**counts):
    """A usage as extract_usage gives it: every kind, zero unless given."""
    usage = dict.fromkeys(TOKEN_FIELDS, 0)
    usage["audio_seconds"] = 0.0
    usage.update(counts)
    if "total_tokens" not in counts:
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
    return usage


@tagged("post_install", "-at_install")
class TestUsageParsing(BaseCase):
    def test_chat_completion_usage_with_cached_and_reasoning(self):
        payload = chat_completion(
            "o4-mini", chat_usage(1200, 800, cached_tokens=1024, reasoning_tokens=640)
        )
        self.assertEqual(
            extract_usage(payload),
            kinds(
                input_tokens=1200,
                cached_input_tokens=1024,
                output_tokens=800,
                reasoning_tokens=640,
            ),
        )

    def test_responses_api_usage(self):
        payload = response_object(
            "gpt-5", responses_usage(300, 90, cached_tokens=128, reasoning_tokens=64)
        )
        self.assertEqual(
            extract_usage(payload),
            kinds(
                input_tokens=300,
                cached_input_tokens=128,
                output_tokens=90,
                reasoning_tokens=64,
            ),
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
        self.assertEqual(extract_usage(payload), kinds(input_tokens=42))

    # The shapes below are the OpenAPI spec's (CompletionUsage, ResponseUsage,
    # RealtimeResponse.usage, TranscriptTextUsageTokens/Duration, ImagesUsage).
    def test_chat_audio_image_and_cache_write_details(self):
        usage = chat_usage(1000, 300, cached_tokens=200)
        usage["prompt_tokens_details"].update(
            audio_tokens=400, image_tokens=100, text_tokens=500, cache_write_tokens=150
        )
        usage["completion_tokens_details"].update(audio_tokens=250, text_tokens=50)
        self.assertEqual(
            extract_usage(chat_completion("gpt-audio", usage)),
            kinds(
                input_tokens=1000,
                cached_input_tokens=200,
                cache_write_tokens=150,
                audio_input_tokens=400,
                image_input_tokens=100,
                output_tokens=300,
                audio_output_tokens=250,
            ),
        )

    def test_responses_cache_write(self):
        usage = responses_usage(5000, 100, cached_tokens=1000)
        usage["input_tokens_details"]["cache_write_tokens"] = 3000
        self.assertEqual(
            extract_usage(response_object("gpt-5.6-terra", usage)),
            kinds(
                input_tokens=5000,
                cached_input_tokens=1000,
                cache_write_tokens=3000,
                output_tokens=100,
            ),
        )

    def test_realtime_response_done_event(self):
        event = {
            "type": "response.done",
            "event_id": "event_3132",
            "response": {
                "object": "realtime.response",
                "id": "resp_001",
                "status": "completed",
                "usage": {
                    "total_tokens": 1300,
                    "input_tokens": 1000,
                    "output_tokens": 300,
                    "input_token_details": {
                        "text_tokens": 200,
                        "audio_tokens": 700,
                        "image_tokens": 100,
                        "cached_tokens": 500,
                        "cached_tokens_details": {
                            "text_tokens": 100,
                            "audio_tokens": 350,
                            "image_tokens": 50,
                        },
                    },
                    "output_token_details": {"text_tokens": 100, "audio_tokens": 200},
                },
            },
        }
        self.assertEqual(
            extract_usage(event),
            kinds(
                input_tokens=1000,
                cached_input_tokens=500,
                audio_input_tokens=700,
                cached_audio_input_tokens=350,
                image_input_tokens=100,
                cached_image_input_tokens=50,
                output_tokens=300,
                audio_output_tokens=200,
                total_tokens=1300,
            ),
        )

    def test_transcription_usage_by_tokens_and_by_duration(self):
        by_tokens = {
            "text": "Hello",
            "usage": {
                "type": "tokens",
                "input_tokens": 120,
                "input_token_details": {"text_tokens": 20, "audio_tokens": 100},
                "output_tokens": 30,
                "total_tokens": 150,
            },
        }
        self.assertEqual(
            extract_usage(by_tokens),
            kinds(input_tokens=120, audio_input_tokens=100, output_tokens=30),
        )
        by_duration = {"text": "Hello", "usage": {"type": "duration", "seconds": 93.5}}
        self.assertEqual(extract_usage(by_duration), kinds(audio_seconds=93.5))
        # the stream of a transcription ends with its usage too
        done = dict(by_tokens, type="transcript.text.done")
        self.assertEqual(extract_usage(done)["audio_input_tokens"], 100)

    def test_images_output_is_image_tokens(self):
        usage = {
            "total_tokens": 4200,
            "input_tokens": 200,
            "output_tokens": 4000,
            "input_tokens_details": {"text_tokens": 50, "image_tokens": 150},
        }
        expected = kinds(
            input_tokens=200,
            image_input_tokens=150,
            output_tokens=4000,
            image_output_tokens=4000,
            total_tokens=4200,
        )
        answer = {"created": 1713833628, "data": [{"b64_json": "..."}], "usage": usage}
        self.assertEqual(extract_usage(answer), expected)
        event = {"type": "image_generation.completed", "b64_json": "", "usage": usage}
        self.assertEqual(extract_usage(event), expected)
        # a usage that splits the output is taken as it says
        split = dict(
            usage, output_tokens_details={"image_tokens": 3900, "text_tokens": 100}
        )
        self.assertEqual(
            extract_usage(dict(answer, usage=split))["image_output_tokens"], 3900
        )

    def test_speech_bills_the_characters_of_its_input(self):
        request = {"model": "tts-1", "input": "Bonjour à tous", "voice": "alloy"}
        payload = speech_payload(request)
        self.assertEqual(extract_usage(payload), kinds(input_characters=14))
        self.assertEqual(extract_response_info(payload)["response_model"], "tts-1")

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
            {"prompt_tokens": 10, "prompt_tokens_details": {"audio_tokens": 11}},
            {
                "input_tokens": 10,
                "input_token_details": {
                    "audio_tokens": 5,
                    "cached_tokens": 8,
                    "cached_tokens_details": {"audio_tokens": 6},
                },
            },
            {
                "input_tokens": 10,
                "input_tokens_details": {"cached_tokens": 6, "cache_write_tokens": 6},
            },
            {"output_tokens": 10, "output_tokens_details": {"image_tokens": 11}},
            {"type": "duration", "seconds": -1},
            {"type": "duration", "seconds": "93"},
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
