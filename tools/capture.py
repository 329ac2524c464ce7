"""The AI calls of code that never heard of this add-on, seen where they
leave the process: the transports of requests (HTTPAdapter.send) and of
httpx2 and httpx (HTTPTransport, AsyncHTTPTransport) are wrapped once per
process. Each request is shown to ``opener(method, url, headers, body)``,
which returns None to let it pass untouched (the usual case: any request to
a host that is no AI provider's), or a call object with the protocol of
tools.tracked_transport: ``answer`` (send nothing, answer this), a context
manager around the send, ``received``, ``chunk`` and ``closed``.

What the add-on sends itself is marked with ``own_call()`` and passes.
Whatever the opener or the call object raises is logged and leaves the
request as its caller made it: capture never changes what a caller gets,
but for a refusal the opener chose to answer with. No Odoo in here."""

import contextlib
import contextvars
import importlib
import logging
import weakref

_logger = logging.getLogger(__name__)

_own = contextvars.ContextVar("ai_usage_log_own_call", default=False)
_state = {"opener": None, "installed": False}


@contextlib.contextmanager
def own_call():
    """The requests sent inside are the add-on's own, logged already."""
    token = _own.set(True)
    try:
        yield
    finally:
        _own.reset(token)


def install(opener):
    """Wrap the transports (once) and send their requests to ``opener``."""
    _state["opener"] = opener
    if _state["installed"]:
        return
    _state["installed"] = True
    _wrap_requests()
    for name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        _wrap_httpx(module)


def _open(method, url, headers, body):
    """The call object of a request, or None; never raises."""
    opener = _state["opener"]
    if opener is None or _own.get():
        return None
    try:
        return opener(method, url, headers, body)
    except Exception:
        _logger.exception("ai_usage_log: a request to %s could not be captured", url)
        return None


def _safely(what, function, *args):
    try:
        function(*args)
    except Exception:
        _logger.exception("ai_usage_log: capture: %s failed", what)


class Watch:
    """What a response's body shows its call: each chunk, then whether it
    was read to its end (or cut by an error) when it closes; once."""

    def __init__(self, call):
        self.call = call
        self.complete = False
        self.error = None
        self.done = False

    def chunk(self, data):
        if data:
            _safely("a chunk", self.call.chunk, data)

    def end(self, complete=None, error=None):
        if self.done:
            return
        self.done = True
        _safely(
            "the end of a call",
            self.call.closed,
            self.complete if complete is None else complete,
            error or self.error,
        )


def _enter(call):
    """Enter the call's context manager (around the send); never raises."""
    try:
        call.__enter__()
        return True
    except Exception:
        _logger.exception("ai_usage_log: capture: the start of a call failed")
        return False


def _leave(call, error):
    _safely(
        "the end of a send",
        call.__exit__,
        type(error) if error else None,
        error,
        error.__traceback__ if error else None,
    )


# ----------------------------------------------------------------------
# requests
# ----------------------------------------------------------------------
def _wrap_requests():
    try:
        from requests.adapters import HTTPAdapter
        from requests.models import Response
    except ImportError:
        return
    send = HTTPAdapter.send

    def captured_send(self, request, *args, **kwargs):
        body = request.body
        if isinstance(body, str):
            body = body.encode()
        call = _open(
            request.method,
            request.url,
            request.headers,
            body if isinstance(body, bytes) else None,
        )
        if call is None:
            return send(self, request, *args, **kwargs)
        if call.answer is not None:
            status, headers, content = call.answer
            response = Response()
            response.status_code = status
            response.headers.update(headers)
            response._content = content
            response._content_consumed = True  # no body left to read
            response.url = request.url
            response.request = request
            response.reason = "Too Many Requests" if status == 429 else ""
            return response
        entered = _enter(call)
        try:
            response = send(self, request, *args, **kwargs)
        except Exception as error:
            if entered:
                _leave(call, error)
            raise
        if entered:
            _leave(call, None)
            _safely("a response", call.received, response.status_code, response.headers)
            _watch_requests_body(response, call)
        return response

    HTTPAdapter.send = captured_send


