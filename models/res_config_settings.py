import secrets

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

from .. import captured_calls
from ..actions import notification
from ..tools import price_catalogue

METRICS_TOKEN_PARAM = "ai_usage_log.metrics_token"


class ResConfigSettings(models.TransientModel):
    """Settings > AI Usage: what the add-on reads from system parameters,
    with the same keys, so that either place sets them."""

    _inherit = "res.config.settings"

    ai_usage_retention_days = fields.Integer(
        "Keep Logs (days)",
        config_parameter="ai_usage_log.retention_days",
        default=0,
        help="Logs older than this are deleted once summed in the daily summary, "
        "whose figures stay. 0: keep every log.",
    )
    ai_usage_alert_error_rate = fields.Float(
        "Error Rate Alert (%)",
        config_parameter="ai_usage_log.alert_error_rate_percent",
        default=5.0,
    )
    ai_usage_alert_min_calls = fields.Integer(
        "Calls Before an Error Rate Alert",
        config_parameter="ai_usage_log.alert_min_calls",
        default=10,
    )
    ai_usage_alert_spike_factor = fields.Float(
        "Token Spike Factor",
        config_parameter="ai_usage_log.alert_token_spike_factor",
        default=3.0,
        help="An alert fires when a day uses this many times the tokens of the "
        "average day of the week before.",
    )
    ai_usage_interrupted_margin = fields.Integer(
        "Interrupted After (s)",
        config_parameter="ai_usage_log.interrupted_margin_seconds",
        default=300,
        help="Seconds beyond a service's timeout after which a call still in "
        "progress is marked interrupted (its worker died).",
    )
    ai_usage_drift_percent = fields.Float(
        "Reconciliation Drift Alert (%)",
        config_parameter="ai_usage_log.reconciliation_drift_percent",
        default=10.0,
        help="An alert fires when a day's cost billed by OpenAI differs from the "
        "logs' by more than this.",
    )
    ai_usage_otel_endpoint = fields.Char(
        "OpenTelemetry Collector",
        config_parameter="ai_usage_log.otel_endpoint",
        help="Base URL of an OTLP/HTTP collector (http://collector:4318): every "
        "finished call is exported as a GenAI span and metrics. Empty: no export.",
    )
    ai_usage_otel_headers = fields.Char(
        "OTLP Headers",
        config_parameter="ai_usage_log.otel_headers",
        help="Headers sent to the collector, as OTEL_EXPORTER_OTLP_HEADERS writes "
        "them: key=value,key2=value2 (an authorization, a tenant).",
    )
    # defaults, not computes: the settings form is a new record, for which
    # Odoo 18 does not compute a field that depends on nothing
    ai_usage_metrics_enabled = fields.Boolean(
        "Metrics Endpoint", default=lambda self: self._default_metrics_enabled()
    )
    ai_usage_price_catalogue = fields.Char(
        "Price Catalogue", default=lambda self: self._default_price_catalogue()
    )
    # on by default: the parameters say when they are off
    ai_usage_capture = fields.Boolean(
        "Capture Every AI Call",
        default=lambda self: not self._param(captured_calls.CAPTURE_OFF_PARAM),
        help="Log the AI calls of code that does not use this add-on (other "
        "modules' requests, httpx or SDK calls), where they leave Odoo.",
    )
    ai_usage_capture_enforce = fields.Boolean(
        "Limits Refuse Captured Calls",
        default=lambda self: not self._param(captured_calls.LOG_ONLY_PARAM),
        help="Rate limits and hard budgets refuse captured calls as they refuse "
        "the add-on's own. Off: captured calls are logged, never refused.",
    )
    ai_usage_capture_hosts = fields.Char(
        "Other AI Hosts",
        config_parameter=captured_calls.HOSTS_PARAM,
        help="Hosts (host or host:port, separated by spaces) of AI servers that "
        "are no service's and no known provider's, such as a model served on "
        "your network: their calls are captured too.",
    )

    @api.constrains(
        "ai_usage_retention_days",
        "ai_usage_alert_error_rate",
        "ai_usage_alert_min_calls",
        "ai_usage_alert_spike_factor",
        "ai_usage_interrupted_margin",
        "ai_usage_drift_percent",
        "ai_usage_otel_endpoint",
    )
    def _check_ai_usage_settings(self):
        for settings in self:
            if (
                min(
                    settings.ai_usage_retention_days,
                    settings.ai_usage_alert_min_calls,
                    settings.ai_usage_interrupted_margin,
                )
                < 0
            ):
                raise ValidationError(
                    self.env._("Days, calls and seconds cannot be negative.")
                )
            endpoint = settings.ai_usage_otel_endpoint
            if endpoint and not endpoint.startswith(("http://", "https://")):
                raise ValidationError(
                    self.env._("The OpenTelemetry collector is an http(s) URL.")
                )
            if settings.ai_usage_drift_percent < 0:
                raise ValidationError(
                    self.env._("The reconciliation drift alert cannot be negative.")
                )
            if not 0 <= settings.ai_usage_alert_error_rate <= 100:
                raise ValidationError(
                    self.env._("The error rate alert is a percentage, 0 to 100.")
                )
            if settings.ai_usage_alert_spike_factor < 1:
                raise ValidationError(
                    self.env._(
                        "The token spike factor must be 1 or more: a day is a "
                        "spike when it uses that many times an average day."
                    )
                )

    def _param(self, key):
        return self.env["ir.config_parameter"].sudo().get_param(key)

    def set_values(self):
        super().set_values()
        if not self.env.user.has_group("base.group_system"):
            return
        params = self.env["ir.config_parameter"].sudo()
        for key, on in (
            (captured_calls.CAPTURE_OFF_PARAM, self.ai_usage_capture),
            (captured_calls.LOG_ONLY_PARAM, self.ai_usage_capture_enforce),
        ):
            if bool(params.get_param(key)) == bool(on):
                params.set_param(key, False if on else "1")
        captured_calls.forget_targets(self.env.cr.dbname)

    def _default_metrics_enabled(self):
        return bool(
            self.env["ir.config_parameter"].sudo().get_param(METRICS_TOKEN_PARAM)
        )

    def _default_price_catalogue(self):
        version = price_catalogue.version()
        if version:
            return self.env._("genai-prices %s", version)
        return self.env._("not installed (pip install genai-prices)")

    def _check_system(self):
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(self.env._("Only administrators may change this."))

    def action_ai_usage_new_metrics_token(self):
        """A new metrics token, shown once: the previous one stops working."""
        self._check_system()
        token = secrets.token_urlsafe(32)
        self.env["ir.config_parameter"].sudo().set_param(METRICS_TOKEN_PARAM, token)
        return notification(
            self.env._("New metrics token"),
            self.env._(
                "Copy it now, it is not shown again: %s (scrapers send "
                "'Authorization: Bearer <token>' to /ai_usage/metrics).",
                token,
            ),
            "warning",
            sticky=True,
            reload=True,
        )

    def action_ai_usage_revoke_metrics_token(self):
        """No token: no metrics endpoint."""
        self._check_system()
        self.env["ir.config_parameter"].sudo().set_param(METRICS_TOKEN_PARAM, False)
        return {"type": "ir.actions.client", "tag": "soft_reload"}

    def action_ai_usage_update_prices(self):
        return self.env["ai.model.price"].action_update_prices()
