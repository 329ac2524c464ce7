import logging

from psycopg2 import errors

from odoo import api, models

from ..actions import notification
from ..rights import check_ai_admin
from ..tools import price_catalogue
from .ai_model_price import PRICE_FIELDS, ROW_KEY

_logger = logging.getLogger(__name__)


class AiModelPrice(models.Model):
    """The price list's rows from the price catalogue (genai-prices): added
    when a call meets a model the list lacks, by Update Prices and weekly
    (one model split over files, as mail's models are)."""

    _inherit = "ai.model.price"

    @api.model
    def _add_catalogue_rows(self, provider=price_catalogue.OPENAI, model_names=None):
        """Add a provider's catalogue rows (all, or those of ``model_names``)
        that the list does not have: a row is never overwritten or deleted,
        and one with the same provider, model and date and no service counts
        as there. Return the rows added."""
        version = price_catalogue.version()
        if not version:
            return self.browse()
        if model_names is None:
            rows = price_catalogue.rows(provider)
        else:
            rows = [
                row
                for name in model_names
                for row in price_catalogue.rows_for(name, provider)
            ]
        rows = [dict(row, price_provider=provider) for row in rows]
        existing = {
            tuple(price[name] for name in ROW_KEY)
            for price in self.with_context(active_test=False).search(
                [
                    ("service_id", "=", False),
                    ("price_provider", "=", provider),
                    ("model_name", "in", list({row["model_name"] for row in rows})),
                ]
            )
        }
        new = [row for row in rows if tuple(row[k] for k in ROW_KEY) not in existing]
        usd = self.env.ref("base.USD").id
        vals_list = [
            {
                "price_provider": provider,
                "model_name": row["model_name"],
                "match_type": "exact",
                "price_tier": row["price_tier"],
                "date_from": row["date_from"],
                "min_input_tokens": row["min_input_tokens"],
                "currency_id": usd,
                "source": f"genai-prices {version}"
                + (
                    f" ({row['catalogue']}'s price, the catalogue's fallback)"
                    if row.get("catalogue")
                    else ""
                ),
                **{
                    PRICE_FIELDS[value]: row[value]
                    for value in price_catalogue.ROW_VALUES
                },
            }
            for row in new
        ]
        if not vals_list:
            return self.browse()  # nor a create, which clears every cache
        try:
            with self.env.cr.savepoint():
                return self.create(vals_list)
        except errors.UniqueViolation:
            # Another worker added some of them at the same moment (the index
            # made this one wait for its commit): add the others. A call's
            # finish reads committed rows, so it is priced by the other's.
            _logger.info(
                "ai_usage_log: another worker added catalogue prices of %s at once",
                model_names,
            )
        added = self.browse()
        for vals in vals_list:
            try:
                with self.env.cr.savepoint():
                    added |= self.create(vals)
            except errors.UniqueViolation:
                continue
        return added

    @api.model
    def _add_rows_of_providers_in_use(self):
        """The catalogue's rows of OpenAI and of the providers whose prices
        a service uses. Models the catalogue names by a pattern only get
        theirs when first called (by the name they are called with)."""
        used = self.env["ai.service"].sudo().search([]).mapped("price_provider")
        added = self.browse()
        for provider in dict.fromkeys([price_catalogue.OPENAI, *used]):
            if provider:
                added |= self._add_catalogue_rows(provider)
        return added

    def action_update_prices(self):
        """Add the catalogue's new prices; say what was added."""
        check_ai_admin(
            self.env, self.env._("Only AI administrators may update prices.")
        )
        version = price_catalogue.version()
        if not version:
            return notification(
                self.env._("Prices not updated"),
                self.env._(
                    "The price catalogue is not installed on the server: install "
                    "it with 'pip install genai-prices' (the prices you have keep "
                    "working)."
                ),
                "warning",
                sticky=True,
            )
        added = self.sudo()._add_rows_of_providers_in_use()
        if not added:
            return notification(
                self.env._("Prices up to date"),
                self.env._(
                    "Your price list already has every price of genai-prices %s.",
                    version,
                ),
                "info",
            )
        shown = ", ".join(f"{p.model_name} ({p.date_from})" for p in added[:30])
        message = self.env._(
            "%(count)s prices added from genai-prices %(version)s: %(models)s%(more)s.",
            count=len(added),
            version=version,
            models=shown,
            more=" ..." if len(added) > 30 else "",
        )
        # it lists what was added: it stays until read
        return notification(
            self.env._("Prices updated"), message, "success", sticky=True
        )

    @api.model
    def _cron_update_prices(self):
        """Weekly: add the catalogue's new prices."""
        added = self._add_rows_of_providers_in_use()
        _logger.info("ai_usage_log: %d prices added from the catalogue", len(added))
        return len(added)
