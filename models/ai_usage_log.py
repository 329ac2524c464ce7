import json
import logging
import random
from datetime import timedelta
from odoo import api, fields, models
from odoo.exceptions import UserError

from ..tools.openai_usage import (
    USAGE_FIELDS,
    UsageError,
    compute_cost,
    extract_response_info,
    extract_usage,
    redact_secrets,
    to_payload,
)

_logger = logging.getLogger(__name__)

REQUEST_TYPES = [
    ("call_summary", "Call Summary"),
    ("transcript_analysis", "Transcript Analysis"),
    ("contact_analysis", "Contact Analysis"),
    ("custom_prompt", "Custom Prompt"),
    ("test_connection", "Test Connection"),
    ("vision_analysis", "Vision Analysis"),
    ("other", "Other"),
]
STATUSES = [
    ("pending", "Pending"),
    ("processing", "Processing"),
    ("success", "Success"),
    ("failed", "Failed"),
]
# Attribution that a caller did not give is recorded as this, never dropped.
UNKNOWN_ATTRIBUTION = "unknown"
ATTRIBUTION_FIELDS = ("location_id", "message_id", "contact_id", "conversation_id")
# Added to a service's timeout before a call still "processing" is declared lost.
INTERRUPTED_MARGIN_SECONDS = 300
COST_DIGITS = (20, 10)


