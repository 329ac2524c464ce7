import logging
from datetime import UTC, datetime, timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..rights import check_ai_admin
from ..tools import openai_billing
from ..tools.http_client import CallFailed
from ..tools.redaction import redact_secrets

_logger = logging.getLogger(__name__)
RECONCILE_DAYS = 7  # OpenAI's figures of the last days still move
KINDS = [("usage", "Tokens of a model"), ("cost", "Cost of the day")]


class AiUsageReconciliation(models.Model):
    """OpenAI's own figures of a day (its Usage and Costs APIs, read with
    the service's admin key) next to what the logs recorded: tokens and
    requests per model, cost per day. A drift means calls made outside
    Odoo with the same organization, a mispriced model, or lost logs."""

    _name = "ai.usage.reconciliation"
    _description = "AI Usage Reconciliation"
    _order = "day desc, service_id, kind, model"

    service_id = fields.Many2one(
        "ai.service", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="service_id.company_id", store=True)
    day = fields.Date(required=True, index=True, help="The UTC day OpenAI bills.")
    kind = fields.Selection(KINDS, required=True)
    model = fields.Char()
    billed_requests = fields.Integer()
    logged_requests = fields.Integer()
    billed_input_tokens = fields.Integer()
    logged_input_tokens = fields.Integer()
    billed_cached_tokens = fields.Integer()
    logged_cached_tokens = fields.Integer()
    billed_output_tokens = fields.Integer()
    logged_output_tokens = fields.Integer()
    billed_tokens = fields.Integer(help="Input and output tokens OpenAI counted.")
    logged_tokens = fields.Integer(help="Input and output tokens the logs hold.")
    token_drift = fields.Integer(help="Billed minus logged tokens.")
    billed_cost = fields.Float(
        "Billed Cost (USD)", digits=(16, 8), help="What OpenAI's Costs API says."
    )
    logged_cost = fields.Float(
        "Logged Cost (USD)",
        digits=(16, 8),
        help="The cost of the day's logs priced in this currency.",
    )
    cost_drift = fields.Float(
        "Cost Drift (USD)", digits=(16, 8), help="Billed minus logged cost."
    )
    drift_percent = fields.Float(
        "Drift (%)", digits=(16, 2), aggregator="avg", help="Drift of billed figures."
    )
    currency_id = fields.Many2one("res.currency")

    @api.model
    def _reconcile(self, service, days=RECONCILE_DAYS):
        """Read OpenAI's figures of the service's last ``days`` UTC days and
        store them next to the logs'; return the rows. Raise UserError when
        the service has no admin key or OpenAI refuses."""
        check_ai_admin(self.env, self.env._("Only AI administrators may reconcile."))
        service = service.sudo()
        if not service.admin_api_key:
            raise UserError(
                self.env._(
                    "%s has no OpenAI admin key: set one on the service to compare "
                    "the logs with OpenAI's own figures.",
                    service.name,
                )
            )
        today = datetime.now(UTC).date()
        first = today - timedelta(days=days - 1)
        start = datetime.combine(first, datetime.min.time(), UTC).timestamp()
        end = datetime.combine(
            today + timedelta(days=1), datetime.min.time(), UTC
        ).timestamp()
        client = service._api_client(custom_api_key=service.admin_api_key)

        def get_json(endpoint):
            return client.request_json("GET", endpoint)[0]

        project = service.reconcile_project_id or None
        try:
            usage = openai_billing.usage_rows(get_json, start, end, project)
            costs = openai_billing.cost_rows(get_json, start, end, project)
        except (CallFailed, openai_billing.BillingError) as error:
            message = redact_secrets(
                getattr(error, "message", str(error)),
                [service.admin_api_key, service.api_key],
            )
            raise UserError(
                self.env._(
                    "OpenAI's usage figures of %(service)s could not be read: "
                    "%(error)s",
                    service=service.name,
                    error=message,
                )
            ) from None
        logged = self._logged(service, first, today + timedelta(days=1))
        rows = self._rows(service, usage, costs, logged)
        existing = self.sudo().search(
            [("service_id", "=", service.id), ("day", ">=", first)]
        )
        existing.unlink()
        return self.sudo().create(rows)

    @api.model
    def _logged(self, service, first, end):
        """{(day, model): (requests, input, cached, output, USD cost)} of the
        service's logs with usage, by UTC day and the model OpenAI names."""
        self.env["ai.usage.log"].flush_model()
        usd = self.env.ref("base.USD").id
        self.env.cr.execute(
            SQL(
                """
                SELECT request_time::date, COALESCE(response_model, model, ''),
                       count(*), sum(COALESCE(input_tokens, 0)),
                       sum(COALESCE(cached_input_tokens, 0)),
                       sum(COALESCE(output_tokens, 0)),
                       sum(CASE WHEN currency_id = %s THEN COALESCE(cost, 0) END)
                  FROM ai_usage_log
                 WHERE service_id = %s AND request_time >= %s AND request_time < %s
                   AND usage_state IN ('reported', 'partial')
                 GROUP BY 1, 2
                """,
                usd,
                service.id,
                first,
                end,
            )
        )
        return {
            (day, model): (requests, inputs, cached, outputs, cost or 0.0)
            for day, model, requests, inputs, cached, outputs, cost in (
                self.env.cr.fetchall()
            )
        }

    @api.model
    def _rows(self, service, usage, costs, logged):
        usd = self.env.ref("base.USD")
        rows = []
        for day, model in sorted(set(usage) | set(logged)):
            billed = usage.get((day, model)) or {}
            requests, inputs, cached, outputs, _cost = logged.get(
                (day, model), (0, 0, 0, 0, 0.0)
            )
            billed_tokens = billed.get("input_tokens", 0) + billed.get(
                "output_tokens", 0
            )
            rows.append(
                {
                    "service_id": service.id,
                    "day": day,
                    "kind": "usage",
                    "model": model or False,
                    "billed_requests": billed.get("requests", 0),
                    "logged_requests": requests,
                    "billed_input_tokens": billed.get("input_tokens", 0),
                    "logged_input_tokens": inputs,
                    "billed_cached_tokens": billed.get("cached_tokens", 0),
                    "logged_cached_tokens": cached,
                    "billed_output_tokens": billed.get("output_tokens", 0),
                    "logged_output_tokens": outputs,
                    "billed_tokens": billed_tokens,
                    "logged_tokens": inputs + outputs,
                    "token_drift": billed_tokens - inputs - outputs,
                    "drift_percent": _percent(billed_tokens, inputs + outputs),
                }
            )
        logged_cost = {}
        for (day, _model), values in logged.items():
            logged_cost[day] = logged_cost.get(day, 0.0) + values[4]
        for day in sorted(set(costs) | set(logged_cost)):
            billed = (costs.get(day) or {}).get("USD", 0.0)
            ours = logged_cost.get(day, 0.0)
            rows.append(
                {
                    "service_id": service.id,
                    "day": day,
                    "kind": "cost",
                    "billed_cost": billed,
                    "logged_cost": ours,
                    "cost_drift": billed - ours,
                    "drift_percent": _percent(billed, ours),
                    "currency_id": usd.id,
                }
            )
        return rows

    @api.model
    def _create_demo_reconciliation(self, service_id):
        """Billed figures for the demo database."""
        from ..demo_logs import create_demo_reconciliation

        return create_demo_reconciliation(self.sudo(), service_id)

    @api.model
    def _cron_reconcile(self):
        """Daily: reconcile every OpenAI service that has an admin key."""
        services = (
            self.env["ai.service"]
            .sudo()
            .search([("provider", "=", "openai"), ("admin_api_key", "!=", False)])
        )
        for service in services:
            try:
                self._reconcile(service)
            except UserError as error:
                _logger.warning("ai_usage_log: reconciliation skipped: %s", error)


def _percent(billed, logged):
    if not billed:
        return 0.0 if not logged else -100.0
    return round((billed - logged) * 100.0 / billed, 2)
