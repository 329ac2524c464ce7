"""Sending one request to an AI provider's API (tools.providers): retries
with backoff and Retry-After, one deadline for the whole call, error
classification.

Plain Python (no Odoo): the HTTP session, the sleep and the clock are
injected, so every rule here is unit-tested without a database or a server."""

import email.utils
import http.client
import json
import random
import re
import time

import requests

from . import providers
from .capture import own_call

RETRY_BACKOFF_BASE = 0.5  # seconds; doubled after each retry, with jitter
RETRY_BACKOFF_CAP = 8.0
# A connection not made by then is given up and retried: a host that does not
# accept (a full backlog, a black-holed address) must not take the whole
# timeout, or no retry could ever happen.
CONNECT_TIMEOUT_CAP = 5.0


def extract_error(payload, http_status=None):
    """Return (error_code, message) from an error body: OpenAI's
    (``code`` or ``type``), Anthropic's (``type``) or Google's (its
    ``status``, such as RESOURCE_EXHAUSTED, rather than the HTTP code it
    repeats; a stream's errors come as a one-item list)."""
    if isinstance(payload, list) and len(payload) == 1:
        payload = payload[0]
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        code = error.get("code")
        if not isinstance(code, str):
            code = error.get("status") or error.get("type") or code
        message = error.get("message") or ""
    elif isinstance(error, str):
        code, message = None, error
    else:
        code, message = None, ""
    if not code:
        code = f"http_{http_status}" if http_status else "api_error"
    return str(code), str(message)


def openai_error(message, error_type, code=None, param=None):
    """An error body in OpenAI's shape, which its SDKs read."""
    return {
        "error": {"message": message, "type": error_type, "code": code, "param": param}
    }


def parse_retry_after(value, now=None):
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP
    date), or None when it is absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def backoff_delay(retry_number, base, cap, retry_after=None, rng=random):
    """Exponential backoff with full jitter; ``Retry-After`` wins when given."""
    if retry_after is not None:
        return retry_after
    return rng.uniform(0, min(cap, base * (2**retry_number)))


class CallFailed(Exception):
    """A request that got no usable answer; carries what its log records."""

    def __init__(
        self, error_code, message, http_status=None, retry_count=0, usage=None
    ):
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.http_status = http_status
        self.retry_count = retry_count
        self.usage = usage  # what the answer reported before failing, if anything


def classify_exception(error):
    """(error_code, retryable) of a requests or httpx exception. A read
    timeout is not retried: OpenAI may have done, and billed, the work."""
    name = type(error).__name__
    if isinstance(error, requests.exceptions.SSLError) or "SSL" in name:
        return "ssl_error", False
    if (
        isinstance(error, requests.exceptions.ConnectTimeout)
        or name == "ConnectTimeout"
    ):
        return "connect_timeout", True
    if isinstance(error, requests.exceptions.Timeout) or name.endswith("Timeout"):
        return "timeout", False
    if isinstance(error, requests.exceptions.ConnectionError) or name in (
        "ConnectError",
        "RemoteProtocolError",
    ):
        return "connection_error", True
    return "request_error", False


# urllib3 names the connection object it failed with, address and all
OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>:?\s*")
POOL = re.compile(r"host='([^']*)', port=(\d+)\): Max retries exceeded with url: \S+")
CAUSED_BY = re.compile(r"\(Caused by \w+\((['\"])(.*)\1\)\)$")


def connection_failure(error):
    """Where and why a connection failed, as a person reads it: "127.0.0.1:1:
    [Errno 111] Connection refused", not urllib3's nested reprs."""
    text = str(error)
    pool = POOL.search(text)
    caused = CAUSED_BY.search(text)
    reason = OBJECT_REPR.sub("", caused.group(2) if caused else text)
    reason = reason.removeprefix("Failed to establish a new connection: ")
    return f"{pool.group(1)}:{pool.group(2)}: {reason}" if pool else reason


def exception_message(error):
    """What a failed request's log says: the kind of failure in plain words."""
    kind = type(error).__name__
    code, _retryable = classify_exception(error)
    if code in ("timeout", "connect_timeout"):
        return f"{kind}: the API did not answer in time."
    if code == "ssl_error":
        return f"{kind}: the TLS connection to the API failed."
    if code == "connection_error":
        return f"{kind}: could not connect to the API ({connection_failure(error)})."
    return f"{kind}: {OBJECT_REPR.sub('', str(error))}"


def error_response_failure(status, payload, text, retry_count=0):
    """CallFailed for an HTTP error answer (status >= 400)."""
    code, message = extract_error(payload, status)
    return CallFailed(
        code,
        message or f"HTTP {status}: {(text or '')[:300]}",
        http_status=status,
        retry_count=retry_count,
    )


