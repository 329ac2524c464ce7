import json
import logging
import random
from datetime import datetime, timedelta

import pytz

from odoo import api, fields, models
from odoo.exceptions import MissingError, UserError
from odoo.tools import SQL

from ..tools import prometheus_text
from ..tools.openai_usage import (
    USAGE_FIELDS,
    UsageError,
    compute_cost,
    extract_response_info,
    extract_usage,
    redact_secrets,
    to_payload,
)
from .ai_usage_log_daily import DURATION_BUCKETS_MS

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
    ("blocked", "Blocked by Budget"),
    ("rate_limited", "Rate Limited"),
]
# Attribution that a caller did not give is recorded as this, never dropped.
UNKNOWN_ATTRIBUTION = "unknown"
ATTRIBUTION_FIELDS = ("location_id", "message_id", "contact_id", "conversation_id")
# Added to a service's timeout before a call still "processing" is declared lost.
INTERRUPTED_MARGIN_SECONDS = 300
COST_DIGITS = (16, 8)  # $0.00000001: far below what a Monetary field keeps
# GROUPING(model, request_type, status, currency_id) of the metrics' grouping sets
BY_REQUEST, BY_CURRENCY, BY_SERVICE = 0b0001, 0b0110, 0b1111
RATE_LIMIT_LOCK = 20251118  # namespace of the rate limit's advisory locks


class AiCallRefused(UserError):
    """A rate limit or a hard budget refused the call before it was sent."""


def _error_rate(status):
    return 100.0 if status == "failed" else 0.0


