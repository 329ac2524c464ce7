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

    def test_abandoned_stream_is_interrupted_with_usage_unknown(self):
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
                    "error_code": "interrupted",
                    "usage_state": "missing",
                }
            ],
        )
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT total_tokens FROM ai_usage_log WHERE id = %s", [log.id]
        )
        self.assertIsNone(self.env.cr.fetchone()[0], "unknown, never 0")

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
