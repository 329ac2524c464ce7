import logging
from datetime import datetime, timedelta

from markupsafe import Markup

from odoo import api, fields, models

from ..compat import Constraint, group_members, table_constraints
from ..tools import providers
from ..tools.figures import format_cost

_logger = logging.getLogger(__name__)

ALERT_TYPES = [
    ("error_rate", "Error Rate"),
    ("budget", "Budget"),
    ("token_spike", "Token Spike"),
    ("key_failure", "Key Validation Failed"),
    ("price_missing", "Model Without a Price"),
    ("reconciliation", "Billed Cost Drift"),
    ("fallback", "Fell Back to a Backup"),
]
# System parameters (Settings > Technical > System Parameters) and defaults
PARAM_ERROR_RATE = ("ai_usage_log.alert_error_rate_percent", 5.0)
PARAM_MIN_CALLS = ("ai_usage_log.alert_min_calls", 10)
PARAM_SPIKE_FACTOR = ("ai_usage_log.alert_token_spike_factor", 3.0)
PARAM_DRIFT = ("ai_usage_log.reconciliation_drift_percent", 10.0)
# A refused key, as each provider says it: OpenAI (and Azure, compatible
# servers), Anthropic's error types, Google's statuses.
KEY_FAILURE_CODES = (
    "invalid_api_key", "http_401", "insufficient_quota",
    "authentication_error", "permission_error",
    "UNAUTHENTICATED", "PERMISSION_DENIED",
)  # fmt: skip


