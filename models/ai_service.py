import base64
import binascii
import io
import json
import logging
import re
import time
from urllib.parse import urlsplit

import requests

from odoo import api, fields, models
from odoo.exceptions import MissingError, UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.pdf import PdfReader, PdfWriter

from ..tools.openai_usage import (
    UsageError,
    backoff_delay,
    extract_error,
    extract_usage,
    parse_retry_after,
    redact_secrets,
    request_fingerprint,
    to_payload,
)
from ..tools.tracked_transport import make_transport_class, sse_payloads

_logger = logging.getLogger(__name__)

# First path segment of the OpenAI API endpoints (and of compatible servers).
KNOWN_ENDPOINT_ROOTS = frozenset(
    {
        "assistants", "audio", "batches", "chat", "completions", "containers",
        "conversations", "embeddings", "evals", "files", "fine_tuning", "images",
        "models", "moderations", "realtime", "responses", "threads", "uploads",
        "vector_stores", "videos",
    }
)  # fmt: skip
ENDPOINT_PATTERN = re.compile(r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-\.]+)*$")
HTTP_METHODS = ("GET", "POST", "DELETE")
RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
RETRY_BACKOFF_BASE = 0.5  # seconds; doubled after each retry, with jitter
RETRY_BACKOFF_CAP = 8.0
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024  # OpenAI's limit for one image
DEFAULT_RESERVED_OUTPUT_TOKENS = 1000  # reserved for a call that sets no max tokens
SUMMARY_PROMPT = (
    "Summarise this call transcript for a CRM: the caller's request, decisions taken, "
    "follow-up actions with owners, and the caller's sentiment. Be concise."
)


class AiCallError(UserError):
    """OpenAI (or the network to it) failed the call; the call is logged."""


class _CallFailed(Exception):
    """A request that got no usable answer; carries what to log."""

    def __init__(self, error_code, message, http_status=None, retry_count=0):
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.http_status = http_status
        self.retry_count = retry_count


class _ReplayGuard:
    """Successful responses of the current transaction of one cursor.

    When a transaction is rolled back and replayed (Odoo retries a request
    after a serialization failure), the n-th identical call of the replay
    gets the n-th response of the first attempt instead of paying again.
    A commit ends the transaction and forgets everything."""

    def __init__(self, cr):
        self.cr = cr
        self.responses = {}
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
        self.seen.clear()
        self.hooked = False

    def key(self, fingerprint):
        occurrence = self.seen.get(fingerprint, 0)
        self.seen[fingerprint] = occurrence + 1
        return fingerprint, occurrence


