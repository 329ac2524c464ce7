"""The log of one call, from its start to its end, shared by every way of
calling an AI provider (make_openai_api_call, make_api_call, the streams,
ensure_usage_logging, openai_client): the entry points only say what
happened; what a log records for it is decided here, once."""

import json
import logging
import sys

import requests

from odoo.exceptions import MissingError, UserError

from .compat import RETRIED_ERRORS
from .exceptions import AiCallError, AiCallRefused
from .tools import providers
from .tools.fallbacks import is_outage
from .tools.http_client import (
    CallFailed,
    arriving_chunks,
    classify_exception,
    error_response_failure,
    exception_message,
    openai_error,
)
from .tools.redaction import redact_secrets
from .tools.streams import (
    ABANDONED,
    DONE,
    ENDED,
    INVALID,
    SseParser,
    StreamEventError,
    StreamWatcher,
)
from .tools.usage import (
    UsageError,
    extract_usage,
    request_fingerprint,
    speech_payload,
    to_payload,
)

_logger = logging.getLogger(__name__)


def valid_usage(payload):
    """The usage of ``payload``, or None when absent or not believable."""
    try:
        return extract_usage(to_payload(payload))
    except UsageError:
        return None


class ReplayGuard:
    """Successful answers of the current transaction of one cursor.

    When Odoo rolls a transaction back to replay it (its retry of a request
    after a serialization failure, a deadlock or a lock not available), the
    n-th identical call of the replay gets the n-th answer of the first
    attempt instead of paying again. Any other rollback (a caller's own,
    before trying again on purpose) forgets them: the next call is sent.
    A commit ends the transaction and forgets everything."""

    def __init__(self, cr):
        self.cr = cr
        self.answers = {}
        self.seen = {}
        self.hooked = False

    @classmethod
    def of(cls, cr):
        guard = getattr(cr, "_ai_usage_replay_guard", None)
        if guard is None:
            guard = cls(cr)
            cr._ai_usage_replay_guard = guard
        if not guard.hooked:
            cr.postcommit.add(guard._forget)
            cr.postrollback.add(guard._new_attempt)
            guard.hooked = True
        return guard

    def _forget(self):
        self.cr._ai_usage_replay_guard = None

    def _new_attempt(self):
        # Odoo's retry rolls back while handling the error it retries on
        if not isinstance(sys.exc_info()[1], RETRIED_ERRORS):
            self.answers.clear()
        self.seen.clear()
        self.hooked = False

    def key(self, *request):
        """The key of this occurrence of an identical request."""
        fingerprint = request_fingerprint(*request)
        occurrence = self.seen.get(fingerprint, 0)
        self.seen[fingerprint] = occurrence + 1
        return fingerprint, occurrence


