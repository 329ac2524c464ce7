import logging
from datetime import UTC, datetime, timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..rights import check_ai_admin
from ..tools import anthropic_billing, openai_billing
from ..tools.http_client import CallFailed
from ..tools.pricing import PriceMissing, compute_cost
from ..tools.redaction import redact_secrets

_logger = logging.getLogger(__name__)
RECONCILE_DAYS = 7  # the providers' figures of the last days still move
KINDS = [("usage", "Tokens of a model"), ("cost", "Cost of the day")]
CAUSES = [
    ("none", "No drift"),
    ("tokens", "Tokens"),
    ("price", "Price"),
    ("unknown", "Unpriced"),
]
# the provider's billing module (tools) and the tiers its cost figures leave
# out: Anthropic's cost report has no Priority Tier costs
BILLING = {
    "openai": (openai_billing, ()),
    "anthropic": (anthropic_billing, ("priority",)),
}
EPSILON = 1e-8  # under the digits stored: no drift


class AiUsageReconciliation(models.Model):
    """A provider's own figures of a day (OpenAI's Usage and Costs APIs,
    Anthropic's Usage and Cost API, read with the service's admin key) next
    to what the logs recorded: tokens per model, cost per day.

    Drift explained: the billed tokens of a day and model are valued at our
    price of that day, model and tier (``valued_cost``). Then a day's
        billed - logged = (valued - logged) + (billed - valued)
    ``token_cost_drift`` (on each model's row) = valued - that model's
    logged cost: tokens Odoo did not see (calls of another application on
    the same key, project or workspace, or lost logs), at our price;
    ``price_cost_drift`` = billed - valued: the same tokens billed at another
    price (a price row or tier to fix), on each model's row when the cost
    figures are by model (Anthropic's), the rest (all of it for OpenAI's,
    by day only; web searches...) on the day's row. Summed by day, the two
    make the cost drift. A billed token we have no price for leaves the
    drift unsplit."""

    _name = "ai.usage.reconciliation"
    _description = "AI Usage Reconciliation"
    _order = "day desc, service_id, kind, model"

    service_id = fields.Many2one(
        "ai.service", required=True, ondelete="cascade", index=True
    )
    provider = fields.Selection(related="service_id.provider", store=True)
    company_id = fields.Many2one(related="service_id.company_id", store=True)
    day = fields.Date(required=True, index=True, help="The UTC day billed.")
    kind = fields.Selection(KINDS, required=True)
    model = fields.Char()
    billed_requests = fields.Integer(
        help="Requests the provider counted (Anthropic's report counts none)."
    )
    logged_requests = fields.Integer()
    billed_input_tokens = fields.Integer()
    logged_input_tokens = fields.Integer()
    billed_cached_tokens = fields.Integer()
    logged_cached_tokens = fields.Integer()
    billed_cache_write_tokens = fields.Integer()
    billed_cache_write_1h_tokens = fields.Integer("Billed 1-Hour Cache Writes")
    billed_output_tokens = fields.Integer()
    logged_output_tokens = fields.Integer()
    billed_tokens = fields.Integer(help="Input and output tokens billed.")
    logged_tokens = fields.Integer(help="Input and output tokens the logs hold.")
    token_drift = fields.Integer(help="Billed minus logged tokens.")
    billed_cost = fields.Float(
        "Billed Cost (USD)",
        digits=(16, 8),
        help="What the provider's cost figures say (Anthropic's Priority Tier, "
        "absent from them, valued at our price).",
    )
    logged_cost = fields.Float(
        "Logged Cost (USD)",
        digits=(16, 8),
        help="The cost of the logs priced in this currency.",
    )
    cost_drift = fields.Float(
        "Cost Drift (USD)", digits=(16, 8), help="Billed minus logged cost."
    )
    # a model's row holds its tokens' part (and its price part when the cost
    # figures are by model), the day's row the rest: a pivot sums each once
    valued_cost = fields.Float(
        "Billed Tokens at Our Price (USD)",
        digits=(16, 8),
        help="A model's billed tokens valued at our price of their day and tier.",
    )
    token_cost_drift = fields.Float(
        "Drift from Tokens (USD)",
        digits=(16, 8),
        help="A model's billed tokens at our price minus its logged cost: calls "
        "Odoo did not see (another application on the same key, project or "
        "workspace) or lost logs.",
    )
    price_cost_drift = fields.Float(
        "Drift from Price (USD)",
        digits=(16, 8),
        help="Billed cost minus the billed tokens at our price: the same tokens "
        "at another price (a price row or tier to fix). On a model's row when "
        "the cost figures are by model (Anthropic), else on the day's.",
    )
    unpriced = fields.Char(
        help="Billed tokens we have no price for (model, tier or kind): the "
        "drift cannot be split."
    )
    drift_cause = fields.Selection(
        CAUSES, help="The larger part of the drift, or Unpriced."
    )
    drift_explanation = fields.Char(compute="_compute_drift_explanation")
    drift_percent = fields.Float(
        "Drift (%)", digits=(16, 2), aggregator="avg", help="Drift of billed figures."
    )
    currency_id = fields.Many2one("res.currency")

    @api.depends(
        "kind", "drift_cause", "token_drift", "token_cost_drift", "cost_drift",
        "price_cost_drift", "unpriced",
    )  # fmt: skip
    def _compute_drift_explanation(self):
        # a day's tokens part: the sum of its models' (their rows hold it)
        days = self.filtered(lambda row: row.kind == "cost")
        models = days and self.search(
            [
                ("kind", "=", "usage"),
                ("service_id", "in", days.service_id.ids),
                ("day", "in", list(set(days.mapped("day")))),
            ]
        )
        tokens = {}
        for row in models:
            key = (row.service_id.id, row.day)
            tokens[key] = tokens.get(key, 0.0) + row.token_cost_drift
        for row in self:
            row.drift_explanation = row._explain(
                tokens.get((row.service_id.id, row.day), 0.0)
            )

    def _explain(self, day_tokens):
        env = self.env
        if self.unpriced:
            return env._(
                "No price here for %(what)s: set one, then reconcile again to "
                "split the drift.",
                what=self.unpriced,
            )
        if not self.drift_cause:
            return ""  # a row reconciled before drifts were explained
        if self.drift_cause == "none":
            return env._("Billed and logged agree.")
        if self.kind == "cost":
            tokens, price = day_tokens, self.cost_drift - day_tokens
        else:
            tokens, price = self.token_cost_drift, self.price_cost_drift
        if self.kind == "usage" and self.token_drift < 0:
            told = env._(
                "%(count)s logged tokens not billed, %(amount)s at our price (the "
                "figures read are of another key, project or workspace than some "
                "of these calls', or not final yet).",
                count=-self.token_drift,
                amount=_usd(tokens),
            )
        elif self.kind == "usage":
            told = env._(
                "%(count)s billed tokens not in the logs, %(amount)s at our price "
                "(calls Odoo did not log: another application on the same key or "
                "workspace, or lost logs).",
                count=self.token_drift,
                amount=_usd(tokens),
            )
        else:
            told = env._(
                "Of the drift: tokens %(amount)s (calls Odoo did not log: another "
                "application on the same key or workspace, or lost logs).",
                amount=_usd(tokens),
            )
        if self.kind == "usage" and not self.token_drift:
            told = (
                env._(
                    "The same tokens, %(amount)s at our price today against the "
                    "logs: a price changed since they were priced (Recompute Cost).",
                    amount=_usd(tokens),
                )
                if abs(tokens) >= EPSILON
                else ""
            )
        if self.kind == "usage" and abs(price) < EPSILON:
            return told
        price_told = env._(
            "Price %(amount)s: the same tokens billed at another price (a price "
            "row or tier to fix).",
            amount=_usd(price),
        )
        return f"{told} {price_told}".strip()

    @api.model
    def _reconcile(self, service, days=RECONCILE_DAYS):
        """Read the provider's figures of the service's last ``days`` UTC
        days and store them next to the logs'; return the rows. Raise
        UserError when the service has no admin key or the provider refuses."""
        check_ai_admin(self.env, self.env._("Only AI administrators may reconcile."))
        service = service.sudo()
        label = dict(service._fields["provider"].selection).get(service.provider)
        if service.provider not in BILLING:
            raise UserError(
                self.env._(
                    "%(provider)s publishes no usage or cost API to compare the "
                    "logs of %(service)s with: compare them by hand (README, "
                    "Reconciliation).",
                    provider=label,
                    service=service.name,
                )
            )
        if not service.admin_api_key:
            raise UserError(
                self.env._(
                    "%(service)s has no %(provider)s admin key: set one on the "
                    "service to compare the logs with %(provider)s's own figures.",
                    service=service.name,
                    provider=label,
                )
            )
        billing, unbilled_tiers = BILLING[service.provider]
        today = datetime.now(UTC).date()
        first = today - timedelta(days=days - 1)
        start = datetime.combine(first, datetime.min.time(), UTC).timestamp()
        end = datetime.combine(
            today + timedelta(days=1), datetime.min.time(), UTC
        ).timestamp()
        client = service._api_client(custom_api_key=service.admin_api_key)

        def get_json(endpoint):
            return client.request_json("GET", endpoint)[0]

        scope = service.reconcile_project_id or None
        try:
            usage = billing.usage_rows(get_json, start, end, scope)
            costs = billing.cost_rows(get_json, start, end, scope)
        except (CallFailed, openai_billing.BillingError) as error:
            raise UserError(self._refusal(service, label, error)) from None
        logged = self._logged(service, first, today + timedelta(days=1))
        rows = self._rows(service, usage, costs, logged, unbilled_tiers)
        existing = self.sudo().search(
            [("service_id", "=", service.id), ("day", ">=", first)]
        )
        existing.unlink()
        return self.sudo().create(rows)

    @api.model
    def _refusal(self, service, label, error):
        """What an administrator reads when the figures could not be read:
        a key refused (401, 403) in plain words, else the provider's message,
        no key in either."""
        if getattr(error, "http_status", None) in (401, 403):
            return self.env._(
                "%(provider)s refused the admin key of %(service)s (HTTP "
                "%(status)s): its usage and cost figures are read with an "
                "organization's admin key (OpenAI: sk-admin-..., Anthropic: "
                "sk-ant-admin-...), not a project's or workspace's API key.",
                provider=label,
                service=service.name,
                status=error.http_status,
            )
        message = redact_secrets(
            getattr(error, "message", str(error)),
            [service.admin_api_key, service.api_key],
        )
        return self.env._(
            "%(provider)s's usage figures of %(service)s could not be read: %(error)s",
            provider=label,
            service=service.name,
            error=message,
        )

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
    def _rows(self, service, usage, costs, logged, unbilled_tiers=()):
        """The rows of usage (per day and model) and cost (per day), the
        drift split into tokens and price (see the class)."""
        usd = self.env.ref("base.USD")
        rows = []
        # day: [valued, unbilled, unpriced, logged cost, models' price parts]
        per_day = {}
        for day, model in sorted(set(usage) | set(logged)):
            billed = usage.get((day, model)) or {}
            requests, inputs, cached, outputs, cost = logged.get(
                (day, model), (0, 0, 0, 0, 0.0)
            )
            valued, unbilled, unpriced = self._valued(
                service, day, model, billed.get("tiers") or {}, unbilled_tiers, usd
            )
            tokens = 0.0 if unpriced else valued - cost
            # the model's own price part, when the cost figures are by model
            model_costs = (costs.get(day) or {}).get(anthropic_billing.MODELS)
            price = 0.0
            if model_costs and not unpriced:
                price = model_costs.get(model, 0.0) + unbilled - valued
            totals = per_day.setdefault(day, [0.0, 0.0, [], 0.0, 0.0])
            totals[0] += valued
            totals[1] += unbilled
            totals[2] += unpriced
            totals[3] += cost
            totals[4] += price
            billed_tokens = billed.get("input_tokens", 0) + billed.get(
                "output_tokens", 0
            )
            token_drift = billed_tokens - inputs - outputs
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
                    "billed_cache_write_tokens": billed.get("cache_write_tokens", 0),
                    "billed_cache_write_1h_tokens": billed.get(
                        "cache_write_1h_tokens", 0
                    ),
                    "billed_output_tokens": billed.get("output_tokens", 0),
                    "logged_output_tokens": outputs,
                    "billed_tokens": billed_tokens,
                    "logged_tokens": inputs + outputs,
                    "token_drift": token_drift,
                    "drift_percent": _percent(billed_tokens, inputs + outputs),
                    "valued_cost": valued,
                    "token_cost_drift": tokens,
                    "price_cost_drift": price,
                    "unpriced": ", ".join(unpriced) or False,
                    "drift_cause": _cause(
                        tokens + price,
                        tokens,
                        price,
                        unpriced,
                        token_drift,
                        same_tokens=(
                            billed.get("input_tokens", 0),
                            billed.get("cached_tokens", 0),
                            billed.get("output_tokens", 0),
                        )
                        == (inputs, cached, outputs),
                    ),
                    "currency_id": usd.id,
                }
            )
        for day in sorted(set(costs) | set(per_day)):
            valued, unbilled, unpriced, ours, model_prices = per_day.get(
                day, (0.0, 0.0, [], 0.0, 0.0)
            )
            billed = (costs.get(day) or {}).get("USD", 0.0) + unbilled
            tokens = 0.0 if unpriced else valued - ours
            # what the models' rows do not hold: all of it when the cost
            # figures are per day only
            price = 0.0 if unpriced else billed - valued - model_prices
            rows.append(
                {
                    "service_id": service.id,
                    "day": day,
                    "kind": "cost",
                    "billed_cost": billed,
                    "logged_cost": ours,
                    "cost_drift": billed - ours,
                    "price_cost_drift": price,
                    "unpriced": ", ".join(unpriced) or False,
                    "drift_cause": _cause(
                        billed - ours, tokens, billed - ours - tokens, unpriced
                    ),
                    "drift_percent": _percent(billed, ours),
                    "currency_id": usd.id,
                }
            )
        return rows

    @api.model
    def _valued(self, service, day, model, tiers, unbilled_tiers, usd):
        """(value in USD of a model's billed tokens of a day at our prices,
        the part of it in tiers the cost figures leave out, what has no
        price). Priced as one call at the base rate of each tier: a day's
        sum is no single call's context length. A model only another
        application called gets its catalogue rows, as a logged call would."""
        Price = self.env["ai.model.price"]
        inputs = {"service_id": service.id, "price_provider": service.price_provider}
        valued = unbilled = 0.0
        unpriced = []
        for tier, counts in sorted(tiers.items()):
            found = Price._price_or_catalogue(model, inputs, day, tier)
            billed_usage = {
                "input_tokens": counts.get("input_tokens", 0),
                "cached_input_tokens": counts.get("cached_tokens", 0),
                "cache_write_tokens": counts.get("cache_write_tokens", 0),
                "cache_write_1h_tokens": counts.get("cache_write_1h_tokens", 0),
                "output_tokens": counts.get("output_tokens", 0),
            }
            if not any(billed_usage.values()):
                continue
            if not found:
                unpriced.append(f"{model or '?'} ({tier})")
                continue
            _price_id, prices, currency_id, _how = found
            try:
                value = compute_cost(billed_usage, prices)
            except PriceMissing as missing:
                unpriced.append(f"{model} ({tier}, {missing})")
                continue
            if currency_id != usd.id:
                value = (
                    self.env["res.currency"]
                    .browse(currency_id)
                    ._convert(value, usd, service.company_id, day, round=False)
                )
            valued += value
            if tier in unbilled_tiers:
                unbilled += value
        return valued, unbilled, unpriced

    @api.model
    def _create_demo_reconciliation(self, service_id):
        """Billed figures for the demo database."""
        from ..demo_logs import create_demo_reconciliation

        return create_demo_reconciliation(self.sudo(), service_id)

    @api.model
    def _cron_reconcile(self):
        """Daily: reconcile every service of a provider with a usage API
        that has an admin key."""
        services = (
            self.env["ai.service"]
            .sudo()
            .search([("provider", "in", list(BILLING)), ("admin_api_key", "!=", False)])
        )
        for service in services:
            try:
                self._reconcile(service)
            except UserError as error:
                _logger.warning("ai_usage_log: reconciliation skipped: %s", error)


def _cause(drift, tokens, price, unpriced, token_drift=0, same_tokens=False):
    """The larger part of a drift; tokens when only tokens differ (a model
    we price at nothing); price when the very tokens billed were logged (a
    price changed since the calls were priced); none when the costs agree,
    whatever the parts (they then cancel out)."""
    if unpriced:
        return "unknown"
    if abs(drift) < EPSILON:
        return "tokens" if token_drift else "none"
    if same_tokens:
        return "price"
    return "tokens" if abs(tokens) >= abs(price) else "price"


def _usd(amount):
    amount = round(amount, 6)  # -0.0 when a rounding error: "+$0.000000"
    return f"{'+' if amount >= 0 else '-'}${abs(amount):,.6f}"


def _percent(billed, logged):
    if not billed:
        return 0.0 if not logged else -100.0
    return round((billed - logged) * 100.0 / billed, 2)
