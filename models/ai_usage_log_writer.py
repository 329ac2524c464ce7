import logging
from datetime import UTC

from psycopg2.extensions import ISOLATION_LEVEL_READ_COMMITTED

from odoo import api, fields, models, sql_db
from odoo.exceptions import UserError

from .. import log_store
from ..caller_values import ATTRIBUTION_FIELDS, CALLER_FIELDS, check_caller_values
from ..exceptions import AiCallRefused
from ..tools import otel
from ..tools.redaction import redact_secrets
from ..tools.usage import (
    UsageError,
    checked_usage,
    extract_response_info,
    extract_usage,
    to_payload,
)
from .ai_usage_log import UNKNOWN_ATTRIBUTION

# What the call machinery tells a log's end besides the answer itself.
FINISH_VALUES = frozenset(
    {
        "http_status",
        "retry_count",
        "time_to_first_token_ms",
        "finish_reason",
        "response_length",
        "response_model",
    }
)
OTEL_ENDPOINT_PARAM = "ai_usage_log.otel_endpoint"
OTEL_HEADERS_PARAM = "ai_usage_log.otel_headers"


_logger = logging.getLogger(__name__)


def _span_times(finished):
    """(start, end) of a finished call's values, in nanoseconds since the
    epoch (its UTC request and response times)."""
    start = finished["request_time"].replace(tzinfo=UTC).timestamp()
    end = (finished.get("response_time") or finished["request_time"]).replace(
        tzinfo=UTC
    )
    return int(start * 1e9), int(end.timestamp() * 1e9)