class CallRecorder:
    """One call's log: ``open`` writes it before the request leaves (or
    records that a rate limit or a hard budget refused it, and raises
    AiCallRefused); ``succeed`` or ``fail`` finishes it.

    As a context manager it owns the call: ``with recorder:`` opens it, and
    whatever leaves the block unfinished finishes it: a CallFailed as failed
    (raised again as the caller's AiCallError, keys redacted), any other
    error or interruption as failed with what it says (raised again as it
    is). A block that ends normally leaves the finish to its body, or to
    the stream it returned.

    Finishing never raises: a call that OpenAI answered is not lost because
    its log could not be written (the server log then keeps what it said)."""

    def __init__(
        self,
        service,
        start_values,
        body=None,
        custom_api_key=None,
        measured=None,
        check_limits=True,
    ):
        self.service = service
        self.start_values = start_values
        self.body = body
        self.custom_api_key = custom_api_key
        # what the machinery knows of a captured call (source module...)
        self.measured = measured
        self.check_limits = check_limits
        self.log = None
        self.finished = False
        # set by a fallback chain when a backup follows: an outage then
        # passes the call on (``fell_back``), its log marked superseded
        self.falls_back = False
        self.fell_back = False

    def __enter__(self):
        return self.open()

    def __exit__(self, kind, error, _traceback):
        if error is None or self.finished:
            return False
        if isinstance(error, CallFailed):
            self.fail(error)
            raise self.error(error) from None
        # raised as it is: no chain goes on after it
        self.falls_back = False
        self.fail(failure_of(error))
        return False

    @property
    def endpoint(self):
        return self.start_values.get("endpoint")

    def secrets(self):
        return [self.service.sudo().api_key, self.custom_api_key]

    def open(self):
        """Write-ahead: the log exists before the request leaves; the limits
        are checked as it is written (AiCallRefused). If writing it fails,
        the call still goes out; its end records the whole call."""
        try:
            self.log = self.service.env["ai.usage.log"]._record_start(
                self.service,
                self.start_values,
                self.body,
                check_limits=self.check_limits,
                measured=self.measured,
            )
        except UserError:
            raise
        except Exception:
            _logger.exception(
                "ai_usage_log: could not record the start of a call to %s",
                self.endpoint,
            )
        return self

    def succeed(self, result, **finish_values):
        """Finish the log from the answer (a dict, a requests.Response or an
        SDK object); ``finish_values``: what the answer does not hold."""
        self.finished = True
        try:
            self._finish(lambda log: log.update_success(result, **finish_values))
        except Exception as error:
            _logger.exception(
                "ai_usage_log: a successful call could not be recorded; "
                "service %s, endpoint %s, model %s, usage %s",
                self.service.id,
                self.endpoint,
                self.start_values.get("model"),
                valid_usage(result),
            )
            self._finish_bare("success", valid_usage(result), error)

    def fail(self, failure, **finish_values):
        """Finish the log as failed (``failure``: a CallFailed), or as fell
        back when it is an outage and a backup follows."""
        self.finished = True
        self.fell_back = self.falls_back and is_outage(
            failure.error_code, failure.http_status
        )
        message = redact_secrets(failure.message, self.secrets())
        finish_values.update(
            http_status=failure.http_status, retry_count=failure.retry_count
        )
        if failure.usage is not None:
            finish_values["usage"] = failure.usage
        try:
            self._finish(
                lambda log: log._record_failure(
                    message,
                    failure.error_code,
                    finish_values,
                    status="fallback" if self.fell_back else "failed",
                )
            )
        except Exception as error:
            _logger.exception(
                "ai_usage_log: a failed call could not be recorded; "
                "service %s, endpoint %s, error %s: %s",
                self.service.id,
                self.endpoint,
                failure.error_code,
                message,
            )
            self._finish_bare("failed", failure.usage, error)
        _logger.warning(
            "ai_usage_log: call to %s failed (%s)%s: %s",
            self.endpoint,
            failure.error_code,
            ", passed on to the next service" if self.fell_back else "",
            message,
        )

    def _finish_bare(self, status, usage, error):
        """Keep what the provider returned when the full finish failed."""
        if not self.log:
            return
        try:
            self.log._finish_bare(status, usage, error)
        except Exception:
            _logger.exception("ai_usage_log: log %s stays unfinished", self.log.id)

    def _finish(self, finish):
        """Run ``finish(log)``; if the call's start was never recorded (or
        was lost since), record the whole call now."""
        if self.log:
            try:
                return finish(self.log)
            except MissingError:
                _logger.warning(
                    "ai_usage_log: the start of a call to %s was lost; recording it",
                    self.endpoint,
                )
        self.log = self.service.env["ai.usage.log"]._record_start(
            self.service, self.start_values, check_limits=False, measured=self.measured
        )
        return finish(self.log)

    def error(self, failure):
        """The error the caller gets, without any key in it."""
        return AiCallError(
            self.service.env._(
                "The %(provider)s call to %(endpoint)s failed (%(code)s): %(message)s",
                provider=providers.get(self.service.provider).label,
                endpoint=self.endpoint,
                code=failure.error_code,
                message=redact_secrets(failure.message, self.secrets()),
            ),
            error_code=failure.error_code,
            http_status=getattr(failure, "http_status", None),
            log_id=self.log.id if self.log else None,
        )