def arriving_chunks(response, size=65536):
    """The body of a streamed requests.Response as it arrives. requests'
    ``iter_content(None)`` yields a chunked body chunk by chunk, but reads a
    body sent without chunks (an HTTP/1.0 or "Connection: close" server's
    stream) to its very end: each read here returns what has arrived."""
    raw = getattr(response, "raw", None)
    body = getattr(raw, "_fp", None)
    if (
        getattr(raw, "chunked", True)
        or not hasattr(body, "read1")
        or response.headers.get("Content-Encoding", "identity") != "identity"
    ):
        yield from response.iter_content(chunk_size=None)
        return
    while True:
        try:
            data = body.read1(size)
        except TimeoutError as error:  # socket.timeout: no event in time
            raise requests.exceptions.ReadTimeout(error) from error
        except (OSError, http.client.HTTPException) as error:
            raise requests.exceptions.ConnectionError(error) from error
        if not data:
            return
        yield data


def retry_after_of(headers):
    """Seconds a provider asks to wait: Azure's ``retry-after-ms`` (more
    precise) or the standard ``Retry-After``; None when it does not say."""
    milliseconds = parse_retry_after(headers.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000
    return parse_retry_after(headers.get("Retry-After"))


class ApiClient:
    """Sends requests to one API base URL with one key, in one provider's
    dialect (tools.providers; by default OpenAI's).

    ``session``: anything with requests' ``request(method, url, **kwargs)``;
    ``sleep`` and ``clock`` (monotonic seconds) are injectable for tests."""

    def __init__(
        self,
        base_url,
        api_key,
        timeout,
        max_retries,
        session=requests,
        sleep=time.sleep,
        clock=time.monotonic,
        rng=random,
        provider=None,
        dialect=providers.OPENAI_DIALECT,
        api_version=None,
    ):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.provider = provider or providers.get("openai")
        self.dialect = dialect
        self.api_version = api_version
        self.session = session
        self.sleep = sleep
        self.clock = clock
        self.rng = rng

    def send(self, method, endpoint, body=None, stream=False):
        """Send with retries; return (response, retry_count), the response
        being the last one received (maybe an error status), or raise
        CallFailed when no answer came. The whole call, retries included,
        fits in the timeout."""
        provider = self.provider
        url = provider.url(
            self.base_url,
            endpoint,
            self.dialect,
            model=provider.request_model(endpoint, body, self.dialect),
            api_version=self.api_version,
        )
        headers = {
            **provider.headers(self.api_key, self.dialect, self.api_version),
            "Accept": "text/event-stream" if stream else "application/json",
        }
        payload = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            payload = json.dumps(body)
        deadline = self.clock() + self.timeout
        retry_count = 0
        while True:
            retry_after = None
            remaining = max(deadline - self.clock(), 0.001)
            try:
                with own_call():  # logged by its caller: not captured again
                    response = self.session.request(
                        method,
                        url,
                        headers=headers,
                        data=payload,
                        timeout=(self._connect_timeout(remaining), remaining),
                        stream=stream,
                    )
            except requests.exceptions.RequestException as error:
                code, retryable = classify_exception(error)
                if not retryable or not self._may_retry(retry_count, deadline, None):
                    raise CallFailed(
                        code, exception_message(error), retry_count=retry_count
                    ) from None
            else:
                if response.status_code not in provider.retryable_statuses:
                    return response, retry_count
                retry_after = retry_after_of(response.headers)
                if not self._may_retry(retry_count, deadline, retry_after):
                    return response, retry_count
                response.close()
            delay = backoff_delay(
                retry_count,
                RETRY_BACKOFF_BASE,
                RETRY_BACKOFF_CAP,
                retry_after,
                self.rng,
            )
            self.sleep(min(delay, max(deadline - self.clock(), 0)))
            retry_count += 1

    def _connect_timeout(self, remaining):
        """Each attempt's share of the timeout for connecting, so that every
        allowed attempt fits in it, capped at CONNECT_TIMEOUT_CAP."""
        share = self.timeout / (self.max_retries + 1)
        return min(remaining, share, CONNECT_TIMEOUT_CAP)

    def _may_retry(self, retry_count, deadline, retry_after):
        if retry_count >= self.max_retries:
            return False
        return self.clock() + (retry_after or 0) < deadline

    def request_json(self, method, endpoint, body=None):
        """Send and return (JSON object, HTTP status, retry_count); raise
        CallFailed for an error status or a body that is not a JSON object."""
        response, retry_count = self.send(method, endpoint, body)
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if status >= 400:
            raise error_response_failure(status, payload, response.text, retry_count)
        if not isinstance(payload, dict):
            raise CallFailed(
                "invalid_json",
                f"The API answered HTTP {status} with a body that is not a JSON "
                f"object: {response.text[:200]!r}",
                http_status=status,
                retry_count=retry_count,
            )
        return payload, status, retry_count

    def open_stream(self, endpoint, body):
        """Send a streaming request; return (response, retry_count) with the
        body still to be read, or raise CallFailed for an error status."""
        response, retry_count = self.send("POST", endpoint, body, stream=True)
        if response.status_code >= 400:
            try:
                payload = response.json()
            except ValueError:
                payload = None
            text = response.text
            response.close()
            raise error_response_failure(
                response.status_code, payload, text, retry_count
            )
        return response, retry_count
