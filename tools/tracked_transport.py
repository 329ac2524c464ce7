"""An httpx transport that shows every request the openai SDK sends, and
its response as the body passes, to a call object, so that the SDK's calls
are logged like any other.

Plain Python: ``open_call(method, path, body)`` returns the call object:
- ``answer``: None to send the request, or (status, headers, content) to
  answer it without sending (a refusal, or a replayed answer);
- a context manager around the send: leaving it with an error (no
  response at all: connection refused, timeout...) finishes the call;
- ``received(status, headers)``, ``chunk(bytes)`` as the body arrives,
  ``closed(complete, error)`` once the SDK closed the response."""

import email.parser
import email.policy
import json

from .capture import httpx_answer, httpx_watched, own_call, stream_classes


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
            call = self.open_call(request.method, request.url.path, body)
            if call.answer is not None:
                return httpx_answer(httpx, call, request)
            # what the send raises finishes the call, then is the SDK's; the
            # send is not captured again (tools.capture)
            with call, own_call():
                response = self.inner.handle_request(request)
            return httpx_watched(httpx, request, response, call, watched_stream)

        def close(self):
            self.inner.close()

    return UsageLoggingTransport
