"""An httpx transport that reports every request the openai SDK sends and
every response it gets, so that the SDK's calls are logged like any other.

Plain Python: what to do with a call is given as two callables."""

import json


def sse_payloads(raw):
    """The JSON payloads (or "[DONE]") of a server-sent event stream."""
    payloads = []
    for block in raw.decode("utf-8", "replace").replace("\r\n", "\n").split("\n\n"):
        data = "\n".join(
            line[5:].lstrip() for line in block.split("\n") if line.startswith("data:")
        )
        if not data:
            continue
        if data == "[DONE]":
            payloads.append(data)
            continue
        try:
            payloads.append(json.loads(data))
        except ValueError:
            continue
    return payloads


def make_transport_class(httpx):
    """The transport class for the given httpx module (httpx or httpx2,
    whichever the installed openai package uses)."""

    class TeeStream(httpx.SyncByteStream):
        """Passes the body through, keeps a copy, reports it once closed."""

        def __init__(self, stream, on_close):
            self.stream = stream
            self.on_close = on_close
            self.chunks = []
            self.closed = False

        def __iter__(self):
            for chunk in self.stream:
                self.chunks.append(chunk)
                yield chunk

        def close(self):
            if self.closed:
                return
            self.closed = True
            try:
                self.stream.close()
            finally:
                self.on_close(b"".join(self.chunks))

    class UsageLoggingTransport(httpx.BaseTransport):
        def __init__(self, inner, start_call, finish_call):
            """``start_call(path, body) -> handle`` runs before the request
            leaves; ``finish_call(handle, status, content_type, raw, error)``
            once the response body has been read (or the request failed)."""
            self.inner = inner
            self.start_call = start_call
            self.finish_call = finish_call

        def handle_request(self, request):
            # a body we can read back as is
            request.headers["Accept-Encoding"] = "identity"
            try:
                body = json.loads(request.read() or b"null")
            except ValueError:
                body = None
            handle = self.start_call(
                request.url.path, body if isinstance(body, dict) else None
            )
            try:
                response = self.inner.handle_request(request)
            except Exception as error:
                self.finish_call(handle, None, None, b"", error)
                raise
            content_type = response.headers.get("content-type", "")

            def report(raw):
                self.finish_call(handle, response.status_code, content_type, raw, None)

            return httpx.Response(
                response.status_code,
                headers=response.headers,
                stream=TeeStream(response.stream, report),
                request=request,
                extensions=response.extensions,
            )

        def close(self):
            self.inner.close()

    return UsageLoggingTransport
