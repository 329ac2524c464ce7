"""tools.streams without a database: the SSE parser and the one rule that
gives every streamed call its outcome."""

import json

from odoo.tests import BaseCase, tagged

from ..tools.streams import (
    ABANDONED,
    DONE,
    ENDED,
    INVALID,
    SseParser,
    StreamEventError,
    StreamWatcher,
)
from .fake_openai import (
    REPLY_TEXT,
    FakeOpenAI,
    chat_usage,
    response_object,
    responses_usage,
)


def watch(events, ending=ENDED):
    """Feed (name, data) events to a watcher; return its outcome."""
    watcher = StreamWatcher(clock=lambda: 0.0)
    for _name, data in events:
        text = data if isinstance(data, str) else json.dumps(data)
        try:
            if watcher.feed(text) is DONE:
                break
        except StreamEventError:
            ending = INVALID
            break
    return watcher.outcome(ending)


def responses_events(final_type="response.completed", **response):
    usage = responses_usage(100, 20)
    final = dict(response_object("gpt-5", usage), **response)
    events = FakeOpenAI.responses_stream_events("gpt-5", usage)[:-1]
    return events + [(final_type, {"type": final_type, "response": final})]


def parse(chunks):
    parser = SseParser()
    return [data for chunk in chunks for data in parser.feed(chunk)] + parser.close()


@tagged("post_install", "-at_install")
class TestSseParser(BaseCase):
    def test_events_whatever_the_chunking(self):
        raw = (
            b'event: x\r\ndata: {"a":1}\r\n\r\n: keep-alive\n'
            b'data: {"b":\ndata: 2}\n\ndata: [DONE]\r\r'
        )
        for size in (1, 2, 3, 7, len(raw)):
            chunks = [raw[i : i + size] for i in range(0, len(raw), size)]
            with self.subTest(size=size):
                self.assertEqual(parse(chunks), ['{"a":1}', '{"b":\n2}', "[DONE]"])

    def test_an_event_cut_before_its_end_is_dropped(self):
        self.assertEqual(parse([b'data: {"a":1}\n\ndata: {"b"']), ['{"a":1}'])


@tagged("post_install", "-at_install")
class TestStreamOutcome(BaseCase):
    def test_a_chat_stream_completed(self):
        events = FakeOpenAI.chat_stream_events(
            "gpt-4o", 10, {"stream_options": {"include_usage": True}}
        )
        outcome = watch(events)
        self.assertEqual(outcome.status, "success")
        self.assertEqual(outcome.usage_source["usage"], chat_usage(10, 16))
        self.assertEqual(outcome.finish_values["finish_reason"], "stop")
        self.assertEqual(outcome.finish_values["response_length"], len(REPLY_TEXT))
        self.assertEqual(outcome.finish_values["time_to_first_token_ms"], 0)

    def test_a_responses_stream_completed(self):
        outcome = watch(responses_events())
        self.assertEqual(outcome.status, "success")
        self.assertEqual(outcome.usage_source["response"]["usage"]["input_tokens"], 100)
        self.assertEqual(outcome.finish_values["response_length"], len(REPLY_TEXT))

    def test_incomplete_is_a_success_with_its_reason(self):
        outcome = watch(
            responses_events(
                "response.incomplete",
                status="incomplete",
                incomplete_details={"reason": "max_output_tokens"},
            )
        )
        self.assertEqual(outcome.status, "success")
        self.assertEqual(outcome.finish_values["finish_reason"], "max_output_tokens")

    def test_failed_keeps_its_code_and_usage(self):
        outcome = watch(
            responses_events(
                "response.failed",
                status="failed",
                error={"code": "server_error", "message": "The model failed."},
            )
        )
        self.assertEqual(
            (outcome.status, outcome.error_code, outcome.message),
            ("failed", "server_error", "The model failed."),
        )
        self.assertIsNotNone(outcome.usage_source, "the usage it carried is kept")

    def test_an_error_event_fails(self):
        events = FakeOpenAI.responses_stream_events("gpt-5", responses_usage(1, 1))
        error = {
            "type": "error",
            "code": "rate_limit_exceeded",
            "message": "Too many tokens",
            "param": None,
            "sequence_number": 3,
        }
        outcome = watch(events[:3] + [("error", error)])
        self.assertEqual(
            (outcome.status, outcome.error_code), ("failed", "rate_limit_exceeded")
        )
        chat_error = {"error": {"message": "overloaded", "type": "server_error"}}
        outcome = watch([(None, chat_error)])
        self.assertEqual(outcome.error_code, "server_error")

    def test_a_stream_ended_early_is_interrupted(self):
        outcome = watch(responses_events()[:4])
        self.assertEqual(
            (outcome.status, outcome.error_code), ("failed", "interrupted")
        )
        self.assertNotIn("abandon", outcome.message)

    def test_a_stream_left_by_the_caller_is_abandoned(self):
        outcome = watch(responses_events()[:4], ending=ABANDONED)
        self.assertEqual((outcome.status, outcome.error_code), ("failed", "abandoned"))

    def test_an_event_that_is_not_json_fails_the_stream(self):
        outcome = watch(responses_events()[:2] + [(None, "{oops")])
        self.assertEqual(
            (outcome.status, outcome.error_code), ("failed", "invalid_json")
        )
