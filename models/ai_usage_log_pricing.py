from odoo import fields, models

from ..actions import notification
from ..rights import check_ai_admin
from ..tools.usage import USAGE_FIELDS


class AiUsageLog(models.Model):
    """Re-pricing logs after a price was added or corrected (one model split
    over files, as mail's models are)."""

    _inherit = "ai.usage.log"

    # which catalogue priced the call (an Azure call can be billed at
    # OpenAI's price, as genai-prices prices it), and where that price came from
    price_provider = fields.Selection(
        related="price_id.price_provider", string="Priced From"
    )
    price_source = fields.Char(related="price_id.source", string="Price Source")

    def action_recompute_cost(self):
        """Re-price the selected logs with the prices valid at their request
        time, e.g. after a missing price was added or a price corrected, and
        say what came of it. For AI administrators: nobody else writes a
        log's cost."""
        check_ai_admin(
            self.env,
            self.env._("Only AI administrators may recompute the cost of logs."),
        )
        self.check_access("read")
        logs = self.sudo().with_context(ai_usage_defer_summary=True)
        priced, unpriced = logs._recompute_cost()
        self._resummarize_closed_days(self.mapped("request_time"))
        parts = [
            self.env._(
                "%(priced)s of %(count)s re-priced",
                priced=len(priced),
                count=len(self),
            )
        ]
        if unpriced:
            oldest = min(unpriced, key=lambda log: log.request_time)
            parts.append(
                self.env._(
                    "without a price at their date: %(count)s (the oldest: %(model)s "
                    "on %(date)s; add a price valid from that day)",
                    count=len(unpriced),
                    model=oldest.model or oldest.response_model,
                    date=fields.Date.to_string(oldest.request_time.date()),
                )
            )
        if without_usage := len(self) - len(priced) - len(unpriced):
            parts.append(
                self.env._("without a usage to price: %(count)s", count=without_usage)
            )
        return notification(
            self.env._("Recompute Cost"),
            "; ".join(parts) + ".",
            "warning" if unpriced else "success",
            sticky=bool(unpriced),
            reload=True,  # the form or list shows the new costs
        )

    def action_recompute_model_cost(self):
        """Recompute Cost of every call of this log's model still without a
        price (the round Add its price starts). For AI administrators."""
        self.ensure_one()
        model_name = self.model or self.response_model
        return self.search(
            [("price_missing", "=", True), "|", ("model", "=", model_name),
             ("response_model", "=", model_name)]
        ).action_recompute_cost()  # fmt: skip

    def action_add_price(self):
        """A new price row for this log's model, valid from the day of the
        oldest call of that model still without a price, so that Recompute
        Cost prices them all."""
        self.ensure_one()
        model_name = self.model or self.response_model
        oldest = self.search(
            [
                ("price_missing", "=", True),
                "|",
                ("model", "=", model_name),
                ("response_model", "=", model_name),
            ],
            order="request_time asc",
            limit=1,
        )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("New Price"),
            "res_model": "ai.model.price",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
            "context": {
                "default_model_name": model_name,
                "default_provider": self.service_id.price_provider,
                "default_date_from": fields.Date.to_string(
                    (oldest or self).request_time.date()
                ),
            },
        }

    def _recompute_cost(self):
        """(logs priced, logs without a price) of those with a usage to price."""
        priced = unpriced = self.browse()
        for log in self.filtered(lambda lg: lg.usage_state in ("reported", "partial")):
            usage = {name: log[name] for name in USAGE_FIELDS}
            vals = self.env["ai.model.price"]._cost_vals(
                usage, log.response_model or log.model, log._pricing_inputs()
            )
            log.write(vals)
            if vals["price_missing"]:
                log._clear_cost()
                unpriced |= log
            else:
                priced |= log
        return priced, unpriced

    def _clear_cost(self):
        # The ORM writes 0.0 for an empty Float; an unknown cost must stay NULL.
        self.flush_recordset()
        self.env.cr.execute(
            "UPDATE ai_usage_log SET cost = NULL, cost_company = NULL,"
            " currency_id = NULL WHERE id IN %s",
            [tuple(self.ids)],
        )
        self.invalidate_recordset(["cost", "cost_company", "currency_id"])