@table_constraints
class AiUsageAlert(models.Model):
    """One incident (an error rate over threshold, a budget threshold
    crossed, a token spike, failed key validations), told once to the AI
    administrators: an activity each and an email, linking to its logs."""

    _name = "ai.usage.alert"
    _description = "AI Usage Alert"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "create_date desc, id desc"

    name = fields.Char(required=True)
    alert_type = fields.Selection(ALERT_TYPES, required=True, index=True)
    incident_key = fields.Char(required=True, readonly=True, index=True, copy=False)
    company_id = fields.Many2one("res.company", required=True, index=True)
    service_id = fields.Many2one("ai.service", ondelete="cascade")
    budget_id = fields.Many2one("ai.usage.budget", ondelete="cascade")
    message = fields.Text(required=True)
    log_domain = fields.Json(help="The logs behind the incident.")

    _incident_key_unique = Constraint(
        "UNIQUE(incident_key)",
        "An incident is told once.",
    )

    def action_view_logs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "ai_usage_log.action_ai_usage_log"
        )
        action.update(domain=self.log_domain or [], context={}, name=self.name)
        return action

    # ------------------------------------------------------------------
    # Scheduled actions
    # ------------------------------------------------------------------
    @api.model
    def _cron_check_alerts(self):
        """Look for incidents; tell each new one."""
        now = fields.Datetime.now()
        incidents = (
            self._error_rate_incidents(now)
            + self._budget_incidents()
            + self._token_spike_incidents(now)
            + self._key_failure_incidents(now)
            + self._fallback_incidents(now)
            + self._price_missing_incidents(now)
            + self._reconciliation_incidents(now)
        )
        known = set(
            self.search(
                [("incident_key", "in", [i["incident_key"] for i in incidents])]
            ).mapped("incident_key")
        )
        created = self.browse()
        for incident in incidents:
            if incident["incident_key"] in known:
                continue
            known.add(incident["incident_key"])
            created |= self.create(incident)
        for alert in created:
            alert._notify_admins()
        return created

    def _notify_admins(self):
        self.ensure_one()
        admin_group = self.env.ref("ai_usage_log.group_ai_usage_admin")
        admins = group_members(admin_group).filtered(
            lambda user: (
                not user.share and self.company_id in user.company_ids and user.active
            )
        )
        url = f"/odoo/ai.usage.alert/{self.id}"
        body = Markup("<p>%s</p><p><a href='%s'>%s</a></p>") % (
            self.message,
            url,
            self.env._("See the alert and its logs"),
        )
        self.message_post(
            body=body,
            subject=self.name,
            partner_ids=admins.partner_id.ids,
            subtype_xmlid="mail.mt_comment",
            message_type="comment",
        )
        for admin in admins:
            self.activity_schedule(
                "mail.mail_activity_data_warning",
                user_id=admin.id,
                summary=self.name,
                note=self.message,
            )
        _logger.warning("ai_usage_log alert: %s", self.message)

    @api.model
    def _param(self, param):
        key, default = param
        value = self.env["ir.config_parameter"].sudo().get_param(key)
        try:
            return type(default)(value) if value not in (None, False, "") else default
        except ValueError:
            _logger.warning(
                "ai_usage_log: system parameter %s=%r is not a number; using %s",
                key,
                value,
                default,
            )
            return default

    @api.model
    def _error_rate_incidents(self, now):
        threshold = self._param(PARAM_ERROR_RATE)
        min_calls = self._param(PARAM_MIN_CALLS)
        incidents = []
        logs = self.env["ai.usage.log"].sudo()
        for window, start, stamp in (
            ("hour", now - timedelta(hours=1), now.strftime("%Y-%m-%dT%H")),
            ("day", now - timedelta(days=1), now.strftime("%Y-%m-%d")),
        ):
            # an administrator's Test Connection is no production traffic
            domain = [
                ("request_time", ">=", start),
                ("status", "in", ("success", "failed")),
                ("request_type", "!=", "test_connection"),
            ]
            for service, calls, rate in logs._read_group(
                domain, ["service_id"], ["__count", "error_rate:avg"]
            ):
                if calls < min_calls or rate <= threshold:
                    continue
                incidents.append(
                    _incident(
                        "error_rate",
                        f"{service.id}:{window}:{stamp}",
                        name=self.env._(
                            "%(service)s: %(rate).1f%% of calls failed",
                            service=service.name,
                            rate=rate,
                        ),
                        message=self.env._(
                            "%(rate).1f%% of the %(calls)s calls of %(service)s "
                            "failed in the last %(window)s "
                            "(alert threshold: %(threshold)s%%).",
                            rate=rate,
                            calls=calls,
                            service=service.name,
                            window=window,
                            threshold=threshold,
                        ),
                        company=service.company_id,
                        service=service,
                        log_domain=domain
                        + [
                            ("service_id", "=", service.id),
                            ("status", "=", "failed"),
                        ],
                    )
                )
        return incidents

    @api.model
    def _budget_incidents(self):
        incidents = []
        for budget in self.env["ai.usage.budget"].sudo().search([]):
            cost, tokens = budget._consumption()
            percent = budget._percent(cost, tokens)
            level = (
                "limit"
                if percent >= 100
                else "warning"
                if percent >= budget.warning_percent
                else None
            )
            if not level:
                continue
            period = budget._period_start().strftime(
                "%Y-%m-%d" if budget.period == "daily" else "%Y-%m"
            )
            incidents.append(
                _incident(
                    "budget",
                    f"{budget.id}:{period}:{level}",
                    name=self.env._(
                        "Budget %(budget)s at %(percent).0f%%",
                        budget=budget.name,
                        percent=percent,
                    ),
                    message=self.env._(
                        "The budget %(budget)s has used %(percent).1f%% this period: "
                        "%(usage)s.",
                        budget=budget.name,
                        percent=percent,
                        usage=budget._usage_text(cost, tokens),
                    ),
                    company=budget.company_id,
                    service=budget.service_id,
                    budget=budget,
                    log_domain=budget._log_domain(),
                )
            )
        return incidents

    @api.model
    def _token_spike_incidents(self, now):
        factor = self._param(PARAM_SPIKE_FACTOR)
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        week_start = today - timedelta(days=7)
        logs = self.env["ai.usage.log"].sudo()
        week = dict(
            logs._read_group(
                [("request_time", ">=", week_start), ("request_time", "<", today)],
                ["company_id"],
                ["total_tokens:sum"],
            )
        )
        incidents = []
        for company, tokens in logs._read_group(
            [("request_time", ">=", today)], ["company_id"], ["total_tokens:sum"]
        ):
            average = (week.get(company) or 0) / 7
            if not average or (tokens or 0) <= factor * average:
                continue
            incidents.append(
                _incident(
                    "token_spike",
                    f"{company.id}:{today.date()}",
                    name=self.env._(
                        "Token spike: %(tokens)s tokens today", tokens=tokens
                    ),
                    message=self.env._(
                        "%(company)s used %(tokens)s tokens today, over %(factor)s "
                        "times the daily average "
                        "of the last 7 days (%(average).0f).",
                        company=company.name,
                        tokens=tokens,
                        factor=factor,
                        average=average,
                    ),
                    company=company,
                    log_domain=[
                        ("request_time", ">=", today),
                        ("company_id", "=", company.id),
                    ],
                )
            )
        return incidents

    @api.model
    def _key_failure_incidents(self, now):
        return self._service_hour_incidents(
            now,
            "key_failure",
            [("status", "=", "failed"), ("error_code", "in", KEY_FAILURE_CODES)],
            lambda service, calls: (
                self.env._(
                    "%(service)s: the API key was refused", service=service.name
                ),
                self.env._(
                    "%(provider)s refused the key of %(service)s %(calls)s "
                    "time(s) in the last hour: check the key on the service.",
                    provider=providers.get(service.provider).label,
                    service=service.name,
                    calls=calls,
                ),
            ),
        )

    @api.model
    def _fallback_incidents(self, now):
        """Services out in the last hour: calls of theirs went on to a
        backup (each chain once, by its first attempt)."""
        return self._service_hour_incidents(
            now,
            "fallback",
            [("status", "=", "fallback"), ("fallback_of_id", "=", False)],
            lambda service, calls: (
                self.env._(
                    "%(service)s was out: calls fell back", service=service.name
                ),
                self.env._(
                    "%(calls)s call(s) of %(service)s went on to a backup service "
                    "in the last hour: %(service)s failed them (outage, overload "
                    "or its rate limit).",
                    calls=calls,
                    service=service.name,
                ),
            ),
        )

    @api.model
    def _service_hour_incidents(self, now, kind, condition, say):
        """An incident per service with calls of ``condition`` in the last
        hour, told once an hour; ``say(service, calls)``: its name and
        message."""
        hour = now.strftime("%Y-%m-%dT%H")
        domain = [("request_time", ">=", now - timedelta(hours=1)), *condition]
        incidents = []
        for service, calls in (
            self.env["ai.usage.log"]
            .sudo()
            ._read_group(domain, ["service_id"], ["__count"])
        ):
            name, message = say(service, calls)
            incidents.append(
                _incident(
                    kind,
                    f"{service.id}:{hour}",
                    name=name,
                    message=message,
                    company=service.company_id,
                    service=service,
                    log_domain=domain + [("service_id", "=", service.id)],
                )
            )
        return incidents

    @api.model
    def _price_missing_incidents(self, now):
        """Models called without a price in the last day: their cost is
        unknown until an administrator adds one (then Recompute Cost)."""
        domain = [
            ("request_time", ">=", now - timedelta(days=1)),
            ("price_missing", "=", True),
        ]
        logs = self.env["ai.usage.log"].sudo()
        incidents = []
        for company, model, calls in logs._read_group(
            domain, ["company_id", "model"], ["__count"]
        ):
            incidents.append(
                _incident(
                    "price_missing",
                    # once a day: a price still missing tomorrow is told again
                    f"{company.id}:{model}:{now.date()}",
                    name=self.env._("No price for model %s", model),
                    message=self.env._(
                        "%(calls)s call(s) to %(model)s have no price: their cost is "
                        "unknown. Add a price under AI Usage > Configuration > Prices, "
                        "then select the logs and run Recompute Cost.",
                        calls=calls,
                        model=model,
                    ),
                    company=company,
                    log_domain=[
                        ("price_missing", "=", True),
                        ("model", "=", model),
                        ("company_id", "=", company.id),
                    ],
                )
            )
        return incidents

    @api.model
    def _reconciliation_incidents(self, now):
        """Days of the last week whose billed cost (OpenAI's or Anthropic's)
        drifts from the logs' by more than the threshold, told with the
        drift's split into tokens and price."""
        threshold = self._param(PARAM_DRIFT)
        rows = (
            self.env["ai.usage.reconciliation"]
            .sudo()
            .search(
                [
                    ("kind", "=", "cost"),
                    ("day", ">=", (now - timedelta(days=7)).date()),
                    "|",
                    ("drift_percent", ">", threshold),
                    ("drift_percent", "<", -threshold),
                ]
            )
        )
        incidents = []
        for row in rows:
            service = row.service_id
            provider = dict(service._fields["provider"].selection)[service.provider]
            incidents.append(
                _incident(
                    "reconciliation",
                    f"{service.id}:{row.day}",
                    name=self.env._(
                        "%(service)s: %(provider)s's bill and the logs differ by "
                        "%(drift)s%% on %(day)s",
                        service=service.name,
                        provider=provider,
                        drift=row.drift_percent,
                        day=row.day,
                    ),
                    message=self.env._(
                        "On %(day)s %(provider)s's cost figures say %(billed)s, the "
                        "logs of %(service)s %(logged)s (drift %(drift)s%%, "
                        "threshold %(threshold)s%%). %(explanation)s",
                        day=row.day,
                        provider=provider,
                        billed=format_cost(row.billed_cost, "$"),
                        service=service.name,
                        logged=format_cost(row.logged_cost, "$"),
                        drift=row.drift_percent,
                        threshold=threshold,
                        explanation=row.drift_explanation,
                    ),
                    company=service.company_id,
                    service=service,
                    log_domain=[
                        ("service_id", "=", service.id),
                        ("request_time", ">=", str(row.day)),
                        ("request_time", "<", str(row.day + timedelta(days=1))),
                    ],
                )
            )
        return incidents


def _incident(kind, key, name, message, log_domain, company, service=None, budget=None):
    """An incident to tell: its kind, what tells it once (``key``, after
    the kind), its title and message, whose it is and the logs behind it."""
    return {
        "alert_type": kind,
        "incident_key": f"{kind}:{key}",
        "name": name,
        "message": message,
        "company_id": company.id,
        "service_id": service.id if service else False,
        "budget_id": budget.id if budget else False,
        "log_domain": _jsonable(log_domain),
    }


def _jsonable(domain):
    return [
        (
            name,
            operator,
            fields.Datetime.to_string(value) if isinstance(value, datetime) else value,
        )
        for name, operator, value in domain
    ]
