import re
from urllib.parse import urlsplit

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..actions import logs_action, notification
from ..compat import Constraint, set_up_groups, table_constraints
from ..exceptions import AiCallError
from ..rights import ADMIN_GROUP
from ..tools import providers
from .ai_model_price import catalogue_providers, check_catalogue_provider

# a key: read by AI administrators only, never copied, exported or prefetched
# with the rest of a service
SECRET = {
    "groups": ADMIN_GROUP,
    "copy": False,
    "exportable": False,
    "prefetch": False,
}


@table_constraints
class AiService(models.Model):
    _name = "ai.service"
    _description = "AI Service"
    _inherit = ["mail.thread"]
    _order = "sequence, id"

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        index=True,
        tracking=True,
    )
    provider = fields.Selection(
        providers.SELECTION,
        required=True,
        default="openai",
        tracking=True,
        help="Whose API this is: how requests are addressed and authenticated, "
        "which failures are retried, where prices come from.",
    )
    api_base_url = fields.Char(
        "API Base URL",
        required=True,
        default="https://api.openai.com/v1",
        tracking=True,
        help="Azure OpenAI: https://<resource>.openai.azure.com. "
        "OpenAI-compatible: the server's /v1 URL (Mistral, Groq, OpenRouter, "
        "vLLM, Ollama...).",
    )
    api_version = fields.Char(
        "API Version",
        tracking=True,
        help="Azure OpenAI: the api-version of deployment URLs (empty: the v1 API, "
        "the model naming the deployment). Anthropic: the anthropic-version header.",
    )
    price_provider = fields.Selection(
        catalogue_providers,
        "Price Catalogue",
        tracking=True,
        help="The price catalogue's (genai-prices) provider whose prices bill this "
        "service's calls. Empty: only prices entered for this service.",
    )
    api_key = fields.Char("API Key", **SECRET)
    has_api_key = fields.Boolean(compute="_compute_has_api_key")
    admin_api_key = fields.Char(
        "Admin Key",
        **SECRET,
        help="An organization admin key (OpenAI: sk-admin-..., Anthropic: "
        "sk-ant-admin-...): with it, the provider's own usage and cost figures "
        "are read daily and compared with the logs (Analysis > Reconciliation).",
    )
    reconcile_project_id = fields.Char(
        "Project or Workspace",
        groups="ai_usage_log.group_ai_usage_admin",
        help="Compare only this part of the organization: OpenAI's project "
        "(proj_...) or Anthropic's workspace (wrkspc_...) of this service's key. "
        "Empty: the whole organization.",
    )
    default_model = fields.Char(required=True, default="gpt-4o-mini", tracking=True)
    timeout = fields.Float(
        "Timeout (s)",
        default=60.0,
        required=True,
        tracking=True,
        help="Time a call may take, retries included.",
    )
    max_retries = fields.Integer(default=2, required=True, tracking=True)
    rate_limit_per_minute = fields.Integer(
        "Rate Limit (calls/min/user)",
        tracking=True,
        help="Calls one user may make per minute on this service; zero: no limit.",
    )
    price_ids = fields.One2many(
        "ai.model.price", "service_id", "Prices for this service"
    )
    log_ids = fields.One2many("ai.usage.log", "service_id", "Usage Logs")

    usage_count = fields.Integer("Calls", compute="_compute_counters")
    error_count = fields.Integer("Failed Calls", compute="_compute_counters")
    last_used = fields.Datetime(compute="_compute_counters")
    total_tokens = fields.Integer(compute="_compute_counters")
    total_cost = fields.Float(compute="_compute_counters", digits=(16, 8))
    currency_id = fields.Many2one(related="company_id.currency_id")

    _timeout_positive = Constraint(
        "CHECK(timeout > 0)",
        "The timeout must be positive.",
    )
    _max_retries_range = Constraint(
        "CHECK(max_retries >= 0 AND max_retries <= 10)",
        "Max retries must be 0 to 10.",
    )

    @api.constrains("api_base_url")
    def _check_api_base_url(self):
        for service in self:
            if not re.match(r"^https?://[^\s/]+", service.api_base_url or ""):
                raise ValidationError(
                    self.env._("The API base URL must start with http:// or https://.")
                )

    @api.constrains("price_provider")
    def _check_price_provider(self):
        for service in self:
            check_catalogue_provider(self.env, service.price_provider)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            provider = providers.get(vals.get("provider"))
            if provider.default_base_url and not vals.get("api_base_url"):
                vals["api_base_url"] = provider.default_base_url
            vals.setdefault("api_version", provider.default_api_version)
            vals.setdefault("price_provider", provider.catalogue_id)
            vals.setdefault("default_model", provider.default_model)
        return super().create(vals_list)

    def write(self, vals):
        if {"provider", "price_provider"} & set(vals):
            self.env.registry.clear_cache()  # prices are looked up by provider
        return super().write(vals)

    @api.onchange("provider")
    def _onchange_provider(self):
        """Propose the provider's URL, API version, model and prices; a URL or
        a model the administrator typed is kept."""
        provider = providers.get(self.provider)
        known = providers.PROVIDERS.values()
        if provider.default_base_url or self.api_base_url in {
            p.default_base_url for p in known
        }:
            self.api_base_url = provider.default_base_url or "https://"
        if not self.default_model or self.default_model in {
            p.default_model for p in known
        }:
            self.default_model = provider.default_model
        self.api_version = provider.default_api_version
        self.price_provider = provider.catalogue_id

    def _compute_has_api_key(self):
        for service in self:
            service.has_api_key = bool(service.sudo().api_key)

    def _compute_counters(self):
        """From the logs the reader may see (ai.usage.report), so exact
        whatever runs concurrently, and fast with millions of logs."""
        counters = self.env["ai.usage.report"]._service_counters(self.ids)
        for service in self:
            calls, failed, tokens, cost, last = counters.get(
                service.id, (0, 0, 0, 0.0, False)
            )
            service.usage_count = calls
            service.error_count = failed
            service.total_tokens = tokens
            service.total_cost = float(cost)
            service.last_used = last

    @api.model
    def _set_up_security_groups(self):
        """Called by the add-on's data at install and update."""
        set_up_groups(
            self.env,
            "ai_usage_log.module_category_ai_usage",
            ["ai_usage_log.group_ai_usage_user", ADMIN_GROUP],
            ADMIN_GROUP,
            ["ai_usage_log.action_server_recompute_cost"],
        )

    def action_test_connection(self):
        """Check the key and the URL by listing the models. For AI
        administrators: it spends the company key."""
        self.ensure_one()
        try:
            models_found = self._test_connection()
        except AiCallError as error:
            notification = self._notify(
                self.env._("Connection failed"), self._plain_failure(error), "danger"
            )
            if error.log_id:
                notification["params"]["message"] += " %s"
                notification["params"]["links"] = [
                    {
                        "label": self.env._("Details"),
                        "url": "/odoo/action-ai_usage_log.action_ai_usage_log/"
                        f"{error.log_id}",
                    }
                ]
            return notification
        except AccessError:
            raise  # not an AI administrator: not a connection failure
        except UserError as error:
            return self._notify(self.env._("Connection failed"), str(error), "danger")
        return self._notify(
            self.env._("Connection successful"),
            self.env._(
                "%(name)s answered: %(count)s models available.",
                name=self.name,
                count=models_found,
            ),
            "success",
        )

    def _test_connection(self):
        """List the provider's models (the connection test, whatever the
        provider); return how many it lists. For AI administrators."""
        payload = self.make_api_call(
            "models", method="GET", request_type="test_connection"
        )
        return len(payload.get("data") or payload.get("models") or [])

    def _plain_failure(self, error):
        """What a failed test means, in the words of the one who fixes it;
        the technical message stays on the call's log."""
        host = urlsplit(self.api_base_url or "").hostname or self.api_base_url
        code, status = error.error_code, error.http_status or 0
        if code in ("connection_error", "connect_timeout"):
            return self.env._(
                "Cannot reach %(host)s: check the server's outbound access "
                "(firewall, proxy, DNS) and the Base URL.",
                host=host,
            )
        if code == "ssl_error":
            return self.env._(
                "The secure connection to %(host)s failed: check the server's "
                "certificates or its proxy.",
                host=host,
            )
        if code == "timeout":
            return self.env._(
                "%(host)s did not answer within %(seconds)s seconds.",
                host=host,
                seconds=self.timeout,
            )
        if status == 401 or code in ("invalid_api_key", "authentication_error"):
            return self.env._(
                "%(host)s refused the API key: check the key of this service.",
                host=host,
            )
        if status == 403:
            return self.env._(
                "The API key may not list the models: check its permissions, "
                "project or region."
            )
        if status == 404:
            return self.env._(
                "%(host)s has nothing at this address: check the Base URL and, "
                "for Azure, the API version.",
                host=host,
            )
        if status == 429:
            return self.env._(
                "%(host)s refuses calls for now: rate limit or quota reached; check "
                "the account's plan and billing.",
                host=host,
            )
        if status >= 500:
            return self.env._(
                "%(host)s had an error of its own (HTTP %(status)s): try again later.",
                host=host,
                status=status,
            )
        return self.env._(
            "The test failed (%(code)s): see the details.", code=code or status
        )

    def action_reconcile(self):
        """Compare the last days' logs with the provider's own figures now."""
        self.ensure_one()
        rows = self.env["ai.usage.reconciliation"]._reconcile(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "ai_usage_log.action_ai_usage_reconciliation"
        )
        action["domain"] = [("id", "in", rows.ids)]
        return action

    def action_view_logs(self):
        self.ensure_one()
        context = {"default_service_id": self.id}
        if self.env.context.get("only_failed"):
            context["search_default_filter_failed"] = 1
        return logs_action(self.env, [("service_id", "=", self.id)], context=context)

    def _notify(self, title, message, kind):
        # not sticky: a second try must not stack a second message; the
        # form's counters count the test call
        return notification(title, message, kind, reload=True)