class AiUsageLog(models.Model):
    """How a call's usage log is written: ``create_usage_log`` at its start,
    ``update_success`` or ``update_failure`` at its end, always in a
    transaction of its own, committed at once, so that a log outlives
    whatever happens to the caller's transaction. Every call writes twice,
    so these two writes are single SQL statements built with the fields' own
    conversions. Only the call machinery writes: what a caller may say is
    CALLER_FIELDS and FINISH_VALUES, everything else is measured."""

    _inherit = "ai.usage.log"

    def _in_own_transaction(self, operation):
        """Run ``operation(log_model)`` in a new cursor that is committed on
        return; ``log_model`` is this model, as superuser, in that cursor.

        At READ COMMITTED: each statement sees what others committed before
        it, even after waiting for a lock (limit checks need that, and a
        finish that waited for another worker's catalogue row; Odoo's
        REPEATABLE READ would keep the snapshot taken before the wait). Set
        on the connection before the transaction begins, it costs no round
        trip (psycopg2 sends it with BEGIN); the next cursor to borrow the
        connection sets Odoo's level again."""
        with self.env.registry.cursor() as cr:
            # not on the test cursor of a test, which shares its transaction
            if isinstance(cr, sql_db.Cursor):
                cr.connection.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
            env = api.Environment(cr, self.env.uid, self.env.context, su=True)
            result = operation(env[self._name])
        # The caller's cache predates the new rows (visible to it in test
        # mode). Nothing to flush first: only this machinery writes logs, and
        # the counters are not stored.
        self.env[self._name].invalidate_model(flush=False)
        self.env["ai.service"].invalidate_model(
            ["usage_count", "error_count", "last_used", "total_tokens", "total_cost"],
            flush=False,
        )
        return result

    # the SQL store (log_store.py) behind a call's two writes
    @api.model
    def _sql_insert(self, vals):
        return log_store.insert(self, vals)

    @api.model
    def _sql_update(self, log_id, vals):
        log_store.update(self, log_id, vals)

    @api.model
    def _start_values(self, log_id):
        """What finishing a log needs to know of its start."""
        return log_store.start_values(self, log_id)

    @api.model
    def _prepare_log_vals(self, service, **values):
        check_caller_values(self.env, values, CALLER_FIELDS)
        attribution = {}
        for name in ATTRIBUTION_FIELDS:
            value = values.pop(name, None)
            attribution[name] = (
                str(value) if value not in (None, False, "") else UNKNOWN_ATTRIBUTION
            )
        return {
            "service_id": service.id,
            "provider": service.provider,
            "company_id": service.company_id.id or self.env.company.id,
            "user_id": self.env.uid,
            "status": "processing",
            "request_time": fields.Datetime.now(),
            **attribution,
            **{k: v for k, v in values.items() if v is not None},
            "request_type": self._check_request_type(values.get("request_type")),
        }

    @api.model
    @api.private
    def create_usage_log(self, service=None, body=None, **values):
        """Record a call about to be made (status processing) in its own
        committed transaction and return it. Python only (not over RPC).

        Keywords (CALLER_FIELDS): ``request_type``, ``endpoint``, ``model``,
        ``location_id``, ``message_id``, ``contact_id``, ``conversation_id``,
        ``partner_id``, ``metadata``, ``is_stream``; usage, cost, status,
        timing and owner are the call machinery's alone (UserError).
        Missing attribution is recorded as ``unknown``. Finish the log with
        update_success() or update_failure().

        The service's rate limit and the hard budgets that apply are checked
        in that transaction: a call they refuse is logged as rate limited or
        blocked and AiCallRefused is raised. ``body``: the request, from
        which the cost a hard budget reserves for the call is estimated."""
        service = service or self.env["ai.service"]._get_service()
        return self._record_start(service, values, body)

    @api.model
    def _record_start(
        self, service, values, body=None, check_limits=True, measured=None
    ):
        """create_usage_log; without ``check_limits`` for a call already
        made (whose start was lost), which no limit can refuse any more;
        ``measured``: what the machinery adds beyond a caller's values (a
        captured call's source module, scheduled action, key fingerprint)."""
        vals = dict(self._prepare_log_vals(service, **values), **(measured or {}))
        # which limits apply is known from cached values: none, the usual
        # case, costs nothing more
        budget_ids = self.env["ai.usage.budget"]._applicable_hard_budgets(
            vals["company_id"], service.id, self.env.uid
        )
        limits = (
            {"rate_limit": service.rate_limit_per_minute, "budget_ids": budget_ids}
            if check_limits and (budget_ids or service.rate_limit_per_minute)
            else None
        )
        log_id, refusal = self._in_own_transaction(
            lambda logs: logs._start_call(vals, limits, body)
        )
        if refusal:
            raise AiCallRefused(*refusal)
        return self.browse(log_id)

    @api.model
    def _start_call(self, vals, limits, body):
        """Insert the call's log, unless a limit refuses it: then log the
        refusal. Return (log id, (refusal message, error code) or None)."""
        refusal = None
        if limits:
            budgets = self.env["ai.usage.budget"]
            vals = dict(vals, **budgets._reservation(vals, body))
            found = budgets._call_refusal(vals, limits)
            if found:
                status, error_code, refusal = found
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
        # a clock behind the one that closed the day (another server's) may
        # start a call in it
        self._after_finish([vals["request_time"]])
        return log_id, (refusal, vals["error_code"]) if refusal else None

    @api.model
    def _usage_vals(self, usage, model_name, inputs):
        """Token and cost values for ``usage`` (a dict from extract_usage,
        or None when the response reported none)."""
        if usage is None:
            return {"usage_state": "missing"}
        try:
            # no savepoint (two round trips on every call): pricing runs no
            # SQL in the usual case, the catalogue rows it may add have their
            # own, and a statement failing anyway leaves the recorder's last
            # resort (_finish_bare), which keeps the usage
            cost = self.env["ai.model.price"]._cost_vals(usage, model_name, inputs)
        except Exception as error:
            _logger.exception(
                "ai_usage_log: a call could not be priced; its cost is unknown"
            )
            cost = {
                "price_missing": True,
                "price_id": False,
                "error_code": "pricing_failed",
                "error_message": f"The cost could not be computed: {error!r}",
            }
        return dict(usage, usage_state="reported", **cost)

    @api.model
    def _after_finish(self, request_times):
        """What follows a log's write (the daily summary of a closed day):
        a failure there is logged and leaves the call's log as written."""
        try:
            # its SQL, only for a closed day, runs in a savepoint of its own
            self._resummarize_closed_days(request_times)
        except Exception:
            _logger.exception(
                "ai_usage_log: the daily summary of %s could not be updated",
                request_times,
            )

    @staticmethod
    def _finish_vals(start):
        now = fields.Datetime.now()
        duration = (
            (now - start["request_time"]).total_seconds() * 1000
            if start["request_time"]
            else 0
        )
        # the real cost replaces what a budget reserved; the request type
        # (unchanged) tells _column_values whether the error rate counts
        return {
            "request_type": start["request_type"],
            "response_time": now,
            "duration_ms": max(int(duration), 0),
            "reserved_cost": 0,
            "reserved_tokens": 0,
        }

    @api.private
    def update_success(self, result, expect_usage=True, **finish_values):
        """Finish the log from an OpenAI result (a dict, a requests.Response
        or an openai SDK object): usage, cost, what the response says. Python only.

        A result without usage is recorded with usage unknown and error
        code ``usage_missing`` (unless ``expect_usage`` is False, for calls
        that bill no tokens such as listing models); impossible token counts
        with ``usage_invalid``. Extra keywords: the finish values of FINISH_VALUES
        (``http_status``, ``retry_count``...); usage and cost come from the
        result only."""
        self.ensure_one()
        self._check_finish_values(finish_values)
        payload = to_payload(result)
        log_id = self.id
        finished = self._in_own_transaction(
            lambda logs: logs._apply_success(
                log_id, payload, expect_usage, finish_values
            )
        )
        self._export_call(finished)
        return self

    @api.private
    def update_failure(self, error_message, error_code=None, **finish_values):
        """Finish the log as failed. Python only. The message is stored with
        any API key redacted. Extra keywords: the finish values of FINISH_VALUES, and
        ``usage`` (token counts as extract_usage gives them) for what the
        failed call reported."""
        self.ensure_one()
        self._check_finish_values(finish_values, allowed=FINISH_VALUES | {"usage"})
        if finish_values.get("usage") is not None:
            try:
                finish_values["usage"] = checked_usage(finish_values["usage"])
            except UsageError as error:
                raise UserError(str(error)) from None
        secrets = self._service_secrets(self.sudo().service_id.id)
        return self._record_failure(
            redact_secrets(error_message, secrets), error_code, finish_values
        )

    def _record_failure(self, message, error_code, finish_values, status="failed"):
        """update_failure of a ``message`` already redacted (the recorder
        redacts once, with the call's own key too); ``status``: fallback for
        an attempt a fallback chain passed on."""
        log_id = self.id
        finished = self._in_own_transaction(
            lambda logs: logs._apply_failure(
                log_id, message, error_code, finish_values, status
            )
        )
        self._export_call(finished)
        return self

    def _export_call(self, finished):
        """Send a finished, committed call (its values ``finished``) to the
        OpenTelemetry collector of the system parameters, if any. Never
        raises: telemetry is not worth a call."""
        try:
            params = self.env["ir.config_parameter"].sudo()
            endpoint = params.get_param(OTEL_ENDPOINT_PARAM)
            if not endpoint:
                return
            headers = params.get_param(OTEL_HEADERS_PARAM)
            exporter = otel.exporter_for(endpoint, headers or "")
            if exporter is None:
                return
            service = self.env["ai.service"].sudo().browse(finished["service_id"])
            finished = dict(finished, api_base_url=service.api_base_url)
            exporter.export(finished, *_span_times(finished))
        except Exception:
            _logger.warning("ai_usage_log: a call could not be exported", exc_info=True)

    def _check_finish_values(self, finish_values, allowed=FINISH_VALUES):
        if set(finish_values) - allowed:
            raise UserError(
                self.env._(
                    "A caller cannot set %(fields)s on a usage log; it may give: "
                    "%(allowed)s.",
                    fields=", ".join(sorted(set(finish_values) - allowed)),
                    allowed=", ".join(sorted(allowed)),
                )
            )

    # Both run in the log's own transaction: the caller's snapshot
    # (REPEATABLE READ) may predate the log's creation.
    @api.model
    def _apply_success(self, log_id, payload, expect_usage, finish_values):
        start = self._start_values(log_id)
        vals = self._finish_vals(start)
        vals.update(self._success_vals(payload, start, expect_usage))
        vals.update(finish_values)
        self._sql_update(log_id, vals)
        self._after_finish([start["request_time"]])
        return dict(start, **vals, id=log_id)

    @api.model
    def _success_vals(self, payload, start, expect_usage=True):
        """What a successful answer ``payload`` tells a log whose start
        values are ``start`` (its model and pricing inputs): the response's
        facts, usage and cost. A call's finish and a batch's results both
        take it."""
        vals = dict(status="success", **extract_response_info(payload))
        model_name = vals.get("response_model") or start["model"]
        if not start["model"] and model_name:
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
            inputs = dict(start, service_tier=vals.get("service_tier"))
            vals.update(self._usage_vals(usage, model_name, inputs))
        return vals

    @api.model
    def _apply_failure(
        self, log_id, error_message, error_code, finish_values, status="failed"
    ):
        start = self._start_values(log_id)
        finish_values = dict(finish_values)
        usage = finish_values.pop("usage", None)
        vals = self._finish_vals(start)
        vals.update(
            status=status,
            error_code=error_code or "error",
            error_message=error_message,
        )
        if usage is not None:
            priced = self._usage_vals(
                usage, finish_values.get("response_model") or start["model"], start
            )
            # the call's own error stays the log's; a pricing failure is logged
            priced.pop("error_code", None)
            priced.pop("error_message", None)
            vals.update(priced, usage_state="partial")
        else:
            vals["usage_state"] = "missing"
        vals.update(finish_values)
        self._sql_update(log_id, vals)
        self._after_finish([start["request_time"]])
        return dict(start, **vals, id=log_id)

    def _finish_bare(self, status, usage, error):
        """The last resort when finishing a log failed (``error``): write what
        the provider returned (status, token counts) and the failure, without
        cost, so that no answered call stays *processing*."""
        self.ensure_one()
        log_id = self.id

        def write(logs):
            logs.env.cr.execute(
                "SELECT status FROM ai_usage_log WHERE id = %s", [log_id]
            )
            if logs.env.cr.fetchone() != ("processing",):
                return  # finished after all (what failed came after the write)
            vals = dict(
                logs._finish_vals(logs._start_values(log_id)),
                status=status,
                usage_state="missing" if usage is None else "reported",
                price_missing=usage is not None,
                error_code="record_failed",
                error_message=f"The call's log could not be finished: {error!r}",
            )
            if usage is not None:
                vals.update(usage)
            logs._sql_update(log_id, vals)

        self._in_own_transaction(write)

    @api.model
    def _service_secrets(self, service_id):
        return self.env["ai.service"].sudo().browse(service_id).mapped("api_key")
