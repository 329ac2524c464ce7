from datetime import timedelta

from odoo import api, fields, models, tools
from odoo.exceptions import ValidationError

from ..actions import logs_action
from ..compat import Constraint, table_constraints
from ..tools import figures, token_estimate
from ..tools.pricing import pricing_inputs

UNSETTLED = ("processing",)  # calls in flight count with their reservation
NOT_CALLS = ("blocked", "rate_limited")  # refused before they were sent
RATE_LIMIT_LOCK = 20251118  # namespace of the rate limit's advisory locks


@table_constraints
class AiUsageBudget(models.Model):
    """A daily or monthly limit on AI spending, in money and/or tokens, for
    a company, one of its services or one user.

    Past its warning threshold the AI administrators are alerted; a hard
    limit refuses the calls that would start beyond it. Calls in flight
    count with the cost reserved for them, so concurrent calls cannot all
    slip under the limit together."""

    _name = "ai.usage.budget"
    _inherit = ["ai.usage.cached.config"]
    _description = "AI Usage Budget"
    _order = "company_id, period, id"

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    service_id = fields.Many2one(
        "ai.service",
        ondelete="cascade",
        help="Leave empty for all services of the company.",
    )
    user_id = fields.Many2one(
        "res.users", ondelete="cascade", help="Leave empty for all users."
    )
    period = fields.Selection(
        [("daily", "Daily"), ("monthly", "Monthly")], required=True, default="monthly"
    )
    limit_cost = fields.Float(
        "Cost Limit",
        digits=(16, 2),
        help="In the company currency. Leave at zero for no cost limit.",
    )
    limit_tokens = fields.Integer(
        "Token Limit", help="Leave at zero for no token limit."
    )
    warning_percent = fields.Float("Warning at (%)", default=80.0)
    hard_limit = fields.Boolean(
        "Refuse Calls Over the Limit",
        help="Calls that would start once the limit is reached are refused and "
        "logged as blocked.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    spent_cost = fields.Float("Spent", compute="_compute_consumption", digits=(16, 4))
    spent_tokens = fields.Integer("Tokens Used", compute="_compute_consumption")
    usage_percent = fields.Float(
        "Used (%)", compute="_compute_consumption", digits=(5, 1)
    )
    limits_text = fields.Char("Limits", compute="_compute_limits_text")

    _limits_positive = Constraint(
        "CHECK(limit_cost >= 0 AND limit_tokens >= 0)",
        "Limits cannot be negative.",
    )

    @api.constrains("limit_cost", "limit_tokens", "warning_percent")
    def _check_limits(self):
        for budget in self:
            if not budget.limit_cost and not budget.limit_tokens:
                raise ValidationError(
                    self.env._("Set a cost limit, a token limit or both.")
                )
            if not 0 < budget.warning_percent <= 100:
                raise ValidationError(
                    self.env._("The warning threshold is a percentage from 1 to 100.")
                )

    @api.depends("period", "limit_cost", "limit_tokens")
    def _compute_consumption(self):
        for budget in self:
            cost, tokens = budget._consumption()
            budget.spent_cost = cost
            budget.spent_tokens = tokens
            budget.usage_percent = budget._percent(cost, tokens)

    @api.depends("limit_cost", "limit_tokens", "currency_id")
    @api.depends_context("lang")
    def _compute_limits_text(self):
        for budget in self:
            parts = []
            if budget.limit_cost:
                parts.append(budget._cost_text(budget.limit_cost))
            if budget.limit_tokens:
                parts.append(
                    self.env._(
                        "%(tokens)s tokens",
                        tokens=budget._count_text(budget.limit_tokens),
                    )
                )
            budget.limits_text = ", ".join(parts)

    def _percent(self, cost, tokens):
        self.ensure_one()
        shares = []
        if self.limit_cost:
            shares.append(cost / self.limit_cost * 100)
        if self.limit_tokens:
            shares.append(tokens / self.limit_tokens * 100)
        return max(shares, default=0.0)

    def _period_start(self):
        """Start of the current day or month, UTC."""
        self.ensure_one()
        now = fields.Datetime.now()
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return day if self.period == "daily" else day.replace(day=1)

    def _consumption(self):
        """(cost in company currency, tokens) of this period: finished calls
        at their cost, calls in flight at what was reserved for them."""
        self.ensure_one()
        conditions = [
            tools.SQL("company_id = %s", self.company_id.id),
            tools.SQL("request_time >= %s", self._period_start()),
            tools.SQL("status NOT IN %s", NOT_CALLS),
        ]
        if self.service_id:
            conditions.append(tools.SQL("service_id = %s", self.service_id.id))
        if self.user_id:
            conditions.append(tools.SQL("user_id = %s", self.user_id.id))
        self.env.cr.execute(
            tools.SQL(
                """
                SELECT COALESCE(SUM(CASE WHEN status IN %s THEN reserved_cost
                                         ELSE cost_company END), 0),
                       COALESCE(SUM(CASE WHEN status IN %s THEN reserved_tokens
                                         ELSE total_tokens END), 0)
                  FROM ai_usage_log
                 WHERE %s
                """,
                UNSETTLED,
                UNSETTLED,
                tools.SQL(" AND ").join(conditions),
            )
        )
        cost, tokens = self.env.cr.fetchone()
        return float(cost), int(tokens)

    @api.model
    @tools.ormcache("company_id")
    def _hard_budgets(self, company_id):
        """(id, service id, user id) of the active hard budgets of a company:
        every call looks them up, so they are cached."""
        # active_test is not in the cache key: always the active budgets
        budgets = (
            self.sudo()
            .with_context(active_test=True)
            .search([("company_id", "=", company_id), ("hard_limit", "=", True)])
        )
        return tuple((b.id, b.service_id.id, b.user_id.id) for b in budgets)

    @api.model
    def _applicable_hard_budgets(self, company_id, service_id, user_id):
        return tuple(
            budget_id
            for budget_id, budget_service, budget_user in self._hard_budgets(company_id)
            if budget_service in (False, service_id) and budget_user in (False, user_id)
        )

    @api.model
    def _reservation(self, vals, body):
        """What a call whose log values are ``vals`` reserves while in
        flight: the tokens and cost its request ``body`` is estimated at."""
        model = vals.get("model")
        usage = {
            "input_tokens": token_estimate.input_tokens(model, body),
            "output_tokens": token_estimate.output_tokens(body),
        }
        service = self.env["ai.service"].browse(vals["service_id"])
        cost = (
            self.env["ai.model.price"]
            .with_context(ai_usage_estimate=True)
            ._cost_vals(
                usage,
                model,
                pricing_inputs(
                    vals["request_time"],
                    service,
                    self.env["res.company"].browse(vals["company_id"]),
                    (body or {}).get("service_tier"),
                    vals.get("is_batch"),
                ),
            )
        )
        return {
            "reserved_cost": cost.get("cost_company", 0.0),
            "reserved_tokens": usage["input_tokens"] + usage["output_tokens"],
        }

    @api.model
    def _call_refusal(self, vals, limits):
        """(status, error code, message) of the refusal of the call whose
        log values are ``vals`` by the rate limit or a hard budget of
        ``limits``, or None. Run in the log's own transaction: takes locks
        held until the log is committed, so that concurrent calls are
        checked one after the other, each seeing the others' reservations."""
        cr = self.env.cr
        if limits["rate_limit"]:
            cr.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [
                    RATE_LIMIT_LOCK,
                    (vals["service_id"] * 1_000_003 + vals["user_id"]) % 2**31,
                ],
            )
            cr.execute(
                """
                SELECT count(*) FROM ai_usage_log
                 WHERE service_id = %s AND user_id = %s
                   AND status NOT IN ('blocked', 'rate_limited')
                   AND request_time > %s
                """,
                [
                    vals["service_id"],
                    vals["user_id"],
                    vals["request_time"] - timedelta(minutes=1),
                ],
            )
            if cr.fetchone()[0] >= limits["rate_limit"]:
                return (
                    "rate_limited",
                    "rate_limited",
                    self.env._(
                        "Rate limit reached: %(limit)s calls per minute per user on "
                        "this service.",
                        limit=limits["rate_limit"],
                    ),
                )
        if limits["budget_ids"]:
            cr.execute(
                "SELECT id FROM ai_usage_budget WHERE id IN %s ORDER BY id FOR UPDATE",
                [tuple(limits["budget_ids"])],
            )
            for budget in self.env["ai.usage.budget"].browse(limits["budget_ids"]):
                if refusal := budget._refusal():
                    return "blocked", "budget_exceeded", refusal
        return None

    def _refusal(self):
        """Why a call may not start under this budget, or None."""
        self.ensure_one()
        cost, tokens = self._consumption()
        if self.limit_cost and cost >= self.limit_cost:
            return self.env._(
                "The budget %(budget)s is spent: %(spent)s of %(limit)s this period.",
                budget=self.name,
                spent=self._cost_text(cost),
                limit=self._cost_text(self.limit_cost),
            )
        if self.limit_tokens and tokens >= self.limit_tokens:
            return self.env._(
                "The budget %(budget)s is used up: %(spent)s of %(limit)s tokens "
                "this period.",
                budget=self.name,
                spent=self._count_text(tokens),
                limit=self._count_text(self.limit_tokens),
            )
        return None

    def _cost_text(self, amount):
        """An amount in the budget's currency, as the web client shows costs."""
        lang = self.env["res.lang"]._get_data(code=self.env.lang or "en_US")
        return figures.format_cost(
            amount,
            self.currency_id.symbol,
            self.currency_id.position,
            lang.decimal_point or ".",
            lang.thousands_sep or ",",
        )

    def _count_text(self, count):
        lang = self.env["res.lang"]._get_data(code=self.env.lang or "en_US")
        return figures.format_count(count, lang.thousands_sep or ",")

    def _usage_text(self, cost, tokens):
        """What was used of each limit: "$ 0.9727 of $ 1.00, 754,096 tokens
        (no token limit)"."""
        self.ensure_one()
        spent = (
            self.env._(
                "%(spent)s of %(limit)s",
                spent=self._cost_text(cost),
                limit=self._cost_text(self.limit_cost),
            )
            if self.limit_cost
            else self.env._("%(spent)s (no cost limit)", spent=self._cost_text(cost))
        )
        used = (
            self.env._(
                "%(used)s of %(limit)s tokens",
                used=self._count_text(tokens),
                limit=self._count_text(self.limit_tokens),
            )
            if self.limit_tokens
            else self.env._(
                "%(used)s tokens (no token limit)", used=self._count_text(tokens)
            )
        )
        return f"{spent}, {used}"

    def _log_domain(self):
        self.ensure_one()
        domain = [
            ("company_id", "=", self.company_id.id),
            ("request_time", ">=", fields.Datetime.to_string(self._period_start())),
            ("status", "not in", NOT_CALLS),
        ]
        if self.service_id:
            domain.append(("service_id", "=", self.service_id.id))
        if self.user_id:
            domain.append(("user_id", "=", self.user_id.id))
        return domain

    def action_view_logs(self):
        self.ensure_one()
        return logs_action(self.env, self._log_domain(), name=self.name)
