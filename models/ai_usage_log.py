import json
import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.sql import create_index

from ..compat import Constraint, table_constraints, true_condition
from ..tools import providers
from ..tools.pricing import pricing_inputs
from ..tools.usage import USAGE_FIELDS
from .ai_model_price import PRICE_TIERS

_logger = logging.getLogger(__name__)

# what a call's attribution reads when its caller gave none
UNKNOWN_ATTRIBUTION = "unknown"


def error_rate_of(status):
    """100 for a failed call, 0 otherwise: its average is the error rate."""
    return 100.0 if status == "failed" else 0.0


REQUEST_TYPES = [
    ("call_summary", "Call Summary"),
    ("transcript_analysis", "Transcript Analysis"),
    ("contact_analysis", "Contact Analysis"),
    ("custom_prompt", "Custom Prompt"),
    ("test_connection", "Test Connection"),
    ("vision_analysis", "Vision Analysis"),
    ("gateway", "Gateway"),
    ("other", "Other"),
]
STATUSES = [
    ("processing", "Processing"),
    ("success", "Success"),
    ("failed", "Failed"),
    ("blocked", "Blocked by Budget"),
    ("rate_limited", "Rate Limited"),
    # an attempt that failed with an outage and passed the call on to the
    # next service of its fallback chain: not a call of its own
    ("fallback", "Fell Back"),
]
RETENTION_PARAM = "ai_usage_log.retention_days"
# Added to a service's timeout before a call still "processing" is declared
# lost (system parameter, seconds; default 300).
INTERRUPTED_MARGIN_PARAM = ("ai_usage_log.interrupted_margin_seconds", 300)
COST_DIGITS = (16, 8)  # $0.00000001: far below what a Monetary field keeps


