from odoo import models


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    def session_info(self):
        """The company currency, in which reports sum costs, and US dollars,
        in which providers bill (active or not)."""
        info = super().session_info()
        info["ai_usage_currency_id"] = self.env.company.currency_id.id
        usd = self.env.ref("base.USD").sudo()
        info["ai_usage_usd"] = {"symbol": usd.symbol, "position": usd.position}
        return info