def failure_of(error):
    """The CallFailed a log records for ``error``, any exception a call
    raised (an SDK's, a bug's, an interruption): its code (or its type), its
    message, its HTTP status when it carries one."""
    status = getattr(error, "status_code", None) or getattr(
        getattr(error, "response", None), "status_code", None
    )
    code = getattr(error, "code", None)
    return CallFailed(
        code if isinstance(code, str) and code else type(error).__name__,
        str(error) or type(error).__name__,
        http_status=status if isinstance(status, int) else None,
    )


def finish_stream(recorder, outcome, http_status, retry_count=0):
    """Record a stream's outcome (tools.streams), whichever path read it."""
    if outcome.succeeded:
        recorder.succeed(
            outcome.usage_source or {},
            http_status=http_status,
            retry_count=retry_count,
            **outcome.finish_values,
        )
    else:
        failure = CallFailed(
            outcome.error_code,
            outcome.message,
            http_status=http_status,
            retry_count=retry_count,
            usage=valid_usage(outcome.usage_source),
        )
        recorder.fail(failure, **outcome.finish_values)


class RelayedStream:
    """The events of a stream as they arrive (an iterator); its log once it
    ends, by the rule of tools.streams. Started here, so that a stream its
    caller drops unread is logged as abandoned when Python closes it, not
    left running."""

    def __init__(self, response, retry_count, recorder, guard, replay_key):
        self.recorder = recorder
        self._events = _relay_events(response, retry_count, recorder, guard, replay_key)
        next(self._events)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._events)

    def close(self):
        """End the stream: the upstream request, and the log as abandoned
        when the stream had not ended."""
        self._events.close()

    def move_to(self, env):
        """Finish the log through ``env``: a stream read after the cursor it
        was opened with was closed (a route's answer, sent after the route's
        transaction) records its end through a cursor of its own."""
        self.recorder.service = self.recorder.service.with_env(env)
        if self.recorder.log:
            self.recorder.log = self.recorder.log.with_env(env)


def _relay_events(response, retry_count, recorder, guard, replay_key):
    watcher = StreamWatcher()
    parser = SseParser()
    events = []
    ending, cause = ENDED, None
    try:
        yield  # primed by RelayedStream: from here on, closing the stream logs it
        for chunk in arriving_chunks(response):
            for data in parser.feed(chunk):
                event = watcher.feed(data)
                if event is DONE:
                    return
                events.append(event)
                yield event
        for data in parser.close():
            watcher.feed(data)
    except StreamEventError:
        ending = INVALID
    except requests.exceptions.RequestException as error:
        cause = exception_message(error)
    except GeneratorExit:
        ending = ABANDONED
        raise
    finally:
        response.close()
        outcome = watcher.outcome(ending, cause)
        finish_stream(recorder, outcome, response.status_code, retry_count)
        if outcome.succeeded:
            guard.answers[replay_key] = events
    if not outcome.succeeded:
        raise recorder.error(CallFailed(outcome.error_code, outcome.message)) from None


