from odoo import models


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    def session_info(self):
        """The company currency, in which the pivot and graph show costs."""
        info = super().session_info()
        info["ai_usage_currency_id"] = self.env.company.currency_id.id
        return info
