"""tools.http_client without a database or a server: a scripted session,
a fake clock and a sleep that only advances it."""

import itertools

import requests

from odoo.tests import BaseCase, tagged

from ..tools.http_client import (
    CONNECT_TIMEOUT_CAP,
    ApiClient,
    CallFailed,
    classify_exception,
    exception_message,
)


class FakeResponse:
    def __init__(self, status, body=None, headers=None, text=None):
        self.status_code = status
        self.body = body
        self.headers = headers or {}
        self.text = text if text is not None else str(body)
        self.closed = False

    def json(self):
        if isinstance(self.body, dict | list):
            return self.body
        raise ValueError("not JSON")

    def close(self):
        self.closed = True


class ScriptedSession:
    """Answers each request with the next scripted response or exception."""

    def __init__(self, clock, *script):
        self.clock = clock
        self.script = list(script)
        self.sent = []

    def request(self, method, url, **kwargs):
        self.sent.append((method, url, kwargs, self.clock.now))
        answer = self.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class MaxJitter:
    @staticmethod
    def uniform(low, high):
        return high


def client(*script, timeout=30, max_retries=2):
    clock = FakeClock()
    session = ScriptedSession(clock, *script)
    api = ApiClient(
        "https://api.example.com/v1/",
        "sk-test-key-0123456789",
        timeout,
        max_retries,
        session=session,
        sleep=clock.sleep,
        clock=clock,
        rng=MaxJitter,
    )
    return api, session, clock


OK = {"id": "x", "usage": {"prompt_tokens": 1, "completion_tokens": 1}}


