"""A fake OpenAI API on 127.0.0.1 speaking real HTTP, with the response
shapes of the OpenAI OpenAPI specification (CompletionUsage, ResponseUsage,
CreateEmbeddingResponse, stream chunks and events, ErrorResponse)."""

import json
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

# The dated snapshot OpenAI names in responses for an alias.
SNAPSHOTS = {"gpt-4o-mini": "gpt-4o-mini-2024-07-18", "gpt-4o": "gpt-4o-2024-08-06"}
REPLY_TEXT = "The caller asked for a delivery date; the agent promised Friday."


SPEECH_AUDIO = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 8
TRANSCRIBED_SECONDS = 93.5


def count_tokens(value):
    """A deterministic stand-in for a tokenizer: about 4 characters a token."""
    return max(1, len(json.dumps(value)) // 4)


def chat_usage(prompt_tokens, completion_tokens, cached_tokens=0, reasoning_tokens=0):
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def responses_usage(input_tokens, output_tokens, cached_tokens=0, reasoning_tokens=0):
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {
            "cached_tokens": cached_tokens,
            "cache_write_tokens": 0,
        },
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


def chat_completion(model, usage, content=REPLY_TEXT, finish_reason="stop"):
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": SNAPSHOTS.get(model, model),
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": content,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": "fp_44709d6fcb",
    }