class _WatchedRaw:
    """urllib3's response as requests reads it, each chunk shown to the
    call: ``stream`` (iter_content), ``read``, ``close``."""

    def __init__(self, raw, watch):
        self._raw = raw
        self._watch = watch

    def __getattr__(self, name):
        return getattr(self._raw, name)

    def stream(self, amt=2**16, decode_content=None):
        try:
            for data in self._raw.stream(amt, decode_content=decode_content):
                self._watch.chunk(data)
                yield data
        except Exception as error:
            self._watch.end(False, error)
            raise
        self._watch.end(True)

    def read(self, amt=None, *args, **kwargs):  # pylint: disable=method-required-super
        try:
            data = self._raw.read(amt, *args, **kwargs)
        except Exception as error:
            self._watch.end(False, error)
            raise
        self._watch.chunk(data)
        if amt is None or not data:
            self._watch.end(True)
        return data

    def close(self):
        try:
            self._raw.close()
        finally:
            self._watch.end()

    def release_conn(self):
        try:
            self._raw.release_conn()
        finally:
            self._watch.end()


def _watch_requests_body(response, call):
    watch = Watch(call)
    response.raw = _WatchedRaw(response.raw, watch)
    # a response dropped unread and unclosed is an abandoned call
    weakref.finalize(response, watch.end)


# ----------------------------------------------------------------------
# httpx2 and httpx
# ----------------------------------------------------------------------
def _wrap_httpx(httpx):
    sync_stream, async_stream = stream_classes(httpx)
    handle = httpx.HTTPTransport.handle_request
    handle_async = httpx.AsyncHTTPTransport.handle_async_request

    def handle_request(self, request):
        call = _prepare_httpx(httpx, request)
        if call is None:
            return handle(self, request)
        if call.answer is not None:
            return httpx_answer(httpx, call, request)
        entered = _enter(call)
        try:
            response = handle(self, request)
        except Exception as error:
            if entered:
                _leave(call, error)
            raise
        if not entered:
            return response
        return httpx_watched(httpx, request, response, call, sync_stream)

    async def handle_async_request(self, request):
        call = _prepare_httpx(httpx, request)
        if call is None:
            return await handle_async(self, request)
        if call.answer is not None:
            return httpx_answer(httpx, call, request)
        entered = _enter(call)
        try:
            response = await handle_async(self, request)
        except Exception as error:
            if entered:
                _leave(call, error)
            raise
        if not entered:
            return response
        return httpx_watched(httpx, request, response, call, async_stream)

    httpx.HTTPTransport.handle_request = handle_request
    httpx.AsyncHTTPTransport.handle_async_request = handle_async_request


def stream_classes(httpx):
    """The byte streams that show a response's body to its call as the
    caller reads it, for this httpx module (sync, async)."""

    class WatchedStream(httpx.SyncByteStream):
        def __init__(self, stream, watch):
            self.stream = stream
            self.watch = watch

        def __iter__(self):
            try:
                for data in self.stream:
                    self.watch.chunk(data)
                    yield data
            except Exception as error:
                self.watch.error = error
                raise
            self.watch.complete = True

        def close(self):
            try:
                self.stream.close()
            finally:
                self.watch.end()

    class AsyncWatchedStream(httpx.AsyncByteStream):
        def __init__(self, stream, watch):
            self.stream = stream
            self.watch = watch

        async def __aiter__(self):
            try:
                async for data in self.stream:
                    self.watch.chunk(data)
                    yield data
            except Exception as error:
                self.watch.error = error
                raise
            self.watch.complete = True

        async def aclose(self):
            try:
                await self.stream.aclose()
            finally:
                self.watch.end()

    return WatchedStream, AsyncWatchedStream


def _prepare_httpx(httpx, request):
    try:
        body = request.content
    except httpx.RequestNotRead:  # a streamed upload: reading would consume it
        body = None
    call = _open(request.method, str(request.url), request.headers, body)
    if call is not None and call.answer is None:
        # a body the call can read as it passes (no compression)
        request.headers["Accept-Encoding"] = "identity"
    return call


def httpx_answer(httpx, call, request):
    """The response of a call answered without sending (a refusal...)."""
    status, headers, content = call.answer
    return httpx.Response(status, headers=headers, content=content, request=request)


def httpx_watched(httpx, request, response, call, stream_class):
    """``response`` as the caller gets it, its body shown to ``call``."""
    _safely("a response", call.received, response.status_code, response.headers)
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        stream=stream_class(response.stream, Watch(call)),
        request=request,
        extensions=response.extensions,
    )
