import logging
import socket
import time
import unittest
from email.utils import formatdate
from unittest.mock import patch

import psycopg2

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..recorder import CallRecorder
from .common import TEST_API_KEY, AiUsageCase
from .fake_openai import (
    REPLY_TEXT,
    Reply,
    chat_completion,
    chat_usage,
    count_tokens,
    error_body,
    invalid_key_reply,
)

MESSAGES = [
    {"role": "user", "content": "Summarise: the customer wants delivery on Friday."}
]


@tagged("post_install", "-at_install")
class TestMakeOpenaiApiCall(AiUsageCase):
    def call(self, data=None, **kwargs):
        return self.service.make_openai_api_call(
            "chat/completions",
            data=data if data is not None else {"messages": MESSAGES},
            **kwargs,
        )

    def test_success_is_logged_with_usage_and_attribution(self):
        payload = self.call(
            request_type="transcript_analysis",
            location_id="loc-42",
            message_id="msg-1",
            contact_id="c-7",
            conversation_id="conv-9",
            metadata={"campaign": "spring"},
        )
        self.assertEqual(payload["choices"][0]["message"]["content"], REPLY_TEXT)
        sent = self.fake.received("/v1/chat/completions")
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["headers"]["Authorization"], f"Bearer {TEST_API_KEY}")
        self.assertEqual(
            sent[0]["json"]["model"],
            "gpt-4o-mini",
            "the service's default model is used",
        )

        log = self.last_log()
        self.assertRecordValues(
            log,
            [
                {
                    "status": "success",
                    "request_type": "transcript_analysis",
                    "endpoint": "chat/completions",
                    "model": "gpt-4o-mini",
                    "response_model": "gpt-4o-mini-2024-07-18",
                    "usage_state": "reported",
                    "input_tokens": count_tokens(MESSAGES),
                    "output_tokens": count_tokens(REPLY_TEXT),
                    "total_tokens": count_tokens(MESSAGES) + count_tokens(REPLY_TEXT),
                    "http_status": 200,
                    "response_id": payload["id"],
                    "finish_reason": "stop",
                    "system_fingerprint": "fp_44709d6fcb",
                    "response_length": len(REPLY_TEXT),
                    "location_id": "loc-42",
                    "message_id": "msg-1",
                    "contact_id": "c-7",
                    "conversation_id": "conv-9",
                    "user_id": self.env.uid,
                    "company_id": self.company.id,
                    "retry_count": 0,
                    "price_missing": False,
                }
            ],
        )
        self.assertEqual(log.metadata, {"campaign": "spring"})
        self.assertGreater(log.cost, 0)
        self.assertTrue(log.response_time >= log.request_time)

    def test_missing_attribution_gets_explicit_fallback(self):
        self.call()
        log = self.last_log()
        self.assertEqual(
            (log.location_id, log.message_id, log.contact_id, log.conversation_id),
            ("unknown", "unknown", "unknown", "unknown"),
        )
        self.assertEqual(log.request_type, "other")

    def test_empty_recordset_uses_the_company_service(self):
        self.env["ai.service"].search([("id", "!=", self.service.id)]).action_archive()
        self.env["ai.service"].make_openai_api_call(
            "chat/completions", data={"messages": MESSAGES}
        )
        self.assertEqual(len(self.logs()), 1)

    def test_no_service_is_a_clear_error(self):
        self.env["ai.service"].search([]).action_archive()
        with self.assertCallFails("No active AI service"):
            self.env["ai.service"].make_openai_api_call(
                "chat/completions", data={"messages": MESSAGES}
            )

    def test_responses_api_and_embeddings(self):
        self.service.make_openai_api_call(
            "responses", data={"model": "gpt-5-mini", "input": "Hello there"}
        )
        log = self.last_log()
        self.assertEqual(
            (log.endpoint, log.model, log.input_tokens, log.output_tokens),
            (
                "responses",
                "gpt-5-mini",
                count_tokens("Hello there"),
                count_tokens(REPLY_TEXT),
            ),
        )
        self.service.make_openai_api_call(
            "embeddings", data={"model": "text-embedding-3-small", "input": ["a", "b"]}
        )
        log = self.last_log()
        self.assertEqual(
            (log.endpoint, log.input_tokens, log.output_tokens, log.usage_state),
            ("embeddings", count_tokens(["a", "b"]), 0, "reported"),
        )

    def test_custom_api_key_is_sent_and_never_stored(self):
        custom = "sk-custom-0123456789abcdefXYZ"
        self.fake.script(
            Reply(
                401,
                error_body(
                    f"Incorrect API key provided: {custom}.",
                    "invalid_request_error",
                    "invalid_api_key",
                ),
            )
        )
        with self.assertCallFails() as caught:
            self.call(custom_api_key=custom)
        self.assertEqual(
            self.fake.received()[0]["headers"]["Authorization"], f"Bearer {custom}"
        )
        self.assertNotIn(custom, str(caught.exception))
        log = self.last_log()
        self.assertNotIn(custom, log.error_message)
        self.assertIn("[redacted]", log.error_message)

    def test_401_echoing_the_key_is_redacted_everywhere(self):
        self.fake.script(
            Reply(
                401,
                error_body(
                    f"Incorrect API key: {TEST_API_KEY}. Bearer {TEST_API_KEY}",
                    "invalid_request_error",
                    "invalid_api_key",
                ),
            )
        )
        with (
            self.assertLogs("odoo.addons.ai_usage_log", level="WARNING") as server_log,
            self.assertCallFails() as caught,
        ):
            self.call()
        self.assertIn("invalid_api_key", str(caught.exception))
        self.assertNotIn(TEST_API_KEY, str(caught.exception))
        self.assertNotIn(TEST_API_KEY, "\n".join(server_log.output))
        self.assertEqual(len(self.fake.received()), 1, "a 401 is not retried")
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "status": "failed",
                    "http_status": 401,
                    "error_code": "invalid_api_key",
                    "usage_state": "missing",
                    "retry_count": 0,
                }
            ],
        )
        self.assertNotIn(TEST_API_KEY, self.last_log().error_message)

    def test_429_is_retried_then_succeeds(self):
        self.fake.script(
            Reply(
                429, error_body("Rate limit reached", "requests", "rate_limit_exceeded")
            )
        )
        self.call()
        self.assertEqual(len(self.fake.received()), 2)
        self.assertRecordValues(
            self.last_log(),
            [{"status": "success", "retry_count": 1, "http_status": 200}],
        )
        self.assertEqual(len(self.logs()), 1, "one log per call, with its retry count")

    def test_retry_after_seconds_is_honoured(self):
        self.fake.script(
            Reply(
                429,
                error_body("Slow down", "requests", "rate_limit_exceeded"),
                headers={"Retry-After": "1"},
            )
        )
        started = time.monotonic()
        self.call()
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        self.assertEqual(self.last_log().retry_count, 1)

    def test_retry_after_http_date_is_honoured(self):
        self.fake.script(
            Reply(
                503,
                error_body("Overloaded", "server_error"),
                headers={"Retry-After": formatdate(time.time() + 2, usegmt=True)},
            )
        )
        started = time.monotonic()
        self.call()
        self.assertGreaterEqual(time.monotonic() - started, 1.0)

    def test_retry_after_beyond_the_timeout_fails_at_once(self):
        self.service.timeout = 5
        self.fake.script(
            Reply(
                429,
                error_body("Quota", "requests", "rate_limit_exceeded"),
                headers={"Retry-After": "60"},
            )
        )
        started = time.monotonic()
        with self.assertCallFails("rate_limit_exceeded"):
            self.call()
        self.assertLess(time.monotonic() - started, 5)
        self.assertRecordValues(
            self.last_log(),
            [{"status": "failed", "http_status": 429, "retry_count": 0}],
        )

    def test_5xx_retries_are_bounded_by_max_retries(self):
        self.fake.script(
            *[Reply(500, error_body("The server had an error", "server_error"))] * 3
        )
        with self.assertCallFails("server_error"):
            self.call()
        self.assertEqual(len(self.fake.received()), 3)
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "status": "failed",
                    "http_status": 500,
                    "error_code": "server_error",
                    "retry_count": 2,
                }
            ],
        )

    def test_other_4xx_is_not_retried(self):
        self.fake.script(
            Reply(
                400,
                error_body(
                    "Invalid 'messages'",
                    "invalid_request_error",
                    "invalid_value",
                    "messages",
                ),
            )
        )
        with self.assertCallFails("invalid_value"):
            self.call()
        self.assertEqual(len(self.fake.received()), 1)

    def test_body_that_is_not_json(self):
        self.fake.script(Reply(200, raw=b"<html>proxy error</html>"))
        with self.assertCallFails("invalid_json"):
            self.call()
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "status": "failed",
                    "error_code": "invalid_json",
                    "http_status": 200,
                    "usage_state": "missing",
                }
            ],
        )

    def test_html_502_from_a_proxy(self):
        self.fake.script(*[Reply(502, raw=b"<html>Bad gateway</html>")] * 3)
        with self.assertCallFails("http_502"):
            self.call()
        self.assertRecordValues(
            self.last_log(),
            [{"status": "failed", "error_code": "http_502", "retry_count": 2}],
        )

    def test_read_timeout(self):
        # Odoo's test mode raises any timeout below 10 s to 10 s.
        self.service.timeout = 1
        self.fake.script(
            Reply(body=chat_completion("gpt-4o-mini", chat_usage(1, 1)), delay=10.5)
        )
        with self.assertCallFails("timeout"):
            self.call()
        self.assertRecordValues(
            self.last_log(),
            [{"status": "failed", "error_code": "timeout", "retry_count": 0}],
        )
        self.assertEqual(
            len(self.fake.received()),
            1,
            "a read timeout is not retried: it may have been billed",
        )

    def test_connection_refused(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            closed_port = sock.getsockname()[1]
        self.service.api_base_url = f"http://127.0.0.1:{closed_port}/v1"
        with self.assertCallFails("connection_error"):
            self.call()
        self.assertRecordValues(
            self.last_log(),
            [{"status": "failed", "error_code": "connection_error", "retry_count": 2}],
        )

    def test_tls_failure(self):
        # TLS spoken to the fake server, which only speaks plain HTTP
        self.service.api_base_url = self.fake.url.replace("http://", "https://")
        with self.assertCallFails("ssl_error"):
            self.call()
        self.assertRecordValues(
            self.last_log(),
            [{"status": "failed", "error_code": "ssl_error", "retry_count": 0}],
        )

    def test_200_without_usage_is_usage_unknown(self):
        body = chat_completion("gpt-4o-mini", None)
        del body["usage"]
        self.fake.script(Reply(body=body))
        payload = self.call()
        self.assertEqual(payload["id"], body["id"], "the caller still gets its answer")
        log = self.last_log()
        self.assertRecordValues(
            log,
            [
                {
                    "status": "success",
                    "usage_state": "missing",
                    "error_code": "usage_missing",
                }
            ],
        )
        self.env.cr.execute(
            "SELECT input_tokens, total_tokens, cost FROM ai_usage_log WHERE id = %s",
            [log.id],
        )
        self.assertEqual(
            self.env.cr.fetchone(), (None, None, None), "unknown, not zero"
        )

    def test_absurd_usage_from_a_broken_proxy_is_flagged(self):
        self.fake.script(
            Reply(body=chat_completion("gpt-4o-mini", chat_usage(-40, 10)))
        )
        self.call()
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "status": "success",
                    "usage_state": "missing",
                    "error_code": "usage_invalid",
                }
            ],
        )

    def test_bad_input_is_refused_before_sending(self):
        before = len(self.logs())
        cases = [
            ("unknown endpoint", {"endpoint": "chat/complete-me-please/../x"}),
            ("unknown endpoint", {"endpoint": "not_an_openai_api"}),
            ("unknown endpoint", {"endpoint": "https://evil.example/v1"}),
            ("not a dict", {"data": ["hello"]}),
            ("not JSON", {"data": {"messages": MESSAGES, "when": object()}}),
            ("unknown request type", {"request_type": "poetry"}),
            ("bad method", {"method": "PATCH"}),
            ("bad metadata", {"metadata": "plain text"}),
            ("missing contact", {"partner_id": 10**9}),
            # bytes, not JSON: through openai_client(), which logs them
            ("speech", {"endpoint": "audio/speech"}),
            ("file content", {"endpoint": "files/file-abc/content", "method": "GET"}),
        ]
        for label, kwargs in cases:
            with self.subTest(label):
                args = {
                    "endpoint": "chat/completions",
                    "data": {"messages": MESSAGES},
                    **kwargs,
                }
                with self.assertRaises(UserError):
                    self.service.make_openai_api_call(args.pop("endpoint"), **args)
        self.assertEqual(self.fake.received(), [], "nothing was sent")
        self.assertEqual(len(self.logs()), before, "nothing recorded is lost or added")

    def test_logging_failure_never_breaks_a_successful_call(self):
        def broken(*args, **kwargs):
            raise psycopg2.OperationalError("database is gone")

        with (
            patch.object(type(self.Log), "_in_own_transaction", broken),
            self.assertLogs("odoo.addons.ai_usage_log", level="ERROR") as server_log,
        ):
            payload = self.call(message_id="msg-lost")
        self.assertEqual(payload["choices"][0]["message"]["content"], REPLY_TEXT)
        output = "\n".join(server_log.output)
        self.assertIn("successful call could not be recorded", output)
        self.assertIn(
            "'total_tokens'",
            output,
            "the usage is in the server log, so it can be recovered",
        )
        self.assertNotIn(TEST_API_KEY, output)

    def test_generate_summary(self):
        summary = self.service.generate_summary(
            "msg-77",
            "contact-5",
            "Agent: hello. Caller: I need help.",
            location_id="loc-1",
        )
        self.assertEqual(summary, REPLY_TEXT)
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "request_type": "call_summary",
                    "message_id": "msg-77",
                    "contact_id": "contact-5",
                    "location_id": "loc-1",
                }
            ],
        )
        self.service.generate_summary(
            "msg-78", "contact-5", "Some transcript", custom_prompt="List action items."
        )
        self.assertEqual(
            self.fake.received()[-1]["json"]["messages"][0]["content"],
            "List action items.",
        )
        with self.assertCallFails("no transcript"):
            self.service.generate_summary("msg-79", "contact-5", "   ")

    def test_test_connection(self):
        action = self.service.action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("4 models", action["params"]["message"])
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "request_type": "test_connection",
                    "status": "success",
                    "endpoint": "models",
                    "error_code": False,
                }
            ],
        )
        self.assertEqual(
            action["params"]["next"]["tag"],
            "soft_reload",
            "the form's counters show the test call",
        )
        self.fake.script(invalid_key_reply())
        action = self.service.action_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("refused the API key", action["params"]["message"])
        self.assertNotIn("sk-", action["params"]["message"])
        # the technical message is one click away, on the call's log
        [link] = action["params"]["links"]
        self.assertEqual(
            link["url"],
            f"/odoo/action-ai_usage_log.action_ai_usage_log/{self.last_log().id}",
        )
        self.assertIn("invalid_api_key", self.last_log().error_code)

    def test_test_connection_says_plainly_that_the_host_is_unreachable(self):
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()  # nothing listens there: the connection is refused
        self.service.write({"api_base_url": f"http://127.0.0.1:{port}/v1"})
        action = self.service.action_test_connection()
        self.assertEqual(
            action["params"]["message"],
            "Cannot reach 127.0.0.1: check the server's outbound access "
            "(firewall, proxy, DNS) and the Base URL. %s",
        )
        self.assertNotIn("HTTPConnection", action["params"]["message"])
        self.assertRecordValues(
            self.last_log(), [{"status": "failed", "error_code": "connection_error"}]
        )

    def test_only_ai_administrators_test_the_connection(self):
        with self.assertRaisesRegex(AccessError, "Only AI administrators"):
            self.service.with_user(self.user).action_test_connection()
        action = self.service.with_user(self.admin).action_test_connection()
        self.assertEqual(action["params"]["type"], "success")

    def test_counters_follow_the_logs(self):
        self.call()
        self.call()
        self.fake.script(Reply(400, error_body("bad", "invalid_request_error")))
        with self.assertCallFails():
            self.call()
        logs = self.logs()
        self.assertEqual(self.service.usage_count, 3)
        self.assertEqual(self.service.error_count, 1)
        self.assertEqual(self.service.total_tokens, sum(logs.mapped("total_tokens")))
        self.assertAlmostEqual(
            self.service.total_cost, sum(logs.mapped("cost_company")), places=9
        )
        self.assertEqual(self.service.last_used, max(logs.mapped("request_time")))

    def test_server_log_for_a_failure_is_clear(self):
        self.fake.script(
            Reply(
                400,
                error_body("Invalid model", "invalid_request_error", "model_not_found"),
            )
        )
        with (
            self.assertLogs(
                "odoo.addons.ai_usage_log", level=logging.WARNING
            ) as server_log,
            self.assertCallFails(),
        ):
            self.call()
        self.assertIn("model_not_found", "\n".join(server_log.output))

    def test_a_lost_start_row_is_recorded_whole_at_the_end(self):
        lost = self.Log.browse(10**9)

        def open_lost(recorder):
            recorder.log = lost
            return recorder

        with (
            patch.object(CallRecorder, "open", open_lost),
            self.assertLogs("odoo.addons.ai_usage_log", level="WARNING") as server_log,
        ):
            self.call(message_id="lost-start")
        self.assertIn("was lost", "\n".join(server_log.output))
        self.assertRecordValues(
            self.last_log(),
            [
                {
                    "message_id": "lost-start",
                    "status": "success",
                    "usage_state": "reported",
                }
            ],
        )

    def test_whatever_breaks_a_call_finishes_its_log(self):
        # an error of no request (a bug, an interruption) is raised as it is,
        # and the log says so instead of staying in progress
        ApiClient = type(self.service._api_client())
        for name, start in (
            ("json", lambda: self.call(message_id="broken-json")),
            (
                "stream",
                lambda: self.service.stream_openai_api_call(
                    "chat/completions",
                    {"messages": MESSAGES},
                    message_id="broken-stream",
                ),
            ),
        ):
            with (
                self.subTest(name),
                patch.object(
                    ApiClient, "request_json", side_effect=RuntimeError("boom")
                ),
                patch.object(ApiClient, "open_stream", side_effect=KeyboardInterrupt()),
                mute_logger("odoo.addons.ai_usage_log.recorder"),
            ):
                raised = KeyboardInterrupt if name == "stream" else RuntimeError
                # unittest's assertRaises: Odoo's would roll the log back with it
                with unittest.TestCase.assertRaises(self, raised):
                    start()
                self.assertRecordValues(
                    self.last_log(),
                    [
                        {
                            "message_id": f"broken-{name}",
                            "status": "failed",
                            "error_code": raised.__name__,
                        }
                    ],
                )


@tagged("post_install", "-at_install")
class TestConnectTimeout(AiUsageCase):
    def unaccepting_address(self):
        """A local port that listens but never accepts, its backlog full:
        a new connection hangs until its connect timeout."""
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        self.addCleanup(server.close)
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(server.getsockname())
            self.addCleanup(filler.close)
        host, port = server.getsockname()
        return f"http://{host}:{port}/v1"

    def test_a_host_that_never_accepts_times_out_and_is_retried(self):
        address = self.unaccepting_address()
        self.service.write({"api_base_url": address, "timeout": 1.5, "max_retries": 2})
        started = time.monotonic()
        with self.assertRaisesRegex(UserError, "connect_timeout"):
            self.service.make_openai_api_call(
                "chat/completions",
                data={"messages": [{"role": "user", "content": "hello"}]},
            )
        elapsed = time.monotonic() - started
        self.assertRecordValues(
            self.last_log(),
            [{"status": "failed", "error_code": "connect_timeout", "retry_count": 2}],
        )
        # three attempts of a third of the 1.5 s timeout each, not one of 1.5 s
        self.assertGreater(elapsed, 1.4)
        self.assertLess(elapsed, 3.0)