def response_object(model, usage, text=REPLY_TEXT, status="completed"):
    return {
        "id": f"resp_{uuid.uuid4().hex}",
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "error": None,
        "incomplete_details": None,
        "model": SNAPSHOTS.get(model, model),
        "output": [
            {
                "type": "message",
                "id": f"msg_{uuid.uuid4().hex}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
    }


def error_body(message, error_type, code=None, param=None):
    return {
        "error": {"message": message, "type": error_type, "param": param, "code": code}
    }


def invalid_key_reply():
    """OpenAI's answer to a wrong API key."""
    return Reply(
        401,
        error_body(
            "Incorrect API key provided", "invalid_request_error", "invalid_api_key"
        ),
    )


class Reply:
    """One scripted answer: a status and JSON body, raw bytes, or SSE events."""

    def __init__(
        self,
        status=200,
        body=None,
        raw=None,
        headers=None,
        delay=0.0,
        events=None,
        cut_after=None,
        event_delay=0.0,
    ):
        self.status = status
        self.body = body
        self.raw = raw
        self.headers = headers or {}
        self.delay = delay
        self.events = events
        self.cut_after = cut_after
        self.event_delay = event_delay  # seconds between stream events


class FakeOpenAI:
    """``routes``: {path prefix: reply(method, path, body, headers, fake)},
    the other providers this server also fakes (tests.fake_providers), the
    first prefix that matches answering."""

    def __init__(self, routes=None):
        self.routes = routes or {}
        self.lock = threading.Lock()
        self.replies = deque()
        self.requests = []
        self.batches = {}  # id: Batch object
        # organization endpoint (its path after /v1/, Anthropic's too): its
        # time buckets
        self.billing = {}
        self.files = {}  # id: content
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self.server.request_queue_size = 128
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="fake-openai", daemon=True
        )
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def url_of(self, provider):
        """The base URL of another provider's fake (tests.fake_providers):
        anthropic, gemini or azure."""
        path = {"anthropic": "anthropic/v1", "gemini": "gemini/v1beta"}.get(
            provider, provider
        )
        return f"http://127.0.0.1:{self.server.server_address[1]}/{path}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def reset(self):
        with self.lock:
            self.replies.clear()
            self.requests.clear()
            self.batches.clear()
            self.billing.clear()
            self.files.clear()

    def finished_batch(self, batch_id, output_lines, error_lines=(), **values):
        """A Batch API job that ended, with its output and error files."""
        batch = {
            "id": batch_id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "input_file_id": f"file-in-{batch_id}",
            "completion_window": "24h",
            "status": "completed",
            "output_file_id": f"file-out-{batch_id}" if output_lines else None,
            "error_file_id": f"file-err-{batch_id}" if error_lines else None,
            "created_at": 1793000000,  # 2026-10-26 07:33:20 UTC
            "completed_at": 1793003600,
            "request_counts": {
                "total": len(output_lines) + len(error_lines),
                "completed": len(output_lines),
                "failed": len(error_lines),
            },
        }
        batch.update(values)
        files = {
            batch["output_file_id"]: output_lines,
            batch["error_file_id"]: error_lines,
        }
        with self.lock:
            self.batches[batch_id] = batch
            for file_id, lines in files.items():
                if file_id:
                    self.files[file_id] = "".join(json.dumps(x) + "\n" for x in lines)
        return batch

    def billing_reply(self, path):
        """The Costs and Usage APIs over ``self.billing``: {endpoint: [bucket,
        ...]}, served two buckets a page (cursor: the next bucket's index)."""
        endpoint, _question, query = path.removeprefix("/v1/").partition("?")
        params = parse_qs(query)
        if not all(k in params for k in ("start_time", "end_time", "bucket_width")):
            return Reply(
                400, error_body("start_time is required", "invalid_request_error")
            )
        start = int((params.get("page") or ["0"])[0])
        buckets = self.billing.get(endpoint, [])
        page = buckets[start : start + 2]
        more = start + 2 < len(buckets)
        return Reply(
            body={
                "object": "page",
                "data": page,
                "has_more": more,
                "next_page": str(start + 2) if more else None,
            }
        )

    def script(self, *replies):
        with self.lock:
            self.replies.extend(replies)

    def received(self, path=None):
        with self.lock:
            return [r for r in self.requests if path is None or r["path"] == path]

    # -- default behaviour: a well-behaved OpenAI ------------------------
    def default_reply(self, method, path, body, headers=None):
        for prefix, reply in self.routes.items():
            if path.startswith(prefix):
                body = body if isinstance(body, dict) else {}
                return reply(method, path, body, headers or {}, self)
        body = body if isinstance(body, dict) else {}
        model = body.get("model", "gpt-4o-mini")
        if method == "GET" and path == "/v1/models":
            return Reply(
                body={
                    "object": "list",
                    "data": [
                        {
                            "id": name,
                            "object": "model",
                            "created": 1700000000,
                            "owned_by": "openai",
                        }
                        for name in (
                            "gpt-4o-mini",
                            "gpt-4.1",
                            "o4-mini",
                            "text-embedding-3-small",
                        )
                    ],
                }
            )
        if method == "GET" and path.startswith("/v1/organization/"):
            return self.billing_reply(path)
        if path == "/v1/chat/completions":
            prompt = count_tokens(body.get("messages"))
            if body.get("stream"):
                return Reply(events=self.chat_stream_events(model, prompt, body))
            return Reply(
                body=chat_completion(
                    model, chat_usage(prompt, count_tokens(REPLY_TEXT))
                )
            )
        if path == "/v1/responses":
            prompt = count_tokens(body.get("input"))
            usage = responses_usage(prompt, count_tokens(REPLY_TEXT))
            if body.get("stream"):
                return Reply(events=self.responses_stream_events(model, usage))
            return Reply(body=response_object(model, usage))
        if path == "/v1/embeddings":
            inputs = body.get("input")
            inputs = inputs if isinstance(inputs, list) else [inputs]
            return Reply(
                body={
                    "object": "list",
                    "data": [
                        {
                            "object": "embedding",
                            "index": i,
                            "embedding": [0.01, -0.02, 0.03],
                        }
                        for i in range(len(inputs))
                    ],
                    "model": model,
                    "usage": {
                        "prompt_tokens": count_tokens(inputs),
                        "total_tokens": count_tokens(inputs),
                    },
                }
            )
        if method == "GET" and path.startswith("/v1/batches/"):
            batch = self.batches.get(path.rsplit("/", 1)[1])
            if batch:
                return Reply(body=batch)
        if method == "GET" and path.startswith("/v1/files/"):
            content = self.files.get(path.split("/")[3])
            if content is not None:
                return Reply(
                    raw=content.encode(),
                    headers={"Content-Type": "application/octet-stream"},
                )
        if path == "/v1/audio/speech":
            return Reply(raw=SPEECH_AUDIO, headers={"Content-Type": "audio/mpeg"})
        if path == "/v1/audio/transcriptions":  # whisper-1: billed by duration
            return Reply(
                body={
                    "text": REPLY_TEXT,
                    "usage": {"type": "duration", "seconds": TRANSCRIBED_SECONDS},
                }
            )
        return Reply(
            status=404,
            body=error_body(f"Invalid URL ({method} {path})", "invalid_request_error"),
        )

    @staticmethod
    def chat_stream_events(model, prompt_tokens, body):
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": SNAPSHOTS.get(model, model),
            "system_fingerprint": "fp_44709d6fcb",
        }
        include_usage = (body.get("stream_options") or {}).get("include_usage")
        words = REPLY_TEXT.split(" ")
        events = [
            dict(
                base,
                choices=[
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": ""},
                        "logprobs": None,
                        "finish_reason": None,
                    }
                ],
            )
        ]
        for i, word in enumerate(words):
            text = word if i == 0 else " " + word
            events.append(
                dict(
                    base,
                    choices=[
                        {
                            "index": 0,
                            "delta": {"content": text},
                            "logprobs": None,
                            "finish_reason": None,
                        }
                    ],
                )
            )
        events.append(
            dict(
                base,
                choices=[
                    {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
                ],
            )
        )
        if include_usage:
            for event in events:
                event["usage"] = None
            events.append(
                dict(
                    base,
                    choices=[],
                    usage=chat_usage(prompt_tokens, count_tokens(REPLY_TEXT)),
                )
            )
        return [(None, event) for event in events] + [(None, "[DONE]")]

    @staticmethod
    def responses_stream_events(model, usage):
        final = response_object(model, usage)
        created = dict(final, status="in_progress", usage=None, output=[])
        events = [
            (
                "response.created",
                {"type": "response.created", "sequence_number": 0, "response": created},
            )
        ]
        for i, word in enumerate(REPLY_TEXT.split(" ")):
            events.append(
                (
                    "response.output_text.delta",
                    {
                        "type": "response.output_text.delta",
                        "sequence_number": i + 1,
                        "item_id": final["output"][0]["id"],
                        "output_index": 0,
                        "content_index": 0,
                        "delta": word if i == 0 else " " + word,
                    },
                )
            )
        events.append(
            (
                "response.completed",
                {
                    "type": "response.completed",
                    "sequence_number": len(events),
                    "response": final,
                },
            )
        )
        return events

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                headers = {name.title(): value for name, value in self.headers.items()}
                with fake.lock:
                    fake.requests.append(
                        {
                            "method": method,
                            "path": self.path,
                            "json": body,
                            "client_port": self.client_address[1],
                            "headers": headers,
                        }
                    )
                    reply = fake.replies.popleft() if fake.replies else None
                reply = reply or fake.default_reply(method, self.path, body, headers)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.events is not None:
                    return self._stream(reply)
                payload = (
                    reply.raw
                    if reply.raw is not None
                    else json.dumps(reply.body).encode()
                )
                self.send_response(reply.status)
                if "Content-Type" not in reply.headers:
                    self.send_header(
                        "Content-Type",
                        "application/json" if reply.raw is None else "text/html",
                    )
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, reply):
                self.send_response(reply.status)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                for index, (name, data) in enumerate(reply.events):
                    if reply.cut_after is not None and index >= reply.cut_after:
                        return  # the connection drops mid-stream
                    if index and reply.event_delay:
                        time.sleep(reply.event_delay)
                    text = data if isinstance(data, str) else json.dumps(data)
                    chunk = (f"event: {name}\n" if name else "") + f"data: {text}\n\n"
                    try:
                        self.wfile.write(chunk.encode())
                        self.wfile.flush()
                    except OSError:
                        return  # the client went away

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def do_DELETE(self):
                self._serve("DELETE")

        return Handler