@tagged("post_install", "-at_install")
class TestApiClient(BaseCase):
    def test_a_request_goes_out_with_the_key(self):
        api, session, _clock = client(FakeResponse(200, OK))
        payload, status, retries = api.request_json(
            "POST", "chat/completions", {"model": "m"}
        )
        self.assertEqual((payload, status, retries), (OK, 200, 0))
        method, url, kwargs, _when = session.sent[0]
        self.assertEqual(
            (method, url), ("POST", "https://api.example.com/v1/chat/completions")
        )
        self.assertEqual(
            kwargs["headers"]["Authorization"], "Bearer sk-test-key-0123456789"
        )
        self.assertEqual(kwargs["data"], '{"model": "m"}')
        # 30 s to answer; connecting gets a share of it, capped: (5, 30)
        self.assertEqual(kwargs["timeout"], (CONNECT_TIMEOUT_CAP, 30))

    def test_429_and_5xx_are_retried_with_exponential_backoff(self):
        api, session, clock = client(
            FakeResponse(429, {"error": {"code": "rate_limit_exceeded"}}),
            FakeResponse(503, {}),
            FakeResponse(200, OK),
        )
        _payload, _status, retries = api.request_json("POST", "chat/completions", {})
        self.assertEqual(retries, 2)
        times = [when for _m, _u, _k, when in session.sent]
        waits = [later - earlier for earlier, later in itertools.pairwise(times)]
        self.assertEqual(waits, [0.5, 1.0], "base 0.5 s, doubled (full jitter max)")
        self.assertEqual(clock.now, 1001.5)

    def test_retry_after_wins_over_backoff(self):
        api, session, _clock = client(
            FakeResponse(429, {}, headers={"Retry-After": "7"}), FakeResponse(200, OK)
        )
        api.request_json("POST", "chat/completions", {})
        self.assertEqual(session.sent[1][3] - session.sent[0][3], 7)

    def test_a_retry_after_beyond_the_deadline_fails_at_once(self):
        error = {"error": {"code": "rate_limit_exceeded", "message": "slow down"}}
        api, session, _clock = client(
            FakeResponse(429, error, headers={"Retry-After": "60"}), timeout=30
        )
        with self.assertRaises(CallFailed) as failed:
            api.request_json("POST", "chat/completions", {})
        self.assertEqual(len(session.sent), 1)
        self.assertEqual(
            (failed.exception.error_code, failed.exception.http_status),
            ("rate_limit_exceeded", 429),
        )

    def test_the_timeout_bounds_the_whole_call(self):
        api, session, _clock = client(
            FakeResponse(500, {}),
            FakeResponse(500, {}),
            FakeResponse(500, {}),
            timeout=1.2,
            max_retries=5,
        )
        with self.assertRaises(CallFailed):
            api.request_json("POST", "chat/completions", {})
        timeouts = [kwargs["timeout"] for _m, _u, kwargs, _w in session.sent]
        self.assertAlmostEqual(timeouts[0][1], 1.2)
        self.assertLess(timeouts[1][1], 1.2, "what is left of the deadline")
        # 6 attempts allowed: each may take a sixth of the timeout to connect
        self.assertAlmostEqual(timeouts[0][0], 0.2)

    def test_other_4xx_are_not_retried(self):
        body = {"error": {"code": "invalid_api_key", "message": "Incorrect key"}}
        api, session, _clock = client(FakeResponse(401, body))
        with self.assertRaises(CallFailed) as failed:
            api.request_json("POST", "chat/completions", {})
        self.assertEqual(len(session.sent), 1)
        self.assertEqual(failed.exception.error_code, "invalid_api_key")
        self.assertEqual(failed.exception.message, "Incorrect key")

    def test_connection_failures_are_retried_read_timeouts_are_not(self):
        api, session, _clock = client(
            requests.exceptions.ConnectionError("refused"), FakeResponse(200, OK)
        )
        self.assertEqual(api.request_json("GET", "models")[2], 1)
        api, session, _clock = client(requests.exceptions.ReadTimeout("slow"))
        with self.assertRaises(CallFailed) as failed:
            api.request_json("POST", "chat/completions", {})
        self.assertEqual(failed.exception.error_code, "timeout")
        self.assertEqual(len(session.sent), 1, "OpenAI may have billed the work")

    def test_a_body_that_is_not_json_fails(self):
        api, _session, _clock = client(FakeResponse(200, None, text="<html>"))
        with self.assertRaises(CallFailed) as failed:
            api.request_json("POST", "chat/completions", {})
        self.assertEqual(failed.exception.error_code, "invalid_json")

    def test_classification(self):
        exceptions = requests.exceptions
        for error, expected in (
            (exceptions.SSLError("x"), ("ssl_error", False)),
            (exceptions.ConnectTimeout("x"), ("connect_timeout", True)),
            (exceptions.ReadTimeout("x"), ("timeout", False)),
            (exceptions.ConnectionError("x"), ("connection_error", True)),
            (exceptions.InvalidURL("x"), ("request_error", False)),
        ):
            with self.subTest(error=type(error).__name__):
                self.assertEqual(classify_exception(error), expected)

    def test_a_connection_failure_reads_plainly(self):
        # a real refused connection (tests may not leave the machine)
        with self.assertRaises(requests.exceptions.ConnectionError) as failed:
            requests.get("http://127.0.0.1:1/v1/models", timeout=5)
        # and an unknown host, as requests said it on a machine that could try
        unknown = requests.exceptions.ConnectionError(
            "HTTPSConnectionPool(host='api.openai.example', port=443): Max retries "
            "exceeded with url: /v1/models (Caused by NewConnectionError('<urllib3."
            "connection.HTTPSConnection object at 0x7fa09485f690>: Failed to "
            "establish a new connection: [Errno -2] Name or service not known'))"
        )
        for error, plain in (
            (failed.exception, "127.0.0.1:1: [Errno 111] Connection refused"),
            (unknown, "api.openai.example:443: [Errno -2] Name or service not known"),
        ):
            with self.subTest(plain=plain):
                self.assertEqual(
                    exception_message(error),
                    f"ConnectionError: could not connect to the API ({plain}).",
                )