class AiUsageLog(models.Model):
    _name = "ai.usage.log"
    _description = "AI Usage Log"
    _order = "request_time desc, id desc"

    # Indexes: every one costs each of the two writes of every call, so only
    # what queries use: time (lists, periods, the live part of the summary),
    # service, user and company (counters, record rules), the message id
    # (integrations look a call up by it). Char ids are searched with ilike,
    # which a btree index does not serve.
    service_id = fields.Many2one(
        "ai.service", required=True, ondelete="restrict", index=True
    )
    request_type = fields.Selection(REQUEST_TYPES, required=True, default="other")
    status = fields.Selection(STATUSES, required=True, default="pending")
    error_rate = fields.Float(
        "Error Rate (%)",
        compute="_compute_error_rate",
        store=True,
        aggregator="avg",
        digits=(5, 2),
        help="100 for a failed call, 0 otherwise: its average is the error rate.",
    )
    endpoint = fields.Char()
    model = fields.Char("Requested Model")
    response_model = fields.Char(
        help="The model the response names, e.g. a dated snapshot."
    )
    usage_state = fields.Selection(
        [("reported", "Reported"), ("partial", "Partial"), ("missing", "Unknown")],
        "Usage",
        help="Unknown: the response carried no usage; token counts and cost are "
        "not zeros but unknown.",
    )
    input_tokens = fields.Integer()
    cached_input_tokens = fields.Integer()
    output_tokens = fields.Integer()
    reasoning_tokens = fields.Integer()
    total_tokens = fields.Integer()

    cost = fields.Float(
        digits=COST_DIGITS, help="Cost in the currency of the price used."
    )
    currency_id = fields.Many2one("res.currency", "Price Currency")
    cost_company = fields.Float(
        "Cost (Company Currency)",
        digits=COST_DIGITS,
        help="Cost converted to the company currency at the request date.",
    )
    company_currency_id = fields.Many2one(
        related="company_id.currency_id", string="Company Currency"
    )
    price_id = fields.Many2one("ai.model.price", "Price Used", ondelete="set null")
    price_input = fields.Float("Input Price / 1M", digits=(16, 6))
    price_cached_input = fields.Float("Cached Input Price / 1M", digits=(16, 6))
    price_output = fields.Float("Output Price / 1M", digits=(16, 6))
    price_reasoning = fields.Float("Reasoning Price / 1M", digits=(16, 6))
    reserved_cost = fields.Float(
        digits=COST_DIGITS,
        help="Cost set aside by a hard budget while the call runs (company currency).",
    )
    reserved_tokens = fields.Integer()
    price_missing = fields.Boolean(
        help="No price was found for this model at the request date."
    )

    request_time = fields.Datetime(
        required=True, default=fields.Datetime.now, index=True
    )
    response_time = fields.Datetime()
    duration_ms = fields.Integer("Duration (ms)", aggregator="avg")
    time_to_first_token_ms = fields.Integer(
        "Time to First Token (ms)", aggregator="avg"
    )
    is_stream = fields.Boolean("Streamed")
    retry_count = fields.Integer(
        help="Attempts made after the first one (429 and 5xx are retried)."
    )
    http_status = fields.Integer("HTTP Status", aggregator=False)
    error_code = fields.Char()
    error_message = fields.Text()
    response_id = fields.Char()
    system_fingerprint = fields.Char()
    finish_reason = fields.Char()
    response_length = fields.Integer(help="Characters of generated text.")

    location_id = fields.Char(default=UNKNOWN_ATTRIBUTION)
    message_id = fields.Char(index=True, default=UNKNOWN_ATTRIBUTION)
    contact_id = fields.Char("Contact Ref", default=UNKNOWN_ATTRIBUTION)
    conversation_id = fields.Char(default=UNKNOWN_ATTRIBUTION)
    user_id = fields.Many2one(
        "res.users", default=lambda self: self.env.uid, index=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    partner_id = fields.Many2one("res.partner", "Contact", index="btree_not_null")
    metadata = fields.Json(help="Extra billing dimensions given by the caller.")
    metadata_text = fields.Text(
        "Metadata (formatted)", compute="_compute_metadata_text"
    )

    @api.depends("service_id", "model", "request_time")
    def _compute_display_name(self):
        for log in self:
            parts = (
                log.service_id.name or "",
                log.model or "?",
                log.request_time or "",
            )
            log.display_name = " / ".join(str(part) for part in parts)

    @api.model_create_multi
    def create(self, vals_list):
        logs = super().create(vals_list)
        logs._resummarize_closed_days(logs.mapped("request_time"))
        return logs

    def write(self, vals):
        before = self.mapped("request_time")
        result = super().write(vals)
        self._resummarize_closed_days(before + self.mapped("request_time"))
        return result

    def unlink(self):
        before = self.mapped("request_time")
        result = super().unlink()
        self._resummarize_closed_days(before)
        return result

    def _resummarize_closed_days(self, request_times):
        """Keep the daily summary exact when logs of closed days change."""
        if self.env.context.get("ai_usage_defer_summary"):
            return
        daily = self.env["ai.usage.log.daily"]
        since = daily._live_since()
        days = {moment.date() for moment in request_times if moment and moment < since}
        if days:
            self.flush_model()
            daily._resummarize_days(days)

    @api.depends("status")
    def _compute_error_rate(self):
        for log in self:
            log.error_rate = _error_rate(log.status)

    @api.depends("metadata")
    def _compute_metadata_text(self):
        for log in self:
            log.metadata_text = (
                json.dumps(log.metadata, indent=2, sort_keys=True)
                if log.metadata
                else False
            )

    # ------------------------------------------------------------------
    # Writing logs: always in a transaction of their own, committed at once,
    # so that a log outlives whatever happens to the caller's transaction.
    # Every call writes twice (its start, then its end), so these two writes
    # are single SQL statements built with the fields' own conversions.
    # ------------------------------------------------------------------
    def _in_own_transaction(self, operation, write_ahead=False, read_committed=False):
        """Run ``operation(log_model)`` in a new cursor that is committed on
        return; ``log_model`` is a superuser ai.usage.log in that cursor.

        ``write_ahead``: the row only marks a call as started and is made
        durable by the synchronous commit that finishes the call, so its own
        commit need not wait for the disk. Other transactions see it at once;
        only a crash of PostgreSQL itself within a fraction of a second could
        lose it, and then the end of the call records the call anew.

        ``read_committed``: each statement sees what others committed before
        it, even after waiting for a lock (limit checks need that; Odoo's
        REPEATABLE READ would keep the snapshot taken before the wait)."""
        with self.env.registry.cursor() as cr:
            if read_committed and not self.env.registry.in_test_mode():
                cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            if write_ahead:
                cr.execute("SET LOCAL synchronous_commit TO OFF")
            env = api.Environment(cr, self.env.uid, self.env.context, su=True)
            result = operation(env["ai.usage.log"])
        # The caller's cache predates the new rows (visible to it in test mode).
        self.env["ai.usage.log"].invalidate_model()
        self.env["ai.service"].invalidate_model(
            ["usage_count", "error_count", "last_used", "total_tokens", "total_cost"]
        )
        return result

    def _column_values(self, vals):
        if "status" in vals:  # the SQL writes below skip the ORM's computes
            vals = dict(vals, error_rate=_error_rate(vals["status"]))
        return {
            name: self._fields[name].convert_to_column(value, self, vals)
            for name, value in vals.items()
        }

    @api.model
    def _sql_insert(self, vals):
        now = fields.Datetime.now()
        row = self._column_values(vals)
        row.update(
            create_uid=self.env.uid,
            write_uid=self.env.uid,
            create_date=now,
            write_date=now,
        )
        self.env.cr.execute(
            SQL(
                "INSERT INTO ai_usage_log (%s) VALUES %s RETURNING id",
                SQL(", ").join(SQL.identifier(name) for name in row),
                tuple(row.values()),
            )
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _sql_update(self, log_id, vals):
        row = self._column_values(vals)
        row.update(write_uid=self.env.uid, write_date=fields.Datetime.now())
        self.env.cr.execute(
            SQL(
                "UPDATE ai_usage_log SET %s WHERE id = %s",
                SQL(", ").join(
                    SQL("%s = %s", SQL.identifier(name), value)
                    for name, value in row.items()
                ),
                log_id,
            )
        )
        if not self.env.cr.rowcount:
            raise MissingError(self.env._("The usage log %s does not exist.", log_id))

    @api.model
    def _call_facts(self, log_id):
        """What finishing a log needs to know of its call, in one query."""
        self.env.cr.execute(
            SQL(
                """
                SELECT log.request_time, log.model, log.service_id, log.company_id,
                       company.currency_id
                  FROM ai_usage_log log
                  JOIN res_company company ON company.id = log.company_id
                 WHERE log.id = %s
                """,
                log_id,
            )
        )
        row = self.env.cr.fetchone()
        if not row:
            raise MissingError(self.env._("The usage log %s does not exist.", log_id))
        return dict(
            zip(
                (
                    "request_time",
                    "model",
                    "service_id",
                    "company_id",
                    "company_currency_id",
                ),
                row,
                strict=True,
            )
        )

    def _facts(self):
        self.ensure_one()
        return {
            "request_time": self.request_time,
            "model": self.model,
            "service_id": self.service_id.id,
            "company_id": self.company_id.id,
            "company_currency_id": self.company_id.currency_id.id,
        }

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
            attribution[name] = (
                str(value) if value not in (None, False, "") else UNKNOWN_ATTRIBUTION
            )
        return {
            "service_id": service.id,
            "company_id": service.company_id.id or self.env.company.id,
            "user_id": self.env.uid,
            "status": "processing",
            "request_time": fields.Datetime.now(),
            **attribution,
            **{k: v for k, v in values.items() if v is not None},
            "request_type": self._check_request_type(values.get("request_type")),
        }

    @api.model
    def create_usage_log(self, service=None, limits=None, **values):
        """Record a call about to be made (status processing by default) in
        its own committed transaction and return it.

        Keywords: the log's fields (``request_type``, ``endpoint``, ``model``,
        ``location_id``, ``message_id``, ``contact_id``, ``conversation_id``,
        ``partner_id``, ``metadata``, ``status``...). Missing attribution is
        recorded as ``unknown``. Finish the log with update_success() or
        update_failure().

        ``limits`` (from ai.service._call_limits): the rate limit and hard
        budgets to enforce; a call they refuse is logged as rate limited or
        blocked and AiCallRefused is raised."""
        service = service or self.env["ai.service"]._get_service()
        vals = self._prepare_log_vals(service, **values)
        limits = limits if vals["status"] == "processing" else None
        log_id, refusal = self._in_own_transaction(
            lambda logs: logs._start_call(vals, limits),
            write_ahead=vals["status"] == "processing",
            read_committed=bool(limits),
        )
        if refusal:
            raise AiCallRefused(refusal)
        return self.browse(log_id)

    @api.model
    def _start_call(self, vals, limits):
        """Insert the call's log, unless a limit refuses it: then log the
        refusal. Return (log id, refusal message or None)."""
        refusal = None
        if limits:
            vals = dict(
                vals,
                reserved_cost=limits["reserved_cost"],
                reserved_tokens=limits["reserved_tokens"],
            )
            status, error_code, refusal = self._check_limits(vals, limits) or (
                None,
                None,
                None,
            )
            if refusal:
                vals.update(
                    status=status,
                    error_code=error_code,
                    error_message=refusal,
                    usage_state="missing",
                    reserved_cost=0,
                    reserved_tokens=0,
                    response_time=vals["request_time"],
                    duration_ms=0,
                )
        log_id = self._sql_insert(vals)
        self._resummarize_closed_days([vals["request_time"]])
        return log_id, refusal

    @api.model
    def _check_limits(self, vals, limits):
        """(status, error code, message) of a refusal, or None. Takes locks
        held until the log is committed, so that concurrent calls are
        checked one after the other, each seeing the others' reservations."""
        cr = self.env.cr
        if limits["rate_limit"]:
            cr.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [
                    RATE_LIMIT_LOCK,
                    (vals["service_id"] * 1_000_003 + vals["user_id"]) % 2**31,
                ],
            )
            cr.execute(
                """
                SELECT count(*) FROM ai_usage_log
                 WHERE service_id = %s AND user_id = %s
                   AND status NOT IN ('blocked', 'rate_limited')
                   AND request_time > %s
                """,
                [
                    vals["service_id"],
                    vals["user_id"],
                    vals["request_time"] - timedelta(minutes=1),
                ],
            )
            if cr.fetchone()[0] >= limits["rate_limit"]:
                return (
                    "rate_limited",
                    "rate_limited",
                    self.env._(
                        "Rate limit reached: %(limit)s calls per minute per user on "
                        "this service.",
                        limit=limits["rate_limit"],
                    ),
                )
        if limits["budget_ids"]:
            cr.execute(
                "SELECT id FROM ai_usage_budget WHERE id IN %s ORDER BY id FOR UPDATE",
                [tuple(limits["budget_ids"])],
            )
            for budget in self.env["ai.usage.budget"].browse(limits["budget_ids"]):
                if refusal := budget._refusal():
                    return "blocked", "budget_exceeded", refusal
        return None

    @api.model
    def _usage_vals(self, usage, model_name, facts):
        """Token and cost values for ``usage`` (a dict from extract_usage,
        or None when the response reported none)."""
        if usage is None:
            return {"usage_state": "missing"}
        return dict(
            usage, usage_state="reported", **self._cost_vals(usage, model_name, facts)
        )

    @api.model
    def _cost_vals(self, usage, model_name, facts):
        when = fields.Date.to_date(facts["request_time"])
        found = self.env["ai.model.price"]._find_price_values(
            model_name or "", facts["service_id"], when
        )
        if not found:
            return {"price_missing": True, "price_id": False}
        price_id, prices, currency_id = found
        cost = compute_cost(usage, prices)
        cost_company = cost
        if currency_id != facts["company_currency_id"]:
            currencies = self.env["res.currency"]
            cost_company = currencies.browse(currency_id)._convert(
                cost,
                currencies.browse(facts["company_currency_id"]),
                self.env["res.company"].browse(facts["company_id"]),
                when,
                round=False,
            )
        return {
            "price_missing": False,
            "price_id": price_id,
            "price_input": prices["input"],
            "price_cached_input": prices["cached_input"],
            "price_output": prices["output"],
            "price_reasoning": prices["reasoning"],
            "cost": cost,
            "currency_id": currency_id,
            "cost_company": cost_company,
        }

    @staticmethod
    def _finish_vals(facts):
        now = fields.Datetime.now()
        duration = (
            (now - facts["request_time"]).total_seconds() * 1000
            if facts["request_time"]
            else 0
        )
        # the real cost replaces what a budget reserved
        return {
            "response_time": now,
            "duration_ms": max(int(duration), 0),
            "reserved_cost": 0,
            "reserved_tokens": 0,
        }

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
        self._in_own_transaction(
            lambda logs: logs._apply_success(log_id, payload, expect_usage, extra)
        )
        return self

    def update_failure(self, error_message, error_code=None, **extra):
        """Finish the log as failed. The message is stored with any API key
        redacted. Extra keywords are written as field values (``http_status``,
        ``retry_count``...); a ``usage`` dict records partial usage."""
        self.ensure_one()
        log_id = self.id
        self._in_own_transaction(
            lambda logs: logs._apply_failure(log_id, error_message, error_code, extra)
        )
        return self

    # Both run in the log's own transaction: the caller's snapshot
    # (REPEATABLE READ) may predate the log's creation.
    @api.model
    def _apply_success(self, log_id, payload, expect_usage, extra):
        facts = self._call_facts(log_id)
        vals = self._finish_vals(facts)
        vals.update(status="success", **extract_response_info(payload))
        model_name = vals.get("response_model") or facts["model"]
        if not facts["model"] and model_name:
            vals["model"] = model_name
        try:
            usage = extract_usage(payload)
        except UsageError as error:
            usage = None
            vals.update(error_code="usage_invalid", error_message=str(error))
        else:
            if usage is None and expect_usage:
                vals.update(
                    error_code="usage_missing",
                    error_message="The response reported no token usage.",
                )
        if usage is not None or expect_usage:
            vals.update(self._usage_vals(usage, model_name, facts))
        vals.update(extra)
        self._sql_update(log_id, vals)
        self._resummarize_closed_days([facts["request_time"]])

    @api.model
    def _apply_failure(self, log_id, error_message, error_code, extra):
        facts = self._call_facts(log_id)
        extra = dict(extra)
        usage = extra.pop("usage", None)
        vals = self._finish_vals(facts)
        vals.update(
            status="failed",
            error_code=error_code or "error",
            error_message=redact_secrets(
                error_message, self._service_secrets(facts["service_id"])
            ),
        )
        if usage is not None:
            vals.update(
                self._usage_vals(
                    usage, extra.get("response_model") or facts["model"], facts
                )
            )
            vals["usage_state"] = "partial"
        else:
            vals["usage_state"] = "missing"
        vals.update(extra)
        self._sql_update(log_id, vals)
        self._resummarize_closed_days([facts["request_time"]])

    @api.model
    def _service_secrets(self, service_id):
        return self.env["ai.service"].sudo().browse(service_id).mapped("api_key")

    # ------------------------------------------------------------------
    # Actions and scheduled actions
    # ------------------------------------------------------------------
    def action_recompute_cost(self):
        """Re-price the selected logs with the prices valid at their request
        time, e.g. after a missing price was added or a price corrected."""
        self.with_context(ai_usage_defer_summary=True)._recompute_cost()
        self._resummarize_closed_days(self.mapped("request_time"))
        return True

    def _recompute_cost(self):
        for log in self.filtered(lambda lg: lg.usage_state in ("reported", "partial")):
            usage = {name: log[name] for name in USAGE_FIELDS}
            vals = log._cost_vals(usage, log.response_model or log.model, log._facts())
            log.write(vals)
            if vals["price_missing"]:
                log._clear_cost()

    def _clear_cost(self):
        # The ORM writes 0.0 for an empty Float; an unknown cost must stay NULL.
        self.flush_recordset()
        self.env.cr.execute(
            "UPDATE ai_usage_log SET cost = NULL, cost_company = NULL,"
            " currency_id = NULL WHERE id IN %s",
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
                   error_rate = 100,
                   reserved_cost = 0,
                   reserved_tokens = 0,
                   error_message = 'The call never finished: the worker stopped '
                                   'or lost the connection.',
                   usage_state = COALESCE(log.usage_state, 'missing'),
                   write_date = now() AT TIME ZONE 'UTC'
              FROM ai_service service
             WHERE log.service_id = service.id
               AND log.status IN ('pending', 'processing')
               AND log.request_time < (now() AT TIME ZONE 'UTC')
                   - make_interval(secs => COALESCE(service.timeout, 0) + %s)
         RETURNING log.id, log.request_time
            """,
            [INTERRUPTED_MARGIN_SECONDS],
        )
        rows = self.env.cr.fetchall()
        ids = [row[0] for row in rows]
        self._resummarize_closed_days([row[1] for row in rows])
        if ids:
            _logger.warning(
                "ai_usage_log: %d call(s) marked as interrupted: %s", len(ids), ids
            )
            self.browse(ids).invalidate_recordset()
        return ids

    @api.model
    def _create_demo_logs(self, service_id, count=400, days=42):
        """Realistic logs over the last weeks, for the demo database."""
        rng = random.Random(18)
        service = self.env["ai.service"].browse(service_id)
        users = self.env.ref("base.user_admin") | self.env.ref(
            "base.user_demo", raise_if_not_found=False
        )
        partners = self.env["res.partner"].search(
            [("is_company", "=", False)], limit=10
        )
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
                    "endpoint": "models"
                    if request_type == "test_connection"
                    else "chat/completions",
                    "model": model_name,
                    "request_time": when,
                    "user_id": rng.choice(users).id,
                    "partner_id": rng.choice(partners).id
                    if partners and rng.random() < 0.6
                    else False,
                    "location_id": rng.choice(
                        ["loc-paris", "loc-lyon", "loc-brussels", "unknown"]
                    ),
                    "message_id": f"msg-{10000 + index}",
                    "contact_id": f"contact-{rng.randint(1, 60)}",
                    "conversation_id": f"conv-{rng.randint(1, 150)}",
                    "status": "failed" if failed else "success",
                    "response_time": when
                    + timedelta(milliseconds=rng.randint(300, 9000)),
                }
            )
            log.duration_ms = int((log.response_time - when).total_seconds() * 1000)
            if failed:
                code, status = rng.choice(
                    [
                        ("rate_limit_exceeded", 429),
                        ("server_error", 500),
                        ("timeout", 0),
                    ]
                )
                log.write(
                    {
                        "error_code": code,
                        "http_status": status,
                        "error_message": "Demo failure",
                        "usage_state": "missing",
                    }
                )
                continue
            if not model_name:
                log.write({"usage_state": "missing", "http_status": 200})
                continue
            input_tokens = rng.randint(200, 6000)
            output_tokens = (
                0 if model_name.startswith("text-embedding") else rng.randint(50, 1200)
            )
            usage = {
                "input_tokens": input_tokens,
                "cached_input_tokens": rng.choice([0, 0, input_tokens // 2]),
                "output_tokens": output_tokens,
                "reasoning_tokens": output_tokens // 2
                if model_name.startswith(("o4", "gpt-5"))
                else 0,
                "total_tokens": input_tokens + output_tokens,
            }
            vals = log._usage_vals(usage, model_name, log._facts())
            vals.update(
                http_status=200,
                response_model=model_name,
                finish_reason="stop",
                response_id=f"chatcmpl-demo{index}",
            )
            log.write(vals)
            if vals.get("price_missing"):
                log._clear_cost()
        return True

    # ------------------------------------------------------------------
    # Dashboard
    # ------------------------------------------------------------------
    @api.model
    def get_dashboard_data(self):
        """Figures of the AI Usage dashboard, as the current user may see
        them: today and this month (calls, tokens, cost, error rate), the
        top models and users of the month. Each comes with the domain of
        the logs behind it, for the client to open."""
        today_start, month_start = self._dashboard_period_starts()
        currency = self.env.company.currency_id
        periods = []
        for key, label, start in (
            ("today", self.env._("Today"), today_start),
            ("month", self.env._("This Month"), month_start),
        ):
            domain = [("request_time", ">=", fields.Datetime.to_string(start))]
            periods.append(
                dict(key=key, label=label, **self._dashboard_figures(domain))
            )
        month_domain = periods[1]["domain"]
        return {
            "currency": {"symbol": currency.symbol, "position": currency.position},
            "periods": periods,
            "top_models": self._dashboard_top(month_domain, "model"),
            "budgets": self._dashboard_budgets(),
            "top_users": self._dashboard_top(month_domain, "user_id"),
        }

    @api.model
    def _dashboard_budgets(self):
        """The active budgets of the current companies, with their use."""
        budgets = self.env["ai.usage.budget"].search(
            [("company_id", "in", self.env.companies.ids)]
        )
        rows = []
        for budget in budgets:
            cost, tokens = budget._consumption()
            rows.append(
                {
                    "name": budget.name,
                    "period": dict(budget._fields["period"].selection)[budget.period],
                    "spent": cost,
                    "limit": budget.limit_cost,
                    "tokens": tokens,
                    "limit_tokens": budget.limit_tokens,
                    "percent": round(budget._percent(cost, tokens), 1),
                    "warning": budget.warning_percent,
                    "hard": budget.hard_limit,
                    "domain": budget._log_domain(),
                }
            )
        return rows

    @api.model
    def _dashboard_period_starts(self):
        """Start of today and of this month in the user's time zone, as
        naive UTC datetimes."""
        tz = pytz.timezone(self.env.user.tz or "UTC")
        now = datetime.now(tz)
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        month = today.replace(day=1)
        return tuple(
            tz.normalize(start).astimezone(pytz.UTC).replace(tzinfo=None)
            for start in (today, month)
        )

    @api.model
    def _dashboard_figures(self, domain):
        [(calls, tokens, cost, error_rate)] = self._read_group(
            domain,
            [],
            ["__count", "total_tokens:sum", "cost_company:sum", "error_rate:avg"],
        )
        unpriced_domain = domain + [("price_missing", "=", True)]
        return {
            "domain": domain,
            "calls": calls,
            "tokens": tokens or 0,
            "cost": cost or 0.0,
            "error_rate": round(error_rate or 0.0, 2),
            "failed_domain": domain + [("status", "=", "failed")],
            "unpriced": self.search_count(unpriced_domain),
            "unpriced_domain": unpriced_domain,
        }

    @api.model
    def _dashboard_top(self, domain, field_name, limit=5):
        rows = self._read_group(
            domain + [(field_name, "!=", False)],
            [field_name],
            [
                "__count",
                "total_tokens:sum",
                "cost_company:sum",
                "cost_company:count",  # the calls that have a price
            ],
            order="cost_company:sum desc nulls last, __count desc",
            limit=limit,
        )
        top = []
        for group, calls, tokens, cost, priced in rows:
            value = group.id if isinstance(group, models.BaseModel) else group
            name = group.display_name if isinstance(group, models.BaseModel) else group
            top.append(
                {
                    "name": name,
                    "calls": calls,
                    "tokens": tokens or 0,
                    "cost": cost or 0.0,
                    "unpriced": not priced,
                    "domain": domain + [(field_name, "=", value)],
                }
            )
        return top

    # ------------------------------------------------------------------
    # Usage figures and metrics
    # ------------------------------------------------------------------
    @api.model
    def get_usage_summary(
        self, granularity="day", service_id=None, date_from=None, date_to=None
    ):
        """Requests, tokens and cost per day or month (UTC) of the logs the
        current user may see (as the module's record rules say: the allowed
        companies, and only their own calls for non-administrators), oldest
        first. ``date_from`` and ``date_to`` are dates, both included."""
        if granularity not in ("day", "month"):
            raise UserError(self.env._("The granularity must be 'day' or 'month'."))
        self.check_access("read")
        self.flush_model()
        summary_filters = [SQL("company_id IN %s", tuple(self.env.companies.ids))]
        if not self.env.su and not self.env.user.has_group(
            "ai_usage_log.group_ai_usage_admin"
        ):
            summary_filters.append(SQL("user_id = %s", self.env.uid))
        if service_id:
            summary_filters.append(SQL("service_id = %s", service_id))
        log_filters = list(summary_filters)
        if date_from:
            summary_filters.append(SQL("day >= %s", fields.Date.to_date(date_from)))
            log_filters.append(
                SQL("request_time >= %s", fields.Datetime.to_datetime(date_from))
            )
        if date_to:
            end = fields.Date.to_date(date_to) + timedelta(days=1)
            summary_filters.append(SQL("day < %s", end))
            log_filters.append(
                SQL("request_time < %s", fields.Datetime.to_datetime(end))
            )
        source = self.env["ai.usage.log.daily"]._union(
            SQL(
                "day, calls, failed, input_tokens, cached_input_tokens, output_tokens,"
                " reasoning_tokens, total_tokens, cost_company"
            ),
            SQL(
                "request_time::date, 1, (status = 'failed')::int,"
                " COALESCE(input_tokens, 0),"
                " COALESCE(cached_input_tokens, 0), COALESCE(output_tokens, 0),"
                " COALESCE(reasoning_tokens, 0), COALESCE(total_tokens, 0),"
                " COALESCE(cost_company, 0)"
            ),
            SQL(" AND ").join(summary_filters),
            SQL(" AND ").join(log_filters),
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT date_trunc(%s, day)::date, sum(calls), sum(failed),
                       sum(input_tokens), sum(cached_input_tokens), sum(output_tokens),
                       sum(reasoning_tokens), sum(total_tokens), sum(cost_company)
                  FROM %s AS source
              GROUP BY 1
              ORDER BY 1
                """,
                granularity,
                source,
            )
        )
        rows = self.env.cr.fetchall()
        currency = self.env.company.currency_id.name
        return [
            {
                "period": period.isoformat()
                if granularity == "day"
                else period.strftime("%Y-%m"),
                "requests": calls,
                "input_tokens": int(input_tokens),
                "cached_input_tokens": int(cached),
                "output_tokens": int(output),
                "reasoning_tokens": int(reasoning),
                "total_tokens": int(total),
                "cost": round(float(cost), 8),
                "currency": currency,
                "error_rate": round(failed * 100 / calls, 2) if calls else 0.0,
            }
            for (
                period,
                calls,
                failed,
                input_tokens,
                cached,
                output,
                reasoning,
                total,
                cost,
            ) in rows
        ]

    @api.model
    def _prometheus_metrics(self):
        """All logs as Prometheus metrics: one SQL pass over the daily summary
        and the logs of the days since, grouped three ways at once."""
        self.flush_model()
        bucket_columns = [f"duration_le_{bound}" for bound in DURATION_BUCKETS_MS]
        finished = SQL("status IN ('success', 'failed') AND duration_ms IS NOT NULL")
        source = self.env["ai.usage.log.daily"]._union(
            SQL(
                "service_id, model, request_type, status, currency_id, calls,"
                " input_tokens, cached_input_tokens, output_tokens, reasoning_tokens,"
                " cost, priced_calls, finished_calls, duration_ms_sum, %s",
                SQL(", ").join(SQL.identifier(column) for column in bucket_columns),
            ),
            SQL(
                "service_id, model, request_type, status, currency_id, 1,"
                " COALESCE(input_tokens, 0), COALESCE(cached_input_tokens, 0),"
                " COALESCE(output_tokens, 0), COALESCE(reasoning_tokens, 0),"
                " COALESCE(cost, 0), (cost IS NOT NULL)::int, (%s)::int,"
                " CASE WHEN %s THEN duration_ms ELSE 0 END, %s",
                finished,
                finished,
                SQL(", ").join(
                    SQL("(%s AND duration_ms <= %s)::int", finished, bound)
                    for bound in DURATION_BUCKETS_MS
                ),
            ),
            table="ai_usage_log_total",
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT GROUPING(source.model, source.request_type, source.status,
                                source.currency_id),
                       service.name, COALESCE(source.model, ''), source.request_type,
                       source.status, currency.name, sum(calls), sum(input_tokens),
                       sum(cached_input_tokens), sum(output_tokens),
                       sum(reasoning_tokens), sum(cost), sum(priced_calls),
                       sum(finished_calls), sum(duration_ms_sum), %s
                  FROM %s AS source
                  JOIN ai_service service ON service.id = source.service_id
             LEFT JOIN res_currency currency ON currency.id = source.currency_id
              GROUP BY GROUPING SETS (
                       (service.name, source.model, source.request_type, source.status),
                       (service.name, source.model, source.currency_id, currency.name),
                       (service.name))
                """,
                SQL(", ").join(
                    SQL("sum(%s)", SQL.identifier(c)) for c in bucket_columns
                ),
                source,
            )
        )
        requests, tokens, costs, durations = [], {}, [], []
        for row in self.env.cr.fetchall():
            grouping, service, model, request_type, status, currency = row[:6]
            calls, *kinds = row[6:11]
            cost, priced, finished_calls, duration_ms, *cumulative = row[11:]
            if grouping == BY_REQUEST:
                labels = {
                    "service": service,
                    "model": model,
                    "request_type": request_type,
                    "status": status,
                }
                requests.append(("", labels, calls))
                for kind, value in zip(
                    ("input", "cached", "output", "reasoning"), kinds, strict=True
                ):
                    key = (service, model, kind)
                    tokens[key] = tokens.get(key, 0) + value
            elif grouping == BY_CURRENCY and currency and priced:
                labels = {"service": service, "model": model, "currency": currency}
                costs.append(("", labels, float(cost)))
            elif grouping == BY_SERVICE and finished_calls:
                for bound, value in zip(DURATION_BUCKETS_MS, cumulative, strict=True):
                    labels = {"service": service, "le": str(bound / 1000)}
                    durations.append(("_bucket", labels, value))
                durations.append(
                    ("_bucket", {"service": service, "le": "+Inf"}, finished_calls)
                )
                durations.append(
                    ("_sum", {"service": service}, float(duration_ms) / 1000)
                )
                durations.append(("_count", {"service": service}, finished_calls))
        lines = prometheus_text.family(
            "ai_usage_requests_total", "counter", "OpenAI calls logged.", requests
        )
        lines += prometheus_text.family(
            "ai_usage_tokens_total",
            "counter",
            "Tokens used, by kind (cached is part of input, reasoning part of output).",
            [
                ("", {"service": s, "model": m, "kind": k}, v)
                for (s, m, k), v in sorted(tokens.items())
            ],
        )
        lines += prometheus_text.family(
            "ai_usage_cost_total",
            "counter",
            "Cost of the priced calls, in the price currency.",
            costs,
        )
        lines += prometheus_text.family(
            "ai_usage_request_duration_seconds",
            "histogram",
            "Duration of finished calls, retries included.",
            durations,
        )
        lines += prometheus_text.family(
            "ai_usage_up", "gauge", "1 when the metrics could be read.", [("", {}, 1)]
        )
        return "\n".join(lines) + "\n"