class SdkCall:
    """One HTTP attempt of the openai SDK, as tools.tracked_transport sees
    it, or of a captured request (captured_calls), as tools.capture does;
    ``model``: when the body does not name it (Gemini names it in the URL)."""

    def __init__(
        self,
        service,
        start_values,
        method,
        endpoint,
        body,
        custom_api_key,
        measured=None,
        check_limits=True,
        model=None,
    ):
        body = body or {}
        self.recorder = CallRecorder(
            service,
            dict(
                start_values,
                endpoint=endpoint,
                model=model or body.get("model"),
                is_stream=bool(body.get("stream")) or ":stream" in endpoint,
            ),
            body,
            custom_api_key,
            measured,
            check_limits,
        )
        self.guard = ReplayGuard.of(service.env.cr)
        self.replay_key = self.guard.key(service.id, method, endpoint, body)
        self.answer = self.guard.answers.get(self.replay_key)
        self.replayed = self.answer is not None
        # a fallback chain's: its next service (ai_service_fallback), this
        # attempt's number in it, the chain's first log
        self.reroute = None
        self.attempt = 0
        self.first_log = None
        self.status = None
        self.headers = {}
        self.chunks = []
        self.parser = self.watcher = None
        self.invalid = False
        if self.replayed:
            return
        try:
            self.recorder.open()
        except AiCallRefused as refusal:
            # x-should-retry: the SDK must not retry a refusal (one log, no call)
            self.answer = (
                429,
                {"content-type": "application/json", "x-should-retry": "false"},
                json.dumps(
                    openai_error(str(refusal), refusal.error_code, refusal.error_code)
                ).encode(),
            )

    def received(self, status, headers):
        self.status = status
        self.headers = dict(headers)
        if status < 400 and "text/event-stream" in headers.get("content-type", ""):
            self.parser, self.watcher = SseParser(), StreamWatcher()

    def chunk(self, data):
        self.chunks.append(data)
        if self.watcher is None or self.invalid:
            return
        try:
            for event in self.parser.feed(data):
                self.watcher.feed(event)
        except StreamEventError:
            self.invalid = True

    def __enter__(self):
        return self

    def __exit__(self, _kind, error, _traceback):
        """The send raised: no answer at all (connection refused, timeout...);
        the error goes on to the SDK, which may retry."""
        if error is not None and not self.recorder.finished:
            self.recorder.fail(
                CallFailed(classify_exception(error)[0], exception_message(error))
            )
        return False

    def closed(self, complete, error):
        """The SDK closed the response: ``complete`` when all of the body
        was read; ``error`` when the network cut it."""
        raw = b"".join(self.chunks)
        if self.watcher is not None:
            for event in self.parser.close():
                self.watcher.feed(event)
            ending = (
                INVALID if self.invalid else ENDED if complete or error else ABANDONED
            )
            cause = exception_message(error) if error else None
            outcome = self.watcher.outcome(ending, cause)
            finish_stream(self.recorder, outcome, self.status)
            if outcome.succeeded:
                self.guard.answers[self.replay_key] = self._replayable(raw)
            return
        try:
            payload = json.loads(raw or b"null")
        except ValueError:
            payload = None
        audio = self.headers.get("content-type", "").startswith("audio/")
        download = payload is None and (
            audio or self.recorder.start_values.get("model") is None
        )
        if error is not None or not complete:
            self.recorder.fail(
                CallFailed(
                    "interrupted" if error else "abandoned",
                    exception_message(error) if error else "The body was not read.",
                    http_status=self.status,
                )
            )
        elif self.status >= 400:
            self.recorder.fail(
                error_response_failure(
                    self.status, payload, raw.decode("utf-8", "replace")
                )
            )
        elif download:
            # a download: speech (billed by its input's characters) or a file
            self.recorder.succeed(
                speech_payload(self.recorder.body) if audio else {},
                http_status=self.status,
                expect_usage=False,
            )
            self.guard.answers[self.replay_key] = self._replayable(raw)
        elif not isinstance(payload, dict):
            self.recorder.fail(
                CallFailed(
                    "invalid_json",
                    "The API answered with a body that is not a JSON object.",
                    http_status=self.status,
                )
            )
        else:
            self.recorder.succeed(
                payload,
                http_status=self.status,
                expect_usage=self.recorder.start_values.get("model") is not None,
            )
            self.guard.answers[self.replay_key] = self._replayable(raw)

    def _replayable(self, raw):
        content_type = self.headers.get("content-type", "application/json")
        return self.status, {"content-type": content_type}, raw
