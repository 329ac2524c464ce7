from odoo import api, models


class AiUsageCachedConfig(models.AbstractModel):
    """Configuration that every call reads through an ormcache (prices,
    budgets): any change to it clears the cache, in every worker."""

    _name = "ai.usage.cached.config"
    _description = "AI Usage Cached Configuration"

    @api.model_create_multi
    def create(self, vals_list):
        if vals_list:
            self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()
