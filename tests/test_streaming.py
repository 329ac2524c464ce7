import gc

from odoo.tests import tagged

from .common import AiUsageCase
from .fake_openai import (
    REPLY_TEXT,
    FakeOpenAI,
    Reply,
    count_tokens,
    error_body,
    invalid_key_reply,
    responses_usage,
)

MESSAGES = [{"role": "user", "content": "Stream me a summary."}]


@tagged("post_install", "-at_install")
class TestStreaming(AiUsageCase):
    def stream(self, endpoint="chat/completions", data=None, **kwargs):
        return self.service.stream_openai_api_call(
            endpoint, data or {"messages": MESSAGES}, **kwargs
        )

    def test_chat_stream_logs_usage_from_the_last_chunk(self):
        events = list(self.stream(request_type="custom_prompt"))
        text = "".join(
            (c.get("delta") or {}).get("content") or ""
            for e in events
            for c in e["choices"]
        )
        self.assertEqual(text, REPLY_TEXT)
        sent = self.fake.received()[0]["json"]
        self.assertEqual(
            (sent["stream"], sent["stream_options"]), (True, {"include_usage": True})
        )
        log = self.last_log()
        self.assertRecordValues(
            log,
            [
                {
                    "status": "success",
                    "is_stream": True,
                    "usage_state": "reported",
                    "request_type": "custom_prompt",
                    "input_tokens": count_tokens(MESSAGES),
                    "output_tokens": count_tokens(REPLY_TEXT),
                    "finish_reason": "stop",
                    "response_length": len(REPLY_TEXT),
                    "response_model": "gpt-4o-mini-2024-07-18",
                }
            ],
        )
        self.assertGreaterEqual(log.time_to_first_token_ms, 0)
        self.assertFalse(log.price_missing)

    def test_responses_stream_logs_usage_from_response_completed(self):
        events = list(self.stream("responses", {"model": "gpt-5", "input": "Hello"}))
        self.assertEqual(events[-1]["type"], "response.completed")
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "status": "success",
                    "is_stream": True,
                    "input_tokens": count_tokens("Hello"),
                    "output_tokens": count_tokens(REPLY_TEXT),
                    "response_model": "gpt-5",
                }
            ],
        )

    def test_abandoned_stream_is_abandoned_with_usage_unknown(self):
        events = FakeOpenAI.chat_stream_events(
            "gpt-4o-mini", 10, {"stream_options": {"include_usage": True}}
        )
        self.fake.script(Reply(events=events, event_delay=0.05))
        stream = self.stream()
        next(stream)
        next(stream)
        stream.close()
        log = self.last_log()
        self.assertRecordValues(
            log,
            [
                {
                    "status": "failed",
                    "error_code": "abandoned",
                    "usage_state": "missing",
                }
            ],
        )
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT total_tokens FROM ai_usage_log WHERE id = %s", [log.id]
        )
        self.assertIsNone(self.env.cr.fetchone()[0], "unknown, never 0")

    def test_a_stream_dropped_unread_is_abandoned(self):
        stream = self.stream(message_id="dropped")
        del stream  # the caller never reads it
        gc.collect()
        self.assertRecordValues(
            self.last_log(),
            [{"message_id": "dropped", "status": "failed", "error_code": "abandoned"}],
        )

    def test_stream_cut_by_the_network(self):
        events = FakeOpenAI.chat_stream_events(
            "gpt-4o-mini", 10, {"stream_options": {"include_usage": True}}
        )
        self.fake.script(Reply(events=events, cut_after=4))
        received = []
        with self.assertCallFails("interrupted"):
            received.extend(self.stream())
        self.assertEqual(len(received), 4)
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

    def test_stream_cut_after_usage_keeps_partial_usage(self):
        events = FakeOpenAI.responses_stream_events("gpt-5", responses_usage(30, 12))
        # usage arrives only with response.completed; a cut before it leaves
        # usage unknown (here the cut comes after response.created, usage null)
        self.fake.script(Reply(events=events, cut_after=2))
        with self.assertCallFails("interrupted"):
            list(self.stream("responses", {"model": "gpt-5", "input": "x"}))
        self.assertRecordValues(
            self.last_log(), [{"status": "failed", "usage_state": "missing"}]
        )

    def test_stream_refused_before_it_starts(self):
        self.fake.script(invalid_key_reply())
        with self.assertCallFails("invalid_api_key"):
            self.stream()
        self.assertRecordValues(
            self.last_log(),
            [{"status": "failed", "http_status": 401, "is_stream": True}],
        )

    def test_stream_retries_a_429_before_it_starts(self):
        self.fake.script(
            Reply(429, error_body("Rate limit", "requests", "rate_limit_exceeded"))
        )
        list(self.stream())
        self.assertRecordValues(
            self.last_log(), [{"status": "success", "retry_count": 1}]
        )


