"""An httpx transport that shows every request the openai SDK sends, and
its response as the body passes, to a call object, so that the SDK's calls
are logged like any other.

Plain Python: ``open_call(method, path, body, headers)`` returns the call
object:
- ``answer``: None to send the request, or (status, headers, content) to
  answer it without sending (a refusal, or a replayed answer);
- a context manager around the send: leaving it with an error (no
  response at all: connection refused, timeout...) finishes the call;
- ``received(status, headers)``, ``chunk(bytes)`` as the body arrives,
  ``closed(complete, error)`` once the SDK closed the response;
- ``recorder.fell_back`` once it failed with an outage that a next service
  takes: ``reroute()`` is then (url, headers, body, call) of that service."""

import email.parser
import email.policy
import json

from .capture import httpx_answer, httpx_watched, own_call, stream_classes
from .fallbacks import is_outage


def request_body(content_type, raw):
    """The request's JSON object, or the text fields of a multipart form
    (an audio upload names its model there); None for anything else."""
    if content_type.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
        )
        return {
            part.get_param("name", header="content-disposition"): part.get_content()
            for part in message.iter_parts()
            if not part.get_filename() and part.get_content_maintype() == "text"
        } or None
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def make_transport_class(httpx):
    """The transport class for the given httpx module (httpx or httpx2,
    whichever the installed openai package uses)."""

    # the body passes through to the SDK, each chunk shown to the call
    watched_stream = stream_classes(httpx)[0]

    class UsageLoggingTransport(httpx.BaseTransport):
        def __init__(self, inner, open_call):
            self.inner = inner
            self.open_call = open_call

        def handle_request(self, request):
            # a body we can read back as is
            request.headers["Accept-Encoding"] = "identity"
            body = request_body(request.headers.get("content-type", ""), request.read())
            call = self.open_call(
                request.method, request.url.path, body, request.headers
            )
            return self._send(request, call)

        def _send(self, request, call):
            """Send ``request`` as ``call``; when the call falls back (its
            ``reroute``: the next service of a fallback chain, set on the
            SDK's last attempt), send the next service's request instead."""
            if call.answer is not None:
                return httpx_answer(httpx, call, request)
            # what the send raises finishes the call, then is the SDK's; the
            # send is not captured again (tools.capture)
            try:
                with call, own_call():
                    response = self.inner.handle_request(request)
            except Exception:
                if not call.recorder.fell_back:
                    raise
                return self._rerouted(request, call)
            if call.reroute is not None and is_outage(None, response.status_code):
                # an error's body is short: read it, so the call records it
                # (as fell back: an outage, and a next service)
                response.read()
                call.received(response.status_code, response.headers)
                call.chunk(response.content)
                response.close()
                call.closed(True, None)
                if call.recorder.fell_back:
                    return self._rerouted(request, call)
                # no outage after all (a quota's 429): the SDK gets the answer
                return httpx.Response(
                    response.status_code,
                    headers=response.headers,
                    content=response.content,
                    request=request,
                )
            return httpx_watched(httpx, request, response, call, watched_stream)

        def _rerouted(self, request, call):
            url, headers, body, following = call.reroute()
            rerouted = httpx.Request(
                request.method, url, headers=headers, content=json.dumps(body).encode()
            )
            return self._send(rerouted, following)

        def close(self):
            self.inner.close()

    return UsageLoggingTransport