class AiService(models.Model):
    _name = "ai.service"
    _description = "AI Service"
    _inherit = ["mail.thread"]
    _order = "sequence, id"

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        index=True,
        tracking=True,
    )
    api_base_url = fields.Char(
        "API Base URL",
        required=True,
        default="https://api.openai.com/v1",
        tracking=True,
        help="Any OpenAI-compatible endpoint works.",
    )
    api_key = fields.Char(
        "API Key",
        groups="ai_usage_log.group_ai_usage_admin",
        copy=False,
        exportable=False,
        prefetch=False,
    )
    has_api_key = fields.Boolean(compute="_compute_has_api_key")
    default_model = fields.Char(required=True, default="gpt-4o-mini", tracking=True)
    timeout = fields.Float(
        "Timeout (s)",
        default=60.0,
        required=True,
        tracking=True,
        help="Time a call may take, retries included.",
    )
    max_retries = fields.Integer(default=2, required=True, tracking=True)
    rate_limit_per_minute = fields.Integer(
        "Rate Limit (calls/min/user)",
        tracking=True,
        help="Calls one user may make per minute on this service; zero: no limit.",
    )
    price_ids = fields.One2many(
        "ai.model.price", "service_id", "Prices for this service"
    )
    log_ids = fields.One2many("ai.usage.log", "service_id", "Usage Logs")

    usage_count = fields.Integer("Calls", compute="_compute_counters")
    error_count = fields.Integer("Failed Calls", compute="_compute_counters")
    last_used = fields.Datetime(compute="_compute_counters")
    total_tokens = fields.Integer(compute="_compute_counters")
    total_cost = fields.Float(compute="_compute_counters", digits=(16, 8))
    currency_id = fields.Many2one(related="company_id.currency_id")

    _sql_constraints = [
        ("timeout_positive", "CHECK(timeout > 0)", "The timeout must be positive."),
        (
            "max_retries_range",
            "CHECK(max_retries >= 0 AND max_retries <= 10)",
            "Max retries must be 0 to 10.",
        ),
    ]

    @api.constrains("api_base_url")
    def _check_api_base_url(self):
        for service in self:
            if not re.match(r"^https?://[^\s/]+", service.api_base_url or ""):
                raise ValidationError(
                    self.env._("The API base URL must start with http:// or https://.")
                )

    def _compute_has_api_key(self):
        for service in self:
            service.has_api_key = bool(service.sudo().api_key)

    def _compute_counters(self):
        """Derived from the logs (through their daily summary), so exact
        whatever runs concurrently, and fast with millions of logs."""
        counters = dict.fromkeys(self.ids, (0, 0, 0, 0.0, False))
        if self.ids:
            self.env["ai.usage.log"].flush_model()
            ids = tuple(self.ids)
            source = self.env["ai.usage.log.daily"]._union(
                SQL(
                    "service_id, calls, failed, total_tokens, cost_company,"
                    " last_request_time"
                ),
                SQL(
                    "service_id, 1, (status = 'failed')::int,"
                    " COALESCE(total_tokens, 0),"
                    " COALESCE(cost_company, 0), request_time"
                ),
                SQL("service_id IN %s", ids),
                SQL("service_id IN %s", ids),
            )
            self.env.cr.execute(
                SQL(
                    """
                    SELECT service_id, sum(calls), sum(failed), sum(total_tokens),
                           sum(cost_company), max(last_request_time)
                      FROM %s AS source
                  GROUP BY service_id
                    """,
                    source,
                )
            )
            for service_id, *values in self.env.cr.fetchall():
                counters[service_id] = values
        for service in self:
            calls, failed, tokens, cost, last = counters.get(
                service.id, (0, 0, 0, 0.0, False)
            )
            service.usage_count = calls
            service.error_count = failed
            service.total_tokens = tokens
            service.total_cost = float(cost)
            service.last_used = last

    # ------------------------------------------------------------------
    # Public API
    # ------------------------------------------------------------------
    @api.model
    def _get_service(self):
        """This service, or on an empty recordset the first active service
        of the current company."""
        if self:
            self.ensure_one()
            return self
        service = self.search([("company_id", "in", self.env.company.ids)], limit=1)
        if not service:
            raise UserError(
                self.env._(
                    "No active AI service is configured for %s.", self.env.company.name
                )
            )
        return service

    def make_openai_api_call(
        self,
        endpoint,
        method="POST",
        data=None,
        *,
        request_type="other",
        location_id=None,
        message_id=None,
        contact_id=None,
        conversation_id=None,
        custom_api_key=None,
        metadata=None,
        partner_id=None,
    ):
        """Send one request to the OpenAI API and return its JSON body.

        The call is logged before it leaves (status processing) and finished
        whatever happens, in transactions of its own. 429 and 5xx answers and
        connection failures are retried with backoff within the service's
        max retries and timeout. Raise UserError when the call fails."""
        service = self._get_service()
        endpoint, method, body = service._validate_request(endpoint, method, data)
        log_values = service._log_values(
            request_type=request_type,
            endpoint=endpoint,
            model=(body or {}).get("model"),
            location_id=location_id,
            message_id=message_id,
            contact_id=contact_id,
            conversation_id=conversation_id,
            partner_id=partner_id,
            metadata=metadata,
        )

        guard = _ReplayGuard.of(self.env.cr)
        replay_key = guard.key(request_fingerprint(service.id, method, endpoint, body))
        if replay_key in guard.responses:
            _logger.info(
                "ai_usage_log: replayed transaction reuses the response of %s %s",
                method,
                endpoint,
            )
            return guard.responses[replay_key]

        log = service._open_log(log_values, body)
        api_key = custom_api_key or service.sudo().api_key
        try:
            response, retry_count = service._send(method, endpoint, body, api_key)
            payload = service._read_json(response, retry_count)
        except _CallFailed as failure:
            service._record_failure(log, log_values, failure, custom_api_key)
            raise service._call_error(endpoint, failure, api_key) from None
        except Exception as error:
            service._record_failure(
                log,
                log_values,
                _CallFailed("unexpected_error", repr(error)),
                custom_api_key,
            )
            raise
        service._record_success(
            log,
            log_values,
            payload,
            http_status=response.status_code,
            retry_count=retry_count,
            expect_usage=method == "POST",
        )
        guard.responses[replay_key] = payload
        return payload

    def ensure_usage_logging(
        self,
        api_call,
        *,
        request_type="other",
        endpoint=None,
        model=None,
        location_id=None,
        message_id=None,
        contact_id=None,
        conversation_id=None,
        custom_api_key=None,
        metadata=None,
        partner_id=None,
    ):
        """Run ``api_call()`` (any callable that talks to OpenAI) and log its
        usage from the result it returns: a dict, a requests.Response or an
        openai SDK object. When it raises, log the failure and re-raise."""
        service = self._get_service()
        log_values = service._log_values(
            request_type=request_type,
            endpoint=endpoint,
            model=model,
            location_id=location_id,
            message_id=message_id,
            contact_id=contact_id,
            conversation_id=conversation_id,
            partner_id=partner_id,
            metadata=metadata,
        )
        log = service._open_log(log_values)
        try:
            result = api_call()
        except Exception as error:
            status = getattr(error, "status_code", None) or getattr(
                getattr(error, "response", None), "status_code", None
            )
            failure = _CallFailed(
                getattr(error, "code", None) or type(error).__name__,
                str(error) or type(error).__name__,
                http_status=status if isinstance(status, int) else None,
            )
            service._record_failure(log, log_values, failure, custom_api_key)
            raise
        http_status = getattr(result, "status_code", None)
        if isinstance(http_status, int) and http_status >= 400:
            code, message = extract_error(to_payload(result), http_status)
            service._record_failure(
                log, log_values, _CallFailed(code, message, http_status), custom_api_key
            )
            return result
        service._record_success(
            log,
            log_values,
            result,
            http_status=http_status if isinstance(http_status, int) else 200,
        )
        return result

    def stream_openai_api_call(
        self,
        endpoint,
        data,
        *,
        request_type="other",
        location_id=None,
        message_id=None,
        contact_id=None,
        conversation_id=None,
        custom_api_key=None,
        metadata=None,
        partner_id=None,
    ):
        """Send a streaming request (chat completions or Responses API) and
        return an iterator over its parsed events as they arrive.

        ``stream_options.include_usage`` is set for chat completions so the
        last chunk carries usage. The log records the time to the first
        event and the usage at the end; a stream that is abandoned or cut
        is logged as failed with error code ``interrupted``."""
        service = self._get_service()
        if not isinstance(data, dict):
            raise UserError(
                self.env._("A streaming call needs a JSON object as its body.")
            )
        body = dict(data, stream=True)
        endpoint, method, body = service._validate_request(endpoint, "POST", body)
        if endpoint.startswith("chat/completions"):
            body["stream_options"] = dict(
                body.get("stream_options") or {}, include_usage=True
            )
        log_values = service._log_values(
            request_type=request_type,
            endpoint=endpoint,
            model=body.get("model"),
            location_id=location_id,
            message_id=message_id,
            contact_id=contact_id,
            conversation_id=conversation_id,
            partner_id=partner_id,
            metadata=metadata,
            is_stream=True,
        )
        log = service._open_log(log_values, body)
        api_key = custom_api_key or service.sudo().api_key
        try:
            response, retry_count = service._send(
                method, endpoint, body, api_key, stream=True
            )
            if response.status_code >= 400:
                service._read_json(response, retry_count)  # raises with the error body
        except _CallFailed as failure:
            service._record_failure(log, log_values, failure, custom_api_key)
            raise service._call_error(endpoint, failure, api_key) from None
        return service._iter_stream(
            response, log, log_values, retry_count, custom_api_key
        )

    def generate_summary(
        self,
        message_id,
        contact_id,
        transcript,
        custom_prompt=None,
        custom_api_key=None,
        location_id=None,
    ):
        """Summarise a call transcript; return the summary text."""
        if not transcript or not str(transcript).strip():
            raise UserError(self.env._("There is no transcript to summarise."))
        return self._chat_answer(
            [
                {"role": "system", "content": custom_prompt or SUMMARY_PROMPT},
                {"role": "user", "content": str(transcript)},
            ],
            request_type="call_summary",
            message_id=message_id,
            contact_id=contact_id,
            location_id=location_id,
            custom_api_key=custom_api_key,
        )

    def analyze_image(
        self,
        prompt,
        image_url=None,
        image_base64=None,
        image_mime="image/png",
        pdf_base64=None,
        pdf_page=1,
        **attribution,
    ):
        """Ask the default model about one image (a URL or base64 data) or
        one page of a PDF (base64); return the answer text. Logged with
        request type vision_analysis; ``attribution``: the keywords of
        make_openai_api_call (message_id, contact_id, location_id...)."""
        if not prompt or not str(prompt).strip():
            raise UserError(self.env._("A prompt is needed to analyse an image."))
        sources = [bool(image_url), bool(image_base64), bool(pdf_base64)]
        if sum(sources) != 1:
            raise UserError(
                self.env._("Give exactly one of an image URL, an image or a PDF.")
            )
        if image_url:
            if not re.match(r"^(https?://|data:image/)", image_url):
                raise UserError(
                    self.env._("The image URL must be http(s) or a data URL.")
                )
            attachment = {"type": "image_url", "image_url": {"url": image_url}}
        elif image_base64:
            if not re.match(r"^image/[a-z0-9.+-]+$", image_mime or ""):
                raise UserError(self.env._("Unsupported image type %r.", image_mime))
            data_url = (
                f"data:{image_mime};base64,{_checked_base64(self.env, image_base64)}"
            )
            attachment = {"type": "image_url", "image_url": {"url": data_url}}
        else:
            page = _pdf_page(self.env, _checked_base64(self.env, pdf_base64), pdf_page)
            attachment = {
                "type": "file",
                "file": {
                    "filename": f"page-{pdf_page}.pdf",
                    "file_data": f"data:application/pdf;base64,{page}",
                },
            }
        return self._chat_answer(
            [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": str(prompt)}, attachment],
                }
            ],
            request_type="vision_analysis",
            **attribution,
        )

    def _chat_answer(self, messages, **call_options):
        """Send ``messages`` to the default model; return the answer text."""
        service = self._get_service()
        payload = service.make_openai_api_call(
            "chat/completions",
            data={"model": service.default_model, "messages": messages},
            **call_options,
        )
        return _answer_text(payload)

    def openai_client(self, request_type="other", custom_api_key=None, **attribution):
        """An ``openai.OpenAI`` client for this service whose every request
        (chat, responses, embeddings, streams...) is logged like the calls
        of make_openai_api_call: one log per HTTP attempt, the SDK retrying
        up to the service's max retries. ``attribution``: location_id,
        message_id, contact_id, conversation_id, partner_id, metadata."""
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
        log_values = service._log_values(request_type=request_type, **attribution)
        transport_class = make_transport_class(httpx)
        base_path = urlsplit(service.api_base_url).path.rstrip("/")

        def start_call(path, body):
            endpoint = (
                path[len(base_path) :].strip("/")
                if path.startswith(base_path)
                else path
            )
            values = dict(
                log_values, endpoint=endpoint, model=(body or {}).get("model")
            )
            values["is_stream"] = bool((body or {}).get("stream"))
            return values, service._open_log(values, body)

        def finish_call(handle, status, content_type, raw, error):
            service._finish_sdk_call(
                *handle, status, content_type, raw, error, custom_api_key
            )

        transport = transport_class(httpx.HTTPTransport(), start_call, finish_call)
        return openai.OpenAI(
            api_key=custom_api_key or service.sudo().api_key or "missing-key",
            base_url=service.api_base_url,
            max_retries=service.max_retries,
            timeout=service.timeout,
            http_client=httpx.Client(transport=transport, timeout=service.timeout),
        )

    def _finish_sdk_call(
        self, log_values, log, status, content_type, raw, error, custom_api_key
    ):
        if error is not None:
            code, _retryable = self._classify_exception(error)
            if code == "request_error":
                code = type(error).__name__
            failure = _CallFailed(code, f"{type(error).__name__}: {error}")
            self._record_failure(log, log_values, failure, custom_api_key)
            return
        if "text/event-stream" in content_type:
            events = sse_payloads(raw)
            done = "[DONE]" in events or any(
                isinstance(event, dict) and event.get("type") == "response.completed"
                for event in events
            )
            dicts = [event for event in events if isinstance(event, dict)]
            with_usage = [
                event for event in dicts if event.get("usage") or "response" in event
            ]
            final = with_usage[-1] if with_usage else (dicts[-1] if dicts else {})
            if status < 400 and done:
                self._record_success(log, log_values, final, http_status=status)
            else:
                failure = _CallFailed(
                    "interrupted",
                    "The stream was closed before its end.",
                    http_status=status,
                )
                self._record_failure(
                    log, log_values, failure, custom_api_key, usage=_valid_usage(final)
                )
            return
        try:
            payload = json.loads(raw or b"null")
        except ValueError:
            payload = None
        if status >= 400:
            code, message = extract_error(payload, status)
            failure = _CallFailed(code, message or f"HTTP {status}", http_status=status)
            self._record_failure(log, log_values, failure, custom_api_key)
        elif not isinstance(payload, dict):
            failure = _CallFailed(
                "invalid_json", "The API answered with a body that is not JSON."
            )
            self._record_failure(log, log_values, failure, custom_api_key)
        else:
            self._record_success(
                log,
                log_values,
                payload,
                http_status=status,
                expect_usage=log_values["model"] is not None,
            )

    def action_test_connection(self):
        """Check the key and the URL by listing the models."""
        self.ensure_one()
        try:
            payload = self.make_openai_api_call(
                "models", method="GET", request_type="test_connection"
            )
        except UserError as error:
            return self._notify(self.env._("Connection failed"), str(error), "danger")
        models_found = len(payload.get("data") or [])
        return self._notify(
            self.env._("Connection successful"),
            self.env._(
                "%(name)s answered: %(count)s models available.",
                name=self.name,
                count=models_found,
            ),
            "success",
        )

    def action_view_logs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "ai_usage_log.action_ai_usage_log"
        )
        action["domain"] = [("service_id", "=", self.id)]
        action["context"] = {"default_service_id": self.id}
        if self.env.context.get("only_failed"):
            action["context"]["search_default_filter_failed"] = 1
        return action

    def _notify(self, title, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": kind,
                "sticky": kind == "danger",
            },
        }

    # ------------------------------------------------------------------
    # Plumbing
    # ------------------------------------------------------------------
    def _validate_request(self, endpoint, method, data):
        """Return (endpoint, method, body) checked and normalised; raise
        UserError naming what is wrong."""
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
        if endpoint.split("/")[0] not in KNOWN_ENDPOINT_ROOTS:
            raise UserError(self.env._("Unknown OpenAI endpoint %r.", endpoint))
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
            body = body or {}
            if endpoint.split("/")[0] in (
                "chat",
                "responses",
                "embeddings",
                "completions",
                "moderations",
            ):
                body.setdefault("model", self.default_model)
        if body is not None:
            try:
                json.dumps(body)
            except (TypeError, ValueError) as error:
                raise UserError(
                    self.env._("The request body cannot be sent as JSON: %s", error)
                ) from None
        return endpoint, method, body

    def _log_values(self, **values):
        """Check what a caller gave for the log; raise UserError on bad input
        before anything is sent."""
        log_model = self.env["ai.usage.log"]
        log_model._check_request_type(values.get("request_type"))
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

    def _call_error(self, endpoint, failure, api_key):
        return AiCallError(
            self.env._(
                "The OpenAI call to %(endpoint)s failed (%(code)s): %(message)s",
                endpoint=endpoint,
                code=failure.error_code,
                message=redact_secrets(failure.message, [self.sudo().api_key, api_key]),
            )
        )

    def _open_log(self, log_values, body=None):
        """Write-ahead: the log exists before the request leaves, and the
        rate limit and hard budgets are enforced (AiCallRefused). If writing
        the log fails, the call still goes out; the end of the call retries."""
        limits = self._call_limits(log_values, body)
        try:
            return self.env["ai.usage.log"].create_usage_log(
                service=self, limits=limits, **log_values
            )
        except UserError:
            raise
        except Exception:
            _logger.exception(
                "ai_usage_log: could not record the start of a call to %s",
                log_values.get("endpoint"),
            )
            return None

    def _call_limits(self, log_values, body):
        """What create_usage_log must enforce for this call, or None when no
        rate limit and no hard budget applies (the usual, fast case)."""
        self.ensure_one()
        company_id = self.company_id.id
        budget_ids = self.env["ai.usage.budget"]._applicable_hard_budgets(
            company_id, self.id, self.env.uid
        )
        if not budget_ids and not self.rate_limit_per_minute:
            return None
        reserved_cost, reserved_tokens = self._reservation(
            log_values.get("model"), body
        )
        return {
            "rate_limit": self.rate_limit_per_minute,
            "budget_ids": budget_ids,
            "reserved_cost": reserved_cost,
            "reserved_tokens": reserved_tokens,
        }

    def _reservation(self, model_name, body):
        """(cost in company currency, tokens) a call may use: its prompt
        (about 4 characters a token) and its output cap (max tokens, or
        DEFAULT_RESERVED_OUTPUT_TOKENS), at the model's price."""
        body = body or {}
        prompt = {
            key: value
            for key, value in body.items()
            if key in ("messages", "input", "prompt")
        }
        input_tokens = len(json.dumps(prompt)) // 4 if prompt else 0
        output_tokens = (
            body.get("max_completion_tokens")
            or body.get("max_output_tokens")
            or body.get("max_tokens")
            or DEFAULT_RESERVED_OUTPUT_TOKENS
        )
        usage = {"input_tokens": input_tokens, "output_tokens": output_tokens}
        logs = self.env["ai.usage.log"]
        facts = {
            "request_time": fields.Datetime.now(),
            "service_id": self.id,
            "company_id": self.company_id.id,
            "company_currency_id": self.company_id.currency_id.id,
        }
        cost = logs._cost_vals(usage, model_name, facts).get("cost_company", 0.0)
        return cost, input_tokens + output_tokens

    def _finish_log(self, log, log_values, finish):
        """Run ``finish(log)``; if the call's start was never recorded (or
        was lost), record the whole call now."""
        if log:
            try:
                return finish(log)
            except MissingError:
                _logger.warning(
                    "ai_usage_log: the start of a call to %s was lost; recording it",
                    log_values.get("endpoint"),
                )
        return finish(
            self.env["ai.usage.log"].create_usage_log(service=self, **log_values)
        )

    def _record_success(self, log, log_values, result, **extra):
        try:
            self._finish_log(
                log, log_values, lambda log: log.update_success(result, **extra)
            )
        except Exception:
            _logger.exception(
                "ai_usage_log: a successful call could not be recorded; "
                "service %s, endpoint %s, model %s, usage %s",
                self.id,
                log_values.get("endpoint"),
                log_values.get("model"),
                _valid_usage(to_payload(result)),
            )

    def _record_failure(
        self, log, log_values, failure, custom_api_key=None, usage=None, **extra
    ):
        message = redact_secrets(failure.message, [self.sudo().api_key, custom_api_key])
        extra.update(http_status=failure.http_status, retry_count=failure.retry_count)
        if usage is not None:
            extra["usage"] = usage
        try:
            self._finish_log(
                log,
                log_values,
                lambda log: log.update_failure(message, failure.error_code, **extra),
            )
        except Exception:
            _logger.exception(
                "ai_usage_log: a failed call could not be recorded; "
                "service %s, endpoint %s, error %s: %s",
                self.id,
                log_values.get("endpoint"),
                failure.error_code,
                message,
            )
        _logger.warning(
            "ai_usage_log: call to %s failed (%s): %s",
            log_values.get("endpoint"),
            failure.error_code,
            message,
        )

    def _send(self, method, endpoint, body, api_key, stream=False):
        """Send with retries; return (response, retry_count) or raise
        _CallFailed. The whole call, retries included, fits in the timeout."""
        self.ensure_one()
        url = f"{self.api_base_url.rstrip('/')}/{endpoint}"
        headers = {
            "Authorization": f"Bearer {api_key or ''}",
            "Accept": "application/json",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        payload = json.dumps(body) if body is not None else None
        deadline = time.monotonic() + self.timeout
        retry_count = 0
        while True:
            remaining = max(deadline - time.monotonic(), 0.001)
            retry_after = None
            try:
                response = requests.request(
                    method,
                    url,
                    headers=headers,
                    data=payload,
                    timeout=remaining,
                    stream=stream,
                )
            except requests.exceptions.RequestException as error:
                code, retryable = self._classify_exception(error)
                if not retryable or not self._may_retry(retry_count, deadline, None):
                    raise _CallFailed(
                        code, self._exception_message(error), retry_count=retry_count
                    ) from None
            else:
                if response.status_code not in RETRYABLE_STATUSES:
                    return response, retry_count
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if not self._may_retry(retry_count, deadline, retry_after):
                    return response, retry_count
                response.close()
            delay = backoff_delay(
                retry_count, RETRY_BACKOFF_BASE, RETRY_BACKOFF_CAP, retry_after
            )
            time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            retry_count += 1

    def _may_retry(self, retry_count, deadline, retry_after):
        if retry_count >= self.max_retries:
            return False
        return time.monotonic() + (retry_after or 0) < deadline

    @staticmethod
    def _classify_exception(error):
        """(error_code, retryable). A read timeout is not retried: OpenAI may
        have done, and billed, the work already."""
        exceptions = requests.exceptions
        if isinstance(error, exceptions.SSLError):
            return "ssl_error", False
        if isinstance(error, exceptions.ConnectTimeout):
            return "connect_timeout", True
        if isinstance(error, exceptions.Timeout):
            return "timeout", False
        if isinstance(error, exceptions.ConnectionError):
            return "connection_error", True
        return "request_error", False

    @staticmethod
    def _exception_message(error):
        kind = type(error).__name__
        if isinstance(error, requests.exceptions.Timeout):
            return f"{kind}: OpenAI did not answer in time."
        if isinstance(error, requests.exceptions.SSLError):
            return f"{kind}: the TLS connection to the API failed."
        if isinstance(error, requests.exceptions.ConnectionError):
            return f"{kind}: could not connect to the API ({error})."
        return f"{kind}: {error}"

    def _read_json(self, response, retry_count):
        """The JSON body of a final response, or _CallFailed."""
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if status >= 400:
            code, message = extract_error(payload, status)
            if not message:
                message = f"HTTP {status}: {response.text[:300]}"
            raise _CallFailed(
                code, message, http_status=status, retry_count=retry_count
            )
        if not isinstance(payload, dict):
            raise _CallFailed(
                "invalid_json",
                f"The API answered HTTP {status} with a body that is not a JSON "
                f"object: {response.text[:200]!r}",
                http_status=status,
                retry_count=retry_count,
            )
        return payload

    def _iter_stream(self, response, log, log_values, retry_count, custom_api_key):
        started = time.monotonic()
        first_event_ms = None
        usage_source = None
        last_event = None
        completed = False
        failure = None
        chat_facts = {}
        try:
            for data in _server_sent_events(response):
                if data == "[DONE]":
                    completed = True
                    break
                event = json.loads(data)
                if first_event_ms is None:
                    first_event_ms = int((time.monotonic() - started) * 1000)
                last_event = event
                if event.get("usage") or isinstance(event.get("response"), dict):
                    usage_source = event
                if event.get("type") in (
                    "response.completed",
                    "response.incomplete",
                    "response.failed",
                ):
                    completed = True
                for choice in event.get("choices") or ():
                    content = (choice.get("delta") or {}).get("content")
                    chat_facts["response_length"] = chat_facts.get(
                        "response_length", 0
                    ) + len(content or "")
                    if choice.get("finish_reason"):
                        chat_facts["finish_reason"] = choice["finish_reason"]
                yield event
        except requests.exceptions.RequestException as error:
            failure = _CallFailed(
                "interrupted", f"The stream was cut: {self._exception_message(error)}"
            )
        except ValueError as error:
            failure = _CallFailed(
                "invalid_json", f"The stream sent an event that is not JSON: {error}"
            )
        finally:
            response.close()
            timing = {
                "retry_count": retry_count,
                "time_to_first_token_ms": first_event_ms,
            }
            if completed and failure is None:
                self._record_success(
                    log,
                    log_values,
                    usage_source or last_event or {},
                    http_status=response.status_code,
                    **timing,
                    **chat_facts,
                )
            else:
                failure = failure or _CallFailed(
                    "interrupted", "The stream was abandoned before its end."
                )
                failure.http_status, failure.retry_count = (
                    response.status_code,
                    retry_count,
                )
                self._record_failure(
                    log,
                    log_values,
                    failure,
                    custom_api_key,
                    usage=_valid_usage(usage_source),
                    time_to_first_token_ms=first_event_ms,
                )
        if failure is not None:
            raise self._call_error(log_values.get("endpoint"), failure, custom_api_key)


def _checked_base64(env, data):
    """``data`` as clean base64 text, at most MAX_ATTACHMENT_BYTES once decoded."""
    if not isinstance(data, str):
        raise UserError(env._("Base64 data must be text."))
    data = re.sub(
        r"\s+", "", data.split(",", 1)[1] if data.startswith("data:") else data
    )
    if len(data) * 3 // 4 > MAX_ATTACHMENT_BYTES:
        raise UserError(
            env._(
                "The file is larger than %s MB.", MAX_ATTACHMENT_BYTES // (1024 * 1024)
            )
        )
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise UserError(env._("The file is not valid base64.")) from None
    return data


def _pdf_page(env, pdf_base64, page_number):
    """One page of a PDF, as a base64 single-page PDF."""
    try:
        reader = PdfReader(io.BytesIO(base64.b64decode(pdf_base64)), strict=False)
        page_count = len(reader.pages)
    except Exception:  # noqa: BLE001 - any parse error means the same to the caller
        raise UserError(env._("The PDF cannot be read.")) from None
    if not isinstance(page_number, int) or not 1 <= page_number <= page_count:
        raise UserError(
            env._(
                "The PDF has no page %(page)s (it has %(count)s).",
                page=page_number,
                count=page_count,
            )
        )
    writer = PdfWriter()
    writer.add_page(reader.pages[page_number - 1])
    output = io.BytesIO()
    writer.write(output)
    return base64.b64encode(output.getvalue()).decode()


def _answer_text(payload):
    """The text of the first choice of a chat completion."""
    choices = payload.get("choices") or [{}]
    return ((choices[0].get("message") or {}).get("content") or "").strip()


def _valid_usage(payload):
    """The usage of ``payload``, or None when absent or not believable."""
    try:
        return extract_usage(payload)
    except UsageError:
        return None


def _server_sent_events(response):
    """The ``data:`` payloads of a server-sent event stream."""
    buffer = []
    for line in response.iter_lines(decode_unicode=True):
        if line is None:
            continue
        if not line:
            if buffer:
                yield "\n".join(buffer)
                buffer = []
            continue
        if line.startswith("data:"):
            buffer.append(line[5:].lstrip())
    if buffer:
        yield "\n".join(buffer)
