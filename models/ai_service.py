import json
import logging
import re
from urllib.parse import urlsplit

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..compat import Constraint, set_up_groups, table_constraints
from ..recorder import CallRecorder, ReplayGuard, SdkCall, relay_stream
from ..tools.http_client import ApiClient, CallFailed, error_response_failure
from ..tools.openai_usage import to_payload
from ..tools.tracked_transport import make_transport_class

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
# Endpoints whose body names the model; the service's default fills it in.
MODEL_ENDPOINT_ROOTS = ("chat", "responses", "embeddings", "completions", "moderations")
# Endpoints that answer with bytes (audio, a file's content): not for JSON calls.
BINARY_ENDPOINT = re.compile(r"^(audio/speech|files/[^/]+/content)$")
ENDPOINT_PATTERN = re.compile(r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-\.]+)*$")
HTTP_METHODS = ("GET", "POST", "DELETE")


@table_constraints
class AiService(models.Model):
    _name = "ai.service"
    _description = "AI Service"
    _inherit = ["mail.thread", "ai.service.helpers"]
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

    _timeout_positive = Constraint(
        "CHECK(timeout > 0)",
        "The timeout must be positive.",
    )
    _max_retries_range = Constraint(
        "CHECK(max_retries >= 0 AND max_retries <= 10)",
        "Max retries must be 0 to 10.",
    )

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
        """From the logs the reader may see (ai.usage.report), so exact
        whatever runs concurrently, and fast with millions of logs."""
        counters = self.env["ai.usage.report"]._service_counters(self.ids)
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
        recorder = service._recorder(
            custom_api_key,
            body,
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
        guard = ReplayGuard.of(self.env.cr)
        replay_key = guard.key(service.id, method, endpoint, body)
        if replay_key in guard.answers:
            _logger.info(
                "ai_usage_log: replayed transaction reuses the answer of %s %s",
                method,
                endpoint,
            )
            return guard.answers[replay_key]
        recorder.open()
        try:
            payload, status, retry_count = service._api_client(
                custom_api_key
            ).request_json(method, endpoint, body)
        except CallFailed as failure:
            recorder.fail(failure)
            raise recorder.error(failure) from None
        except Exception as error:
            recorder.fail(CallFailed("unexpected_error", repr(error)))
            raise
        recorder.succeed(
            payload,
            http_status=status,
            retry_count=retry_count,
            expect_usage=method == "POST",
        )
        guard.answers[replay_key] = payload
        return payload

    @api.private
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
        openai SDK object. When it raises, log the failure and re-raise.

        Not covered by the replay guard: the callable is opaque, so two calls
        cannot be told to ask the same thing (see README)."""
        service = self._get_service()
        recorder = service._recorder(
            custom_api_key,
            None,
            request_type=request_type,
            endpoint=endpoint,
            model=model,
            location_id=location_id,
            message_id=message_id,
            contact_id=contact_id,
            conversation_id=conversation_id,
            partner_id=partner_id,
            metadata=metadata,
        ).open()
        try:
            result = api_call()
        except Exception as error:
            status = getattr(error, "status_code", None) or getattr(
                getattr(error, "response", None), "status_code", None
            )
            recorder.fail(
                CallFailed(
                    getattr(error, "code", None) or type(error).__name__,
                    str(error) or type(error).__name__,
                    http_status=status if isinstance(status, int) else None,
                )
            )
            raise
        status = getattr(result, "status_code", None)
        status = status if isinstance(status, int) else 200
        if status >= 400:
            recorder.fail(error_response_failure(status, to_payload(result), ""))
        else:
            recorder.succeed(result, http_status=status)
        return result

    @api.private
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
        event, and the outcome of tools.streams: a stream that fails, is cut
        or is left by the caller is logged as failed, with its usage."""
        service = self._get_service()
        if not isinstance(data, dict):
            raise UserError(
                self.env._("A streaming call needs a JSON object as its body.")
            )
        endpoint, method, body = service._validate_request(
            endpoint, "POST", dict(data, stream=True)
        )
        if endpoint.startswith("chat/completions"):
            body["stream_options"] = dict(
                body.get("stream_options") or {}, include_usage=True
            )
        recorder = service._recorder(
            custom_api_key,
            body,
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
        guard = ReplayGuard.of(self.env.cr)
        replay_key = guard.key(service.id, method, endpoint, body)
        if replay_key in guard.answers:
            return iter(guard.answers[replay_key])
        recorder.open()
        try:
            response, retry_count = service._api_client(custom_api_key).open_stream(
                endpoint, body
            )
        except CallFailed as failure:
            recorder.fail(failure)
            raise recorder.error(failure) from None
        return relay_stream(response, retry_count, recorder, guard, replay_key)

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
        log_values = service._log_values(request_type=request_type, **attribution)
        base_path = urlsplit(service.api_base_url).path.rstrip("/")

        def open_call(method, path, body):
            endpoint = path.removeprefix(base_path)
            return SdkCall(
                service, log_values, method, endpoint.strip("/"), body, custom_api_key
            )

        transport = make_transport_class(httpx)(httpx.HTTPTransport(), open_call)
        return openai.OpenAI(
            api_key=custom_api_key or service.sudo().api_key or "missing-key",
            base_url=service.api_base_url,
            max_retries=service.max_retries,
            timeout=service.timeout,
            http_client=httpx.Client(transport=transport, timeout=service.timeout),
        )

    @api.model
    def _set_up_security_groups(self):
        """Called by the add-on's data at install and update."""
        set_up_groups(
            self.env,
            "ai_usage_log.module_category_ai_usage",
            ["ai_usage_log.group_ai_usage_user", "ai_usage_log.group_ai_usage_admin"],
            "ai_usage_log.group_ai_usage_admin",
            ["ai_usage_log.action_server_recompute_cost"],
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
    def _api_client(self, custom_api_key=None):
        self.ensure_one()
        return ApiClient(
            self.api_base_url,
            custom_api_key or self.sudo().api_key,
            self.timeout,
            self.max_retries,
        )

    def _recorder(self, custom_api_key, body, **log_values):
        """The recorder of a call, its log values checked (UserError before
        anything is sent or recorded)."""
        self.ensure_one()
        return CallRecorder(self, self._log_values(**log_values), body, custom_api_key)

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
            body = body or {}
            if endpoint.split("/")[0] in MODEL_ENDPOINT_ROOTS:
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
