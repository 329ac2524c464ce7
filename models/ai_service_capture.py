from odoo import api, fields, models

from .. import captured_calls
from ..tools import providers


class AiService(models.Model):
    """The services of captured calls (one model split over files, as
    mail's models are): a call to a provider's API that no service of the
    database matches is logged under the company's *captured* service of
    that provider, which holds no key."""

    _inherit = "ai.service"

    is_captured = fields.Boolean(
        "Captured Calls",
        readonly=True,
        help="Kept by the add-on for the calls other code makes to this provider "
        "(no key stored): its calls are logged, its prices apply to them.",
    )

    @api.model
    def _captured_service(self, catalogue_id, url):
        """The current company's captured service of the catalogue provider
        ``catalogue_id`` (None: an OpenAI-compatible server an administrator
        listed), made in a transaction of its own when it is the first."""
        provider = next(
            (
                p
                for p in providers.PROVIDERS.values()
                if catalogue_id and p.catalogue_id == catalogue_id
            ),
            providers.get("openai_compatible"),
        )
        domain = [
            ("is_captured", "=", True),
            ("company_id", "=", self.env.company.id),
            ("provider", "=", provider.code),
            ("price_provider", "=", catalogue_id or False),
        ]
        found = self.sudo().with_context(active_test=False).search(domain, limit=1)
        if found:
            return found.with_env(self.env)
        base_url = provider.default_base_url or url.split("/v1")[0] + "/v1"
        company_id = self.env.company.id
        with self.env.registry.cursor() as cr:
            # one at a time: two workers meeting a new provider make one service
            cr.execute("SELECT pg_advisory_xact_lock(%s)", [hash("ai_capture") % 2**31])
            env = api.Environment(cr, self.env.uid, {}, su=True)
            service = env["ai.service"].with_context(active_test=False).search(
                domain, limit=1
            ) or env["ai.service"].create(
                {
                    "name": env._(
                        "%s (captured calls)",
                        dict(
                            self._fields["price_provider"]._description_selection(env)
                        ).get(catalogue_id, provider.label),
                    ),
                    "provider": provider.code,
                    "price_provider": catalogue_id or False,
                    "api_base_url": base_url,
                    "company_id": company_id,
                    "is_captured": True,
                }
            )
            service_id = service.id
        return self.browse(service_id)

    @api.private
    def usage_context(self, **values):
        """``with env["ai.service"].usage_context(partner_id=..., contact_id=...,
        metadata={...}):`` every call made inside, captured or through the
        helpers, carries these values (CALL_OPTIONS but the key); nested
        blocks merge; other threads and later work do not see them."""
        self._start_values(**dict(values))  # bad values: UserError now
        return captured_calls.usage_context(**values)

    # What each process captures follows its services: here at once, in the
    # other processes once Odoo signals the caches cleared.
    def _targets_changed(self):
        captured_calls.forget_targets(self.env.cr.dbname)
        self.env.registry.clear_cache()

    @api.model_create_multi
    def create(self, vals_list):
        services = super().create(vals_list)
        self._targets_changed()
        return services

    def write(self, vals):
        result = super().write(vals)
        if {"api_base_url", "active", "company_id"} & set(vals):
            self._targets_changed()
        return result

    def unlink(self):
        result = super().unlink()
        self._targets_changed()
        return result