@table_constraints
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
    provider = fields.Selection(
        providers.SELECTION,
        required=True,
        default="openai",
        help="The provider of the service at the time of the call.",
    )
    request_type = fields.Selection(REQUEST_TYPES, required=True, default="other")
    status = fields.Selection(STATUSES, required=True, default="processing")
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
    input_tokens = fields.Integer(help="All input tokens, of every kind below.")
    cached_input_tokens = fields.Integer(help="Input tokens read from the cache.")
    cache_write_tokens = fields.Integer(help="Input tokens written to the cache.")
    cache_write_1h_tokens = fields.Integer(
        "Cache Write (1 Hour) Tokens",
        help="The part of the cache writes kept for an hour (Anthropic), billed apart.",
    )
    audio_input_tokens = fields.Integer()
    cached_audio_input_tokens = fields.Integer()
    image_input_tokens = fields.Integer()
    cached_image_input_tokens = fields.Integer()
    output_tokens = fields.Integer(help="All output tokens, of every kind below.")
    reasoning_tokens = fields.Integer()
    audio_output_tokens = fields.Integer()
    image_output_tokens = fields.Integer()
    total_tokens = fields.Integer()
    audio_seconds = fields.Float(
        "Audio (s)", digits=(12, 3), help="Audio duration billed (whisper)."
    )
    input_characters = fields.Integer(help="Characters billed (text to speech).")

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
    # a sum of prices means nothing: no aggregator keeps them out of reports
    price_input = fields.Float("Input Price / 1M", digits=(16, 6), aggregator=False)
    price_cached_input = fields.Float(
        "Cached Input Price / 1M", digits=(16, 6), aggregator=False
    )
    price_output = fields.Float("Output Price / 1M", digits=(16, 6), aggregator=False)
    price_reasoning = fields.Float(
        "Reasoning Price / 1M", digits=(16, 6), aggregator=False
    )
    # set aside while a call runs: nothing a report sums
    reserved_cost = fields.Float(
        digits=COST_DIGITS,
        aggregator=False,
        help="Cost set aside by a hard budget while the call runs (company currency).",
    )
    reserved_tokens = fields.Integer(aggregator=False)
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
    service_tier = fields.Char(
        help="The service tier the response names (default, flex, priority...): "
        "the call is priced at that tier's rate."
    )
    is_batch = fields.Boolean(
        "Batch", help="Made through the Batch API: priced at the batch rate."
    )
    price_tier = fields.Selection(
        [*PRICE_TIERS, ("other", "Other")],
        help="The rate the call is priced at: its service tier, or batch.",
    )
    batch_id = fields.Char(
        "Batch ID", index="btree_not_null", help="The Batch API job of this request."
    )
    retry_count = fields.Integer(
        help="Attempts made after the first one (429 and 5xx are retried).",
        aggregator="avg",
    )
    http_status = fields.Integer("HTTP Status", aggregator=False)
    error_code = fields.Char()
    error_message = fields.Text()
    response_id = fields.Char()
    system_fingerprint = fields.Char()
    finish_reason = fields.Char()
    response_length = fields.Integer(
        "Answer Characters",
        aggregator=False,
        help="Characters of text in the answer. Tool calls, structured outputs "
        "other than text, and reasoning are not text: they have output tokens "
        "but no characters here.",
    )

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
    # a fallback chain: every attempt a log, linked to the chain's first
    fallback_of_id = fields.Many2one(
        "ai.usage.log",
        "First Attempt",
        ondelete="set null",
        index="btree_not_null",
        help="The first attempt of the call, whose service was out.",
    )
    fallback_attempt = fields.Integer(
        aggregator=False,
        help="0: the call's first attempt; 1, 2...: its fallbacks, in order.",
    )
    fallback_ids = fields.One2many(
        "ai.usage.log", "fallback_of_id", "Fallback Attempts"
    )
    metadata_text = fields.Text(
        "Metadata (formatted)", compute="_compute_metadata_text"
    )

    # What the call machinery writes can only be true: no field a forged or
    # broken write could bend into a negative count, cost or duration.
    _tokens_not_negative = Constraint(
        "CHECK(reserved_tokens >= 0 AND "
        + " AND ".join(f"{name} >= 0" for name in USAGE_FIELDS)
        + ")",
        "Token counts cannot be negative.",
    )
    _costs_not_negative = Constraint(
        "CHECK(cost >= 0 AND cost_company >= 0 AND reserved_cost >= 0"
        " AND price_input >= 0 AND price_cached_input >= 0"
        " AND price_output >= 0 AND price_reasoning >= 0)",
        "Costs and prices cannot be negative.",
    )
    _timing_not_negative = Constraint(
        "CHECK(duration_ms >= 0 AND time_to_first_token_ms >= 0"
        " AND retry_count >= 0 AND response_length >= 0)",
        "Durations and counts cannot be negative.",
    )

    @api.depends("service_id", "model", "request_time")
    @api.depends_context("tz", "lang")
    def _compute_display_name(self):
        lang = self.env["res.lang"]._get_data(code=self.env.lang or "en_US")
        # the reader's time, to the second, as the list shows it (19.0's
        # languages show minutes only)
        time_format = lang.time_format or "%H:%M:%S"
        if "%S" not in time_format:
            time_format = time_format.replace("%M", "%M:%S")
        pattern = f"{lang.date_format or '%Y-%m-%d'} {time_format}"
        kinds = dict(REQUEST_TYPES)
        for log in self:
            when = (
                fields.Datetime.context_timestamp(log, log.request_time).strftime(
                    pattern
                )
                if log.request_time
                else ""
            )
            # a call without a model (Test Connection) is named by its kind
            what = log.model or log.response_model or kinds[log.request_type]
            parts = (log.service_id.name or "", what, when)
            log.display_name = " / ".join(parts)

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
            # a failure leaves the transaction usable: a call's finish goes on
            with self.env.cr.savepoint():
                daily._resummarize_days(days)

    def init(self):
        result = super().init()
        # the calls without a price of a period (the dashboard counts them):
        # few, found without reading the period's other calls
        create_index(
            self.env.cr,
            "ai_usage_log_price_missing_time_index",
            self._table,
            ["request_time"],
            where=true_condition("price_missing"),
        )
        # the calls that fell back (the dashboard's rate, the alert): as few
        create_index(
            self.env.cr,
            "ai_usage_log_fell_back_time_index",
            self._table,
            ["request_time"],
            where="status = 'fallback' AND fallback_of_id IS NULL",
        )
        return result

    @api.depends("status")
    def _compute_error_rate(self):
        for log in self:
            log.error_rate = error_rate_of(log.status)

    @api.depends("metadata")
    def _compute_metadata_text(self):
        for log in self:
            log.metadata_text = (
                json.dumps(log.metadata, indent=2, sort_keys=True)
                if log.metadata
                else False
            )

    def _pricing_inputs(self):
        """What this log's call is priced with (tools.pricing), and its model."""
        self.ensure_one()
        return dict(
            pricing_inputs(
                self.request_time,
                self.service_id,
                self.company_id,
                self.service_tier,
                self.is_batch,
            ),
            model=self.model,
        )

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

    # ------------------------------------------------------------------
    # Actions and scheduled actions
    # ------------------------------------------------------------------
    @api.model
    @api.readonly
    def get_usage_summary(self, granularity="day", **filters):
        """Kept for the callers of version 1.0: see ai.usage.report."""
        return self.env["ai.usage.report"].get_usage_summary(granularity, **filters)

    @api.model
    def _cron_mark_interrupted(self):
        """Fail the calls that stayed in processing longer than their
        service's timeout plus a margin: their worker died mid-call."""
        name, default = INTERRUPTED_MARGIN_PARAM
        value = self.env["ir.config_parameter"].sudo().get_param(name, default)
        try:
            margin = max(float(value), 0.0)
        except ValueError:
            margin = float(default)
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
               AND log.status = 'processing'
               AND log.request_time < (now() AT TIME ZONE 'UTC')
                   - make_interval(secs => COALESCE(service.timeout, 0) + %s)
         RETURNING log.id, log.request_time
            """,
            [margin],
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
    def _cron_delete_old_logs(self):
        """Delete the logs of the whole days older than the retention
        (system parameter ai_usage_log.retention_days; 0, the default, keeps
        everything). Only days already summed in the daily summary go, and
        their summary stays: the counters, usage figures and metrics still
        count those calls, and the Prometheus counters never go down."""
        value = self.env["ir.config_parameter"].sudo().get_param(RETENTION_PARAM)
        days = int(value) if (value or "").strip().isdigit() else 0
        if days <= 0:
            return 0
        daily = self.env["ai.usage.log.daily"]
        daily._refresh()
        cutoff = min(
            fields.Date.context_today(self.with_context(tz="UTC"))
            - timedelta(days=days),
            daily._summary_until(),
        )
        self.flush_model()
        # SQL, not unlink(): the summary of these days must not be recomputed
        self.env.cr.execute(
            "DELETE FROM ai_usage_log WHERE request_time < %s",
            [fields.Datetime.to_datetime(cutoff)],
        )
        deleted = self.env.cr.rowcount
        self.invalidate_model()
        _logger.info("ai_usage_log: deleted %d logs before %s", deleted, cutoff)
        return deleted

    @api.model
    def _grant_demo_employee(self):
        """Demo data: the demo employee is an AI Usage user."""
        from ..demo_logs import grant_demo_employee

        grant_demo_employee(self.sudo().env)

    @api.model
    def _create_demo_logs(self, service_id, count=400, days=42):
        """Realistic logs over the last weeks, for the demo database."""
        from ..demo_logs import create_demo_logs

        return create_demo_logs(self.sudo(), service_id, count, days)