def responses_stream(final_type, **response):
    """A Responses API stream ending with ``final_type``."""
    usage = responses_usage(40, 12)
    events = FakeOpenAI.responses_stream_events("gpt-5", usage)
    final = dict(events[-1][1]["response"], **response)
    return events[:-1] + [(final_type, {"type": final_type, "response": final})]


@tagged("post_install", "-at_install")
class TestStreamOutcomes(AiUsageCase):
    """The outcome rule of tools.streams, through real HTTP, for
    stream_openai_api_call; test_openai_client checks the SDK path."""

    def stream(self, events):
        self.fake.script(Reply(events=events))
        return self.service.stream_openai_api_call(
            "responses", {"model": "gpt-5", "input": "Summarise"}
        )

    def test_failed_response_is_a_failed_call_with_its_usage(self):
        events = responses_stream(
            "response.failed",
            status="failed",
            error={"code": "server_error", "message": "The model failed."},
        )
        with self.assertCallFails("server_error"):
            list(self.stream(events))
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "status": "failed",
                    "error_code": "server_error",
                    "error_message": "The model failed.",
                    "usage_state": "partial",
                    "input_tokens": 40,
                    "output_tokens": 12,
                }
            ],
        )

    def test_incomplete_response_is_a_success_with_its_reason(self):
        events = responses_stream(
            "response.incomplete",
            status="incomplete",
            incomplete_details={"reason": "max_output_tokens"},
        )
        list(self.stream(events))
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "status": "success",
                    "finish_reason": "max_output_tokens",
                    "usage_state": "reported",
                    "total_tokens": 52,
                    "response_length": len(REPLY_TEXT),
                }
            ],
        )

    def test_an_error_event_fails_the_call(self):
        events = FakeOpenAI.responses_stream_events("gpt-5", responses_usage(1, 1))
        error = {
            "type": "error",
            "code": "rate_limit_exceeded",
            "message": "Too many tokens per minute",
            "param": None,
            "sequence_number": 3,
        }
        with self.assertCallFails("rate_limit_exceeded"):
            list(self.stream(events[:3] + [("error", error)]))
        self.assertRecordValues(
            self.last_log(),
            [{"status": "failed", "error_code": "rate_limit_exceeded"}],
        )

    def test_a_stream_the_server_ends_early_is_interrupted_not_abandoned(self):
        events = responses_stream("response.completed")[:5]
        with self.assertCallFails("interrupted"):
            list(self.stream(events))
        log = self.last_log()
        self.assertEqual((log.status, log.error_code), ("failed", "interrupted"))
        self.assertNotIn("abandon", log.error_message)

    def test_an_event_that_is_not_json_fails_the_call(self):
        events = responses_stream("response.completed")
        with self.assertCallFails("invalid_json"):
            list(self.stream(events[:3] + [(None, "{not json")] + events[3:]))
        self.assertEqual(self.last_log().error_code, "invalid_json")
