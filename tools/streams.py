"""Server-sent event streams of the AI APIs (OpenAI's chat completions
chunks and Responses API events, Anthropic's Messages events, Gemini's
answer chunks): one parser, and one rule that turns what a stream sent, and
how it ended, into the call's outcome. No Odoo in here.

| the stream                                       | status  | error code        |
|--------------------------------------------------|---------|-------------------|
| ``[DONE]``, ``response.completed``, Anthropic's  | success |                   |
| ``message_stop``, a Gemini chunk that ends its   |         |                   |
| answer (``finishReason``)                        |         |                   |
| ``response.incomplete``                          | success | (finish reason =  |
|                                                  |         | incomplete reason)|
| ``response.failed``, an ``error`` event or chunk | failed  | the event's code  |
| ended (or cut) before any of those               | failed  | ``interrupted``   |
| left by the caller before any of those           | failed  | ``abandoned``     |
| an event whose data is not JSON                  | failed  | ``invalid_json``  |

Whatever usage the stream reported is kept in every case."""

import json
import time

from .usage import gemini_finish_reason, gemini_text_length

DONE = "[DONE]"
ANTHROPIC_EVENTS = frozenset(
    {
        "message_start", "message_delta", "message_stop", "content_block_start",
        "content_block_delta", "content_block_stop", "ping",
    }
)  # fmt: skip

# Stream endings, as the code that reads the stream saw them.
ENDED = "ended"  # the server closed the stream (or the network cut it)
ABANDONED = "abandoned"  # the caller stopped reading
INVALID = "invalid"  # an event could not be parsed


class StreamEventError(ValueError):
    """An event of the stream is not JSON."""


class SseParser:
    """Server-sent events parser fed with bytes chunks as they arrive;
    ``feed`` returns the ``data`` (text) of the events each chunk completes.
    Lines may end in LF, CRLF or CR (also split across chunks); comments and
    other fields are skipped; an event cut before its blank line is
    dropped, as the SSE specification says."""

    def __init__(self):
        self.pending = b""
        self.data_lines = []

    def feed(self, chunk):
        lines = (self.pending + chunk).splitlines(keepends=True)
        self.pending = b""
        # hold back an unterminated line, or a CR that may be half a CRLF
        if lines and (
            not lines[-1].endswith((b"\n", b"\r")) or lines[-1].endswith(b"\r")
        ):
            self.pending = lines.pop()
        return self._read(lines)

    def close(self):
        """The data of a last event whose blank line was a lone CR."""
        pending, self.pending = self.pending, b""
        return self._read([pending]) if pending.endswith(b"\r") else []

    def _read(self, lines):
        complete = []
        for raw_line in lines:
            line = raw_line.rstrip(b"\r\n").decode("utf-8", "replace")
            if not line:
                if self.data_lines:
                    complete.append("\n".join(self.data_lines))
                    self.data_lines = []
                continue
            field, _colon, value = line.partition(":")
            if field == "data":
                self.data_lines.append(value.removeprefix(" "))
        return complete


class StreamOutcome:
    """What a stream's log records: ``status`` (success or failed),
    ``error_code`` and ``message`` of a failure, ``usage_source`` (the
    payload carrying the usage, or None) and ``finish_values`` (finish
    reason, response length, time to first token)."""

    def __init__(
        self, status, usage_source, finish_values, error_code=None, message=None
    ):
        self.status = status
        self.usage_source = usage_source
        self.finish_values = finish_values
        self.error_code = error_code
        self.message = message

    @property
    def succeeded(self):
        return self.status == "success"


