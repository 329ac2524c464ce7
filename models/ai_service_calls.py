"""How ai.service sends and logs calls: its public entry points, each a
client (tools.http_client) in the provider's dialect (tools.providers) and a
recorder (recorder.CallRecorder), and the checks of what callers give."""

import json
import logging
import re
from urllib.parse import urlsplit

from odoo import api, models
from odoo.exceptions import UserError

from .. import captured_calls
from ..caller_values import CALL_OPTIONS, check_caller_values
from ..recorder import CallRecorder, RelayedStream, ReplayGuard, SdkCall
from ..rights import check_ai_admin
from ..tools import capture, providers
from ..tools.http_client import ApiClient, error_response_failure
from ..tools.providers import NATIVE_DIALECT, OPENAI_DIALECT
from ..tools.tracked_transport import make_transport_class
from ..tools.usage import to_payload

_logger = logging.getLogger(__name__)

# Endpoints that answer with bytes (audio, a file's content): not for JSON calls.
BINARY_ENDPOINT = re.compile(r"^(audio/speech|files/[^/]+/content)$")
ENDPOINT_PATTERN = re.compile(r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-\.:]+)*$")
HTTP_METHODS = ("GET", "POST", "DELETE")


class AiService(models.Model):
    """The call entry points of ai.service (one model split over files, as
    mail's models are)."""

    _inherit = "ai.service"

    # ------------------------------------------------------------------
    # Public API: each entry point is a client (tools.http_client) and a
    # recorder (recorder.CallRecorder). Those that take a callable or give
    # back a stream or a client are Python-only (api.private).
    # ------------------------------------------------------------------
    @api.model
    def _get_service(self):
        """This service, or on an empty recordset the first active service
        of the current company."""
        if self:
            self.ensure_one()
            return self
        service = self.search(self._callable_domain(), limit=1)
        if not service:
            raise UserError(
                self.env._(
                    "No active AI service is configured for %s.", self.env.company.name
                )
            )
        return service

    @api.model
    def _callable_domain(self):
        """The services a call of the current company may be sent to (a
        captured-calls service only records someone else's calls)."""
        return [("company_id", "in", self.env.company.ids), ("is_captured", "=", False)]

    def make_openai_api_call(self, endpoint, method="POST", data=None, **options):
        """Send one request in the OpenAI request shape (``endpoint`` such as
        'chat/completions') and return its JSON body. Works on every
        provider but Anthropic (Gemini through its OpenAI-compatible API).

        The call is logged before it leaves (status processing) and finished
        whatever happens, in transactions of its own. The answers the
        provider asks to retry (429, 5xx...) and connection failures are
        retried with backoff within the service's max retries and timeout.
        Raise UserError when the call fails. ``options``: request_type,
        location_id, message_id, contact_id, conversation_id, partner_id,
        metadata (a dict), custom_api_key."""
        service = self._get_service()
        return service._json_call(OPENAI_DIALECT, endpoint, method, data, **options)

    def make_api_call(self, endpoint, method="POST", data=None, **options):
        """Send one request in the service provider's own API and return its
        JSON body, logged like make_openai_api_call: Anthropic's 'messages',
        Gemini's 'models/<model>:generateContent' (or 'generateContent' for
        the default model); for the others, the same as
        make_openai_api_call."""
        service = self._get_service()
        return service._json_call(NATIVE_DIALECT, endpoint, method, data, **options)

    def _json_call(
        self, dialect, endpoint, method, data, custom_api_key=None, **log_options
    ):
        self._check_call_options(log_options)
        attempts, skipped = self._fallback_attempts(dialect, endpoint, method, data)
        endpoint, body = attempts[0][2:4]
        method = (method or "POST").upper()
        if log_options.get("request_type") == "test_connection" or (
            method == "GET" and endpoint == "models"
        ):
            # listing the models is the connection test, which spends the
            # company key on no one's behalf: Test Connection's rule; it
            # tests this service, never its backups
            check_ai_admin(
                self.env,
                self.env._("Only AI administrators may test a service's connection."),
            )
            attempts = attempts[:1]
        guard = ReplayGuard.of(self.env.cr)
        replay_key = guard.key(self.id, method, endpoint, body)
        if replay_key in guard.answers:
            _logger.info(
                "ai_usage_log: replayed transaction reuses the answer of %s %s",
                method,
                endpoint,
            )
            return guard.answers[replay_key]

        def send(service, dialect, endpoint, body, call, key):
            with call:
                payload, status, retry_count = service._api_client(
                    key, dialect
                ).request_json(method, endpoint, body)
                call.succeed(
                    payload,
                    http_status=status,
                    retry_count=retry_count,
                    expect_usage=method == "POST",
                )
            return payload

        payload = self._through_fallbacks(
            attempts, skipped, custom_api_key, log_options, send
        )
        guard.answers[replay_key] = payload
        return payload

    @api.private
    def ensure_usage_logging(
        self, api_call, *, endpoint=None, model=None, custom_api_key=None, **options
    ):
        """Run ``api_call()`` (any callable that talks to an AI provider) and
        log its usage from the result it returns: a dict, a requests.Response
        or an openai, anthropic or google-genai SDK object. When it raises,
        log the failure and re-raise. ``endpoint`` and ``model`` say what it
        calls; ``options``: as make_openai_api_call.

        Not covered by the replay guard: the callable is opaque, so two calls
        cannot be told to ask the same thing (see README)."""
        service = self._get_service()
        service._check_call_options(options)
        call = service._recorded_call(
            custom_api_key, None, endpoint=endpoint, model=model, **options
        )
        with call:  # what api_call raises is logged, then raised as it is
            with capture.own_call():  # logged here: not captured again
                result = api_call()
            status = getattr(result, "status_code", None)
            status = status if isinstance(status, int) else 200
            if status >= 400:
                call.fail(error_response_failure(status, to_payload(result), ""))
            else:
                call.succeed(result, http_status=status)
        return result

    @api.private
    def stream_openai_api_call(self, endpoint, data, **options):
        """Send a streaming request in the OpenAI request shape (chat
        completions or Responses API) and return an iterator over its
        parsed events as they arrive; ``options``: as make_openai_api_call.

        ``stream_options.include_usage`` is set for chat completions so the
        last chunk carries usage. The log records the time to the first
        event, and the outcome of tools.streams: a stream that fails, is cut
        or is left by the caller is logged as failed, with its usage."""
        service = self._get_service()
        return service._stream_call(OPENAI_DIALECT, endpoint, data, **options)

    @api.private
    def stream_api_call(self, endpoint, data, **options):
        """stream_openai_api_call in the provider's own API: Anthropic's
        'messages' events, Gemini's 'models/<model>:generateContent' (sent
        as streamGenerateContent) chunks."""
        service = self._get_service()
        return service._stream_call(NATIVE_DIALECT, endpoint, data, **options)

    def _stream_call(self, dialect, endpoint, data, custom_api_key=None, **options):
        self._check_call_options(options)
        if not isinstance(data, dict):
            raise UserError(
                self.env._("A streaming call needs a JSON object as its body.")
            )
        attempts, skipped = self._fallback_attempts(
            dialect, endpoint, "POST", data, stream=True
        )
        endpoint, body = attempts[0][2:4]
        guard = ReplayGuard.of(self.env.cr)
        replay_key = guard.key(self.id, "POST", endpoint, body)
        if replay_key in guard.answers:
            return iter(guard.answers[replay_key])

        # a stream falls back only before its first byte: when it could not
        # be opened; once it flows, its caller has its answer
        def send(service, dialect, endpoint, body, call, key):
            with call:  # finished by the stream, once read, closed or dropped
                response, retry_count = service._api_client(key, dialect).open_stream(
                    endpoint, body
                )
            return RelayedStream(response, retry_count, call, guard, replay_key)

        return self._through_fallbacks(
            attempts, skipped, custom_api_key, dict(options, is_stream=True), send
        )

    @api.private
    def openai_client(self, request_type="other", custom_api_key=None, **attribution):
        """An ``openai.OpenAI`` client for this service whose every request
        (chat, responses, embeddings, streams...) is logged like the calls
        of make_openai_api_call: one log per HTTP attempt, the SDK retrying
        up to the service's max retries. A call refused by a rate limit or a
        hard budget raises the SDK's RateLimitError, once, unretried.
        ``attribution``: location_id, message_id, contact_id,
        conversation_id, partner_id, metadata."""
        try:
            import openai
        except ImportError:
            raise UserError(
                self.env._(
                    "The openai Python package is not installed on the Odoo server: "
                    "install it with 'pip install openai' to use openai_client()."
                )
            ) from None
        # openai 3 sends with httpx2, earlier versions with httpx
        base_client = openai._base_client
        httpx = getattr(base_client, "httpx2", None) or base_client.httpx
        service = self._get_service()
        provider = service._provider()
        if not provider.speaks_openai:
            raise UserError(
                self.env._(
                    "%s has no OpenAI API: call it with make_api_call, or log the "
                    "calls of its own SDK with ensure_usage_logging.",
                    provider.label,
                )
            )
        start_values = service._start_values(request_type=request_type, **attribution)
        base_url = provider.sdk_base_url(service.api_base_url, service.api_version)
        base_path = urlsplit(base_url).path.rstrip("/")

        def open_call(method, path, body, headers):
            endpoint = provider.endpoint_of(path, base_path)
            call = SdkCall(
                service, start_values, method, endpoint, body, custom_api_key
            )
            # the SDK's last attempt (it numbers its retries) falls back,
            # unless the caller pays with its own key
            last = headers.get("x-stainless-retry-count") == str(service.max_retries)
            if call.answer is None and last and not custom_api_key:
                backups = service._sdk_backup_calls(method, endpoint, body, headers)
                service._sdk_reroute(call, start_values, method, backups)
            return call

        transport = make_transport_class(httpx)(httpx.HTTPTransport(), open_call)
        options = {
            "api_key": custom_api_key or service.sudo().api_key or "missing-key",
            "max_retries": service.max_retries,
            "timeout": service.timeout,
            "http_client": httpx.Client(transport=transport, timeout=service.timeout),
        }
        if provider.code == "azure" and service.api_version:
            return openai.AzureOpenAI(
                azure_endpoint=base_url, api_version=service.api_version, **options
            )
        return openai.OpenAI(base_url=base_url, **options)

    # ------------------------------------------------------------------
    # Plumbing
    # ------------------------------------------------------------------
    def _provider(self):
        self.ensure_one()
        return providers.get(self.provider)

    def _api_client(self, custom_api_key=None, dialect=OPENAI_DIALECT):
        self.ensure_one()
        return ApiClient(
            self.api_base_url,
            custom_api_key or self.sudo().api_key,
            self.timeout,
            self.max_retries,
            provider=self._provider(),
            dialect=dialect,
            api_version=self.api_version,
        )

    def _recorded_call(self, custom_api_key, body, measured=None, **start_values):
        """The recorder that owns a call (recorder.CallRecorder: ``with`` it),
        its log values checked: UserError before anything is sent or
        recorded; ``measured``: what the machinery adds (a fallback's link)."""
        self.ensure_one()
        # the values of the usage_context() blocks around, unless given
        start_values = dict(captured_calls.context_values(), **start_values)
        return CallRecorder(
            self, self._start_values(**start_values), body, custom_api_key, measured
        )

    def _validate_request(self, endpoint, method, data, dialect, stream=False):
        """Return (endpoint, method, body) checked and normalised for the
        provider's ``dialect``; raise UserError naming what is wrong."""
        provider = self._provider()
        if dialect == OPENAI_DIALECT and not provider.speaks_openai:
            raise UserError(
                self.env._(
                    "%(service)s is an %(provider)s service, which has no OpenAI "
                    "request shape: send its own requests with make_api_call.",
                    service=self.name,
                    provider=provider.label,
                )
            )
        if not isinstance(endpoint, str) or not endpoint.strip("/ "):
            raise UserError(
                self.env._("The endpoint must be a path such as 'chat/completions'.")
            )
        endpoint = endpoint.strip().strip("/")
        if not ENDPOINT_PATTERN.match(endpoint) or ".." in endpoint:
            raise UserError(
                self.env._(
                    "Invalid endpoint %r: give a path such as 'chat/completions'.",
                    endpoint,
                )
            )
        if provider.endpoint_error(endpoint, dialect):
            raise UserError(
                self.env._(
                    "Unknown %(provider)s endpoint %(endpoint)r.",
                    provider=provider.label
                    if dialect == NATIVE_DIALECT
                    else self.env._("OpenAI"),
                    endpoint=endpoint,
                )
            )
        if endpoint.endswith(":streamGenerateContent") and not stream:
            raise UserError(
                self.env._("%r streams its answer: use stream_api_call.", endpoint)
            )
        if BINARY_ENDPOINT.match(endpoint):
            raise UserError(
                self.env._(
                    "%r answers with bytes, not JSON: make this call with "
                    "openai_client(), which logs it (speech by its characters).",
                    endpoint,
                )
            )
        method = (method or "POST").upper()
        if method not in HTTP_METHODS:
            raise UserError(self.env._("Unsupported HTTP method %r.", method))
        if data is not None and not isinstance(data, dict):
            raise UserError(
                self.env._(
                    "The request body must be a JSON object (a dict), not %s.",
                    type(data).__name__,
                )
            )
        body = dict(data) if data is not None else None
        if method == "POST":
            endpoint, body = provider.prepare(
                endpoint, body or {}, dialect, self.default_model
            )
        if body is not None:
            try:
                json.dumps(body)
            except (TypeError, ValueError) as error:
                raise UserError(
                    self.env._("The request body cannot be sent as JSON: %s", error)
                ) from None
        return endpoint, method, body

    def _check_call_options(self, options):
        check_caller_values(self.env, options, CALL_OPTIONS)

    def _start_values(self, **values):
        """Check what a caller gave for the log; raise UserError on bad input
        before anything is sent."""
        self.env["ai.usage.log"]._check_request_type(values.get("request_type"))
        partner_id = values.get("partner_id")
        if partner_id:
            partner_id = getattr(partner_id, "id", partner_id)
            if (
                not isinstance(partner_id, int)
                or not self.env["res.partner"].sudo().browse(partner_id).exists()
            ):
                raise UserError(
                    self.env._("Contact %r does not exist.", values["partner_id"])
                )
            values["partner_id"] = partner_id
        metadata = values.get("metadata")
        if metadata is not None:
            if not isinstance(metadata, dict):
                raise UserError(
                    self.env._("metadata must be a dict of billing dimensions.")
                )
            try:
                json.dumps(metadata)
            except (TypeError, ValueError) as error:
                raise UserError(
                    self.env._("metadata cannot be stored as JSON: %s", error)
                ) from None
        return values
