from odoo import api, fields, models, tools

from ..tools.openai_usage import compute_cost


class AiModelPrice(models.Model):
    """Price of one model (or model family) from a given date.

    A log is priced with the entry whose model name matches best (exact,
    then the longest prefix), for its service or for all services, valid
    at the log's request time (UTC date)."""

    _name = "ai.model.price"
    _inherit = ["ai.usage.cached.config"]
    _description = "AI Model Price"
    _order = "model_name, service_id, date_from desc, id desc"

    model_name = fields.Char(
        required=True,
        index=True,
        help="Model name as OpenAI reports it, or its beginning (e.g. gpt-4o-mini).",
    )
    match_type = fields.Selection(
        [("exact", "Exact name"), ("prefix", "Name starts with")],
        required=True,
        default="prefix",
    )
    service_id = fields.Many2one(
        "ai.service",
        ondelete="cascade",
        index=True,
        help="Leave empty for a price that applies to every service.",
    )
    date_from = fields.Date(
        "Valid From",
        required=True,
        default=fields.Date.context_today,
    )
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        default=lambda self: self.env.ref("base.USD"),
    )
    input_price = fields.Float("Input / 1M tokens", digits=(16, 6), required=True)
    cached_input_price = fields.Float(
        "Cached input / 1M tokens",
        digits=(16, 6),
        help="Price of cached input tokens. Zero means no discount: cached tokens "
        "cost the input price.",
    )
    output_price = fields.Float("Output / 1M tokens", digits=(16, 6))
    reasoning_price = fields.Float(
        "Reasoning / 1M tokens",
        digits=(16, 6),
        help="Zero means reasoning tokens are billed as output tokens, as OpenAI does.",
    )
    source = fields.Char(help="Where and when this price was taken.")
    active = fields.Boolean(default=True)

    _sql_constraints = [
        (
            "prices_not_negative",
            (
                "CHECK(input_price >= 0 AND cached_input_price >= 0"
                " AND output_price >= 0 AND reasoning_price >= 0)"
            ),
            "Prices cannot be negative.",
        ),
    ]

    @api.depends("model_name", "match_type", "date_from")
    def _compute_display_name(self):
        for price in self:
            suffix = "*" if price.match_type == "prefix" else ""
            price.display_name = f"{price.model_name}{suffix} ({price.date_from})"

    def _price_dict(self):
        self.ensure_one()
        return {
            "input": self.input_price,
            "cached_input": self.cached_input_price,
            "output": self.output_price,
            "reasoning": self.reasoning_price,
        }

    @api.model
    def _find_price(self, model_name, service, when):
        """The price valid for ``model_name`` on ``service`` at ``when``
        (a datetime, compared by its UTC date); an empty recordset if none."""
        found = self._find_price_values(
            model_name or "",
            service.id if service else False,
            fields.Date.to_date(when),
        )
        return self.browse(found[0] if found else ())

    @api.model
    @tools.ormcache("model_name", "service_id", "day")
    def _find_price_values(self, model_name, service_id, day):
        """(price id, {input, cached_input, output, reasoning}, currency id)
        of the best match, or None. Cached: every call looks its price up."""
        if not model_name:
            return None
        candidates = self.sudo().search(
            [
                ("date_from", "<=", day),
                ("service_id", "in", [service_id, False]),
                "|",
                ("model_name", "=", model_name),
                ("match_type", "=", "prefix"),
            ]
        )
        matching = candidates.filtered(
            lambda p: p.model_name == model_name or model_name.startswith(p.model_name)
        )
        if not matching:
            return None
        best = max(
            matching,
            key=lambda p: (
                len(p.model_name),
                p.match_type == "exact",
                bool(p.service_id),
                p.date_from,
                p.id,
            ),
        )
        return best.id, best._price_dict(), best.currency_id.id

    @api.model
    def _cost_vals(self, usage, model_name, facts):
        """Log values pricing ``usage`` of ``model_name`` for a call whose
        ``facts`` are request_time, service_id, company_id and
        company_currency_id: the prices used, the cost in their currency
        and in the company's (at the request date); or price_missing."""
        when = fields.Date.to_date(facts["request_time"])
        found = self._find_price_values(model_name or "", facts["service_id"], when)
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