class StreamWatcher:
    """Reads the events of one stream as they pass and decides its outcome."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.started = clock()
        self.first_event_ms = None
        self.usage_source = None
        self.response = None  # the latest Responses API response object seen
        self.terminal = None  # (status, error_code, message) once the stream said
        self.finish_reason = None
        self.response_length = 0
        self.invalid = None

    def feed(self, data):
        """Take the data of one event; return the parsed event (DONE for
        the ``[DONE]`` sentinel). Raise StreamEventError when it is not JSON."""
        if self.first_event_ms is None:
            self.first_event_ms = int((self.clock() - self.started) * 1000)
        if data.strip() == DONE:
            self.terminal = self.terminal or ("success", None, None)
            return DONE
        try:
            event = json.loads(data)
        except ValueError as error:
            self.invalid = f"The stream sent an event that is not JSON: {error}"
            raise StreamEventError(self.invalid) from None
        if isinstance(event, dict):
            self._observe(event)
        return event

    def _observe_anthropic(self, event, kind):
        """Anthropic's events: the usage of message_start (input and cache)
        is completed by each message_delta (output, cumulative)."""
        message = event.get("message") if kind == "message_start" else None
        usage = (message or event).get("usage")
        if isinstance(usage, dict):
            merged = dict((self.usage_source or {}).get("usage") or {})
            merged.update({k: v for k, v in usage.items() if v is not None})
            self.usage_source = {"type": "message", "usage": merged}
        delta = event.get("delta") if isinstance(event.get("delta"), dict) else {}
        if kind == "content_block_delta" and isinstance(delta.get("text"), str):
            self.response_length += len(delta["text"])
        if delta.get("stop_reason"):
            self.finish_reason = delta["stop_reason"]
        if kind == "message_stop" and not self.terminal:
            self.terminal = ("success", None, None)

    def _observe_gemini(self, event):
        """A Gemini chunk: its usage is cumulative; the chunk that ends the
        answer names its finish reason."""
        if "usageMetadata" in event:
            self.usage_source = event
        self.response_length += gemini_text_length(event)
        reason = gemini_finish_reason(event)
        if reason:
            self.finish_reason = reason
            self.terminal = self.terminal or ("success", None, None)

    def _observe(self, event):
        kind = event.get("type")
        if kind in ANTHROPIC_EVENTS:
            return self._observe_anthropic(event, kind)
        if "candidates" in event or "usageMetadata" in event:
            return self._observe_gemini(event)
        if isinstance(event.get("response"), dict):
            self.response = event["response"]
            if self.response.get("usage"):
                self.usage_source = event
        elif event.get("usage"):
            self.usage_source = event
        for choice in event.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            content = (choice.get("delta") or {}).get("content")
            if isinstance(content, str):
                self.response_length += len(content)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        if kind == "response.output_text.delta" and isinstance(event.get("delta"), str):
            self.response_length += len(event["delta"])
        if self.terminal and self.terminal[0] == "failed":
            return
        if kind == "response.completed":
            self.terminal = ("success", None, None)
        elif kind == "response.incomplete":
            reason = (self.response or {}).get("incomplete_details") or {}
            self.finish_reason = reason.get("reason") or "incomplete"
            self.terminal = ("success", None, None)
        elif kind == "response.failed":
            error = (self.response or {}).get("error") or {}
            self.terminal = (
                "failed",
                error.get("code") or "response_failed",
                error.get("message") or "The response failed.",
            )
        elif kind == "error" or isinstance(event.get("error"), dict):
            error = (
                event.get("error") if isinstance(event.get("error"), dict) else event
            )
            code = error.get("code") if isinstance(error.get("code"), str) else None
            self.terminal = (
                "failed",
                code or error.get("status") or error.get("type") or "stream_error",
                error.get("message") or "The stream reported an error.",
            )

    def outcome(self, ending, cause=None):
        """The outcome of the stream, which ended as ``ending`` (ENDED,
        ABANDONED or INVALID); ``cause``: what cut it, for the message."""
        finish_values = {
            "time_to_first_token_ms": self.first_event_ms,
            "response_length": self.response_length,
        }
        if self.finish_reason:
            finish_values["finish_reason"] = self.finish_reason
        if self.terminal and ending != INVALID:
            status, code, message = self.terminal
            return StreamOutcome(
                status, self.usage_source, finish_values, code, message
            )
        if ending == INVALID:
            code, message = "invalid_json", self.invalid or cause
        elif ending == ABANDONED:
            code = "abandoned"
            message = "The caller stopped reading the stream before its end."
        else:
            code = "interrupted"
            message = "The stream ended before its final event" + (
                f": {cause}" if cause else "."
            )
        return StreamOutcome("failed", self.usage_source, finish_values, code, message)