class AiUsageLog(models.Model):
    _name = "ai.usage.log"
    _description = "AI Usage Log"
    _order = "request_time desc, id desc"

    service_id = fields.Many2one("ai.service", required=True, ondelete="restrict", index=True)
    request_type = fields.Selection(REQUEST_TYPES, required=True, default="other", index=True)
    status = fields.Selection(STATUSES, required=True, default="pending", index=True)
    endpoint = fields.Char()
    model = fields.Char("Requested Model", index=True)
    response_model = fields.Char(help="The model the response names, e.g. a dated snapshot.")
    usage_state = fields.Selection(
        [("reported", "Reported"), ("partial", "Partial"), ("missing", "Unknown")],
        "Usage",
        help="Unknown: the response carried no usage; token counts and cost are not zeros but unknown.",
    )
    input_tokens = fields.Integer()
    cached_input_tokens = fields.Integer("Cached Input Tokens")
    output_tokens = fields.Integer()
    reasoning_tokens = fields.Integer()
    total_tokens = fields.Integer()

    cost = fields.Float(digits=COST_DIGITS, help="Cost in the currency of the price used.")
    currency_id = fields.Many2one("res.currency", "Price Currency")
    cost_company = fields.Float(
        "Cost (Company Currency)",
        digits=COST_DIGITS,
        help="Cost converted to the company currency at the request date.",
    )
    company_currency_id = fields.Many2one(related="company_id.currency_id", string="Company Currency")
    price_id = fields.Many2one("ai.model.price", "Price Used", ondelete="set null")
    price_input = fields.Float("Input Price / 1M", digits=(16, 6))
    price_cached_input = fields.Float("Cached Input Price / 1M", digits=(16, 6))
    price_output = fields.Float("Output Price / 1M", digits=(16, 6))
    price_reasoning = fields.Float("Reasoning Price / 1M", digits=(16, 6))
    price_missing = fields.Boolean(index=True, help="No price was found for this model at the request date.")

    request_time = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    response_time = fields.Datetime()
    duration_ms = fields.Integer("Duration (ms)", aggregator="avg")
    time_to_first_token_ms = fields.Integer("Time to First Token (ms)", aggregator="avg")
    is_stream = fields.Boolean("Streamed")
    retry_count = fields.Integer(help="Attempts made after the first one (429 and 5xx are retried).")
    http_status = fields.Integer("HTTP Status", aggregator=False)
    error_code = fields.Char(index=True)
    error_message = fields.Text()
    response_id = fields.Char(index=True)
    system_fingerprint = fields.Char()
    finish_reason = fields.Char()
    response_length = fields.Integer(help="Characters of generated text.")

    location_id = fields.Char("Location", index=True, default=UNKNOWN_ATTRIBUTION)
    message_id = fields.Char("Message", index=True, default=UNKNOWN_ATTRIBUTION)
    contact_id = fields.Char("Contact Ref", index=True, default=UNKNOWN_ATTRIBUTION)
    conversation_id = fields.Char("Conversation", index=True, default=UNKNOWN_ATTRIBUTION)
    user_id = fields.Many2one("res.users", "User", default=lambda self: self.env.uid, index=True)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)
    partner_id = fields.Many2one("res.partner", "Contact", index=True)
    metadata = fields.Json(help="Extra billing dimensions given by the caller.")
    metadata_text = fields.Text("Metadata (formatted)", compute="_compute_metadata_text")

    @api.depends("service_id", "model", "request_time")
    def _compute_display_name(self):
        for log in self:
            log.display_name = f"{log.service_id.name or ''} / {log.model or '?'} / {log.request_time or ''}"

    @api.depends("metadata")
    def _compute_metadata_text(self):
        for log in self:
            log.metadata_text = json.dumps(log.metadata, indent=2, sort_keys=True) if log.metadata else False

    # ------------------------------------------------------------------
    # Writing logs: always in a transaction of their own, committed at once,
    # so that a log outlives whatever happens to the caller's transaction.
    # ------------------------------------------------------------------
    def _in_own_transaction(self, operation):
        """Run ``operation(log_model)`` in a new cursor that is committed on
        return; ``log_model`` is a superuser ai.usage.log in that cursor."""
        with self.env.registry.cursor() as cr:
            env = api.Environment(cr, self.env.uid, self.env.context, su=True)
            result = operation(env["ai.usage.log"])
        # The caller's cache predates the new rows (visible to it in test mode).
        self.env["ai.usage.log"].invalidate_model()
        self.env["ai.service"].invalidate_model(["usage_count", "error_count", "last_used", "total_tokens", "total_cost"])
        return result

    @api.model
    def _check_request_type(self, request_type):
        request_type = request_type or "other"
        if request_type not in dict(REQUEST_TYPES):
            raise UserError(
                self.env._(
                    "Unknown request type %(type)r. Use one of: %(types)s.",
                    type=request_type,
                    types=", ".join(dict(REQUEST_TYPES)),
                )
            )
        return request_type

    @api.model
    def _prepare_log_vals(self, service, **values):
        attribution = {}
        for name in ATTRIBUTION_FIELDS:
            value = values.pop(name, None)
            attribution[name] = str(value) if value not in (None, False, "") else UNKNOWN_ATTRIBUTION
        request_type = self._check_request_type(values.get("request_type"))
        vals = {
            "service_id": service.id,
            "company_id": service.company_id.id or self.env.company.id,
            "user_id": self.env.uid,
            "status": "processing",
            "request_time": fields.Datetime.now(),
            **attribution,
            **{k: v for k, v in values.items() if v is not None},
            "request_type": request_type,
        }
        return vals

    @api.model
    def create_usage_log(self, service=None, **values):
        """Record a call about to be made (status processing by default) in
        its own committed transaction and return it.

        Keywords: the log's fields (``request_type``, ``endpoint``, ``model``,
        ``location_id``, ``message_id``, ``contact_id``, ``conversation_id``,
        ``partner_id``, ``metadata``, ``status``...). Missing attribution is
        recorded as ``unknown``. Finish the log with update_success() or
        update_failure()."""
        service = service or self.env["ai.service"]._get_service()
        vals = self._prepare_log_vals(service, **values)
        log_id = self._in_own_transaction(lambda logs: logs.create(vals).id)
        return self.browse(log_id)

    def _usage_vals(self, usage, model_name, when=None):
        """Token and cost values for ``usage`` (a dict from extract_usage,
        or None when the response reported none)."""
        self.ensure_one()
        if usage is None:
            return {"usage_state": "missing"}
        vals = dict(usage, usage_state="reported")
        vals.update(self._cost_vals(usage, model_name, when or self.request_time))
        return vals

    def _cost_vals(self, usage, model_name, when):
        self.ensure_one()
        price = self.env["ai.model.price"]._find_price(model_name, self.service_id, when)
        if not price:
            return {"price_missing": True, "price_id": False}
        cost = compute_cost(usage, price._price_dict())
        company = self.company_id
        return {
            "price_missing": False,
            "price_id": price.id,
            "price_input": price.input_price,
            "price_cached_input": price.cached_input_price,
            "price_output": price.output_price,
            "price_reasoning": price.reasoning_price,
            "cost": cost,
            "currency_id": price.currency_id.id,
            "cost_company": price.currency_id._convert(
                cost, company.currency_id, company, fields.Date.to_date(when), round=False
            ),
        }

    def _finish_vals(self):
        self.ensure_one()
        now = fields.Datetime.now()
        duration = (now - self.request_time).total_seconds() * 1000 if self.request_time else 0
        return {"response_time": now, "duration_ms": max(int(duration), 0)}

    def update_success(self, result, expect_usage=True, **extra):
        """Finish the log from an OpenAI result (a dict, a requests.Response
        or an openai SDK object): usage, cost, response facts.

        A result without usage is recorded with usage unknown and error
        code ``usage_missing`` (unless ``expect_usage`` is False, for calls
        that bill no tokens such as listing models); impossible token counts
        with ``usage_invalid``. Extra keywords are written as field values."""
        self.ensure_one()
        payload = to_payload(result)
        log_id = self.id
        self._in_own_transaction(lambda logs: logs.browse(log_id)._apply_success(payload, expect_usage, extra))
        return self

    def update_failure(self, error_message, error_code=None, **extra):
        """Finish the log as failed. The message is stored with any API key
        redacted. Extra keywords are written as field values (``http_status``,
        ``retry_count``...); a ``usage`` dict records partial usage."""
        self.ensure_one()
        log_id = self.id
        self._in_own_transaction(
            lambda logs: logs.browse(log_id)._apply_failure(error_message, error_code, extra)
        )
        return self

    # The log is read and written in its own transaction: the caller's
    # snapshot (REPEATABLE READ) may predate the log's creation.
    def _apply_success(self, payload, expect_usage, extra):
        vals = self._finish_vals()
        vals.update(status="success", **extract_response_info(payload))
        model_name = vals.get("response_model") or self.model
        if not self.model and model_name:
            vals["model"] = model_name
        try:
            usage = extract_usage(payload)
        except UsageError as error:
            usage = None
            vals.update(error_code="usage_invalid", error_message=str(error))
        else:
            if usage is None and expect_usage:
                vals.update(error_code="usage_missing", error_message="The response reported no token usage.")
        if usage is not None or expect_usage:
            vals.update(self._usage_vals(usage, model_name))
        vals.update(extra)
        self.write(vals)

    def _apply_failure(self, error_message, error_code, extra):
        extra = dict(extra)
        usage = extra.pop("usage", None)
        vals = self._finish_vals()
        vals.update(
            status="failed",
            error_code=error_code or "error",
            error_message=redact_secrets(error_message, self._secrets()),
        )
        if usage is not None:
            vals.update(self._usage_vals(usage, extra.get("response_model") or self.model))
            vals["usage_state"] = "partial"
        else:
            vals["usage_state"] = "missing"
        vals.update(extra)
        self.write(vals)

    def _secrets(self):
        return self.service_id.sudo().mapped("api_key")

    # ------------------------------------------------------------------
    # Actions and scheduled actions
    # ------------------------------------------------------------------
    def action_recompute_cost(self):
        """Re-price the selected logs with the prices valid at their request
        time, e.g. after a missing price was added or a price corrected."""
        for log in self.filtered(lambda lg: lg.usage_state in ("reported", "partial")):
            usage = {name: log[name] for name in USAGE_FIELDS}
            vals = log._cost_vals(usage, log.response_model or log.model, log.request_time)
            log.write(vals)
            if vals["price_missing"]:
                log._clear_cost()
        return True

    def _clear_cost(self):
        # The ORM writes 0.0 for an empty Float; an unknown cost must stay NULL.
        self.flush_recordset()
        self.env.cr.execute(
            "UPDATE ai_usage_log SET cost = NULL, cost_company = NULL, currency_id = NULL WHERE id IN %s",
            [tuple(self.ids)],
        )
        self.invalidate_recordset(["cost", "cost_company", "currency_id"])

    @api.model
    def _cron_mark_interrupted(self):
        """Fail the calls that stayed in processing longer than their
        service's timeout plus a margin: their worker died mid-call."""
        self.env.cr.execute(
            """
            UPDATE ai_usage_log log
               SET status = 'failed',
                   error_code = 'interrupted',
                   error_message = 'The call never finished: the worker stopped or lost the connection.',
                   usage_state = COALESCE(log.usage_state, 'missing'),
                   write_date = now() AT TIME ZONE 'UTC'
              FROM ai_service service
             WHERE log.service_id = service.id
               AND log.status IN ('pending', 'processing')
               AND log.request_time < (now() AT TIME ZONE 'UTC')
                   - make_interval(secs => COALESCE(service.timeout, 0) + %s)
         RETURNING log.id
            """,
            [INTERRUPTED_MARGIN_SECONDS],
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        if ids:
            _logger.warning("ai_usage_log: %d call(s) marked as interrupted: %s", len(ids), ids)
            self.browse(ids).invalidate_recordset()
        return ids

    @api.model
    def _create_demo_logs(self, service_id, count=400, days=42):
        """Realistic logs over the last weeks, for the demo database."""
        rng = random.Random(18)
        service = self.env["ai.service"].browse(service_id)
        users = self.env.ref("base.user_admin") | self.env.ref("base.user_demo", raise_if_not_found=False)
        partners = self.env["res.partner"].search([("is_company", "=", False)], limit=10)
        models_by_type = {
            "call_summary": ["gpt-4o-mini-2024-07-18", "gpt-4.1-mini"],
            "transcript_analysis": ["gpt-4.1", "gpt-5-mini"],
            "contact_analysis": ["gpt-4o-mini", "o4-mini"],
            "custom_prompt": ["gpt-5", "gpt-4o"],
            "vision_analysis": ["gpt-4o"],
            "test_connection": [None],
            "other": ["text-embedding-3-small", "gpt-6-preview"],
        }
        weights = [30, 20, 15, 10, 10, 2, 13]
        now = fields.Datetime.now()
        for index in range(count):
            request_type = rng.choices(list(models_by_type), weights)[0]
            model_name = rng.choice(models_by_type[request_type])
            when = now - timedelta(days=rng.uniform(0, days))
            failed = rng.random() < 0.06
            log = self.create(
                {
                    "service_id": service.id,
                    "company_id": service.company_id.id,
                    "request_type": request_type,
                    "endpoint": "models" if request_type == "test_connection" else "chat/completions",
                    "model": model_name,
                    "request_time": when,
                    "user_id": rng.choice(users).id,
                    "partner_id": rng.choice(partners).id if partners and rng.random() < 0.6 else False,
                    "location_id": rng.choice(["loc-paris", "loc-lyon", "loc-brussels", "unknown"]),
                    "message_id": f"msg-{10000 + index}",
                    "contact_id": f"contact-{rng.randint(1, 60)}",
                    "conversation_id": f"conv-{rng.randint(1, 150)}",
                    "status": "failed" if failed else "success",
                    "response_time": when + timedelta(milliseconds=rng.randint(300, 9000)),
                }
            )
            log.duration_ms = int((log.response_time - when).total_seconds() * 1000)
            if failed:
                code, status = rng.choice([("rate_limit_exceeded", 429), ("server_error", 500), ("timeout", 0)])
                log.write({"error_code": code, "http_status": status, "error_message": "Demo failure", "usage_state": "missing"})
                continue
            if not model_name:
                log.write({"usage_state": "missing", "http_status": 200})
                continue
            input_tokens = rng.randint(200, 6000)
            output_tokens = 0 if model_name.startswith("text-embedding") else rng.randint(50, 1200)
            usage = {
                "input_tokens": input_tokens,
                "cached_input_tokens": rng.choice([0, 0, input_tokens // 2]),
                "output_tokens": output_tokens,
                "reasoning_tokens": output_tokens // 2 if model_name.startswith(("o4", "gpt-5")) else 0,
                "total_tokens": input_tokens + output_tokens,
            }
            vals = log._usage_vals(usage, model_name, when)
            vals.update(http_status=200, response_model=model_name, finish_reason="stop", response_id=f"chatcmpl-demo{index}")
            log.write(vals)
            if vals.get("price_missing"):
                log._clear_cost()
        return True
