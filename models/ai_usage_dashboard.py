from datetime import datetime, time, timedelta

import pytz
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.tools.misc import format_date

from ..rights import is_ai_admin

TREND_DAYS = 30  # the dashboard's trend
# an attempt that fell back is no call: its chain's last attempt is
CALLS = [("status", "!=", "fallback")]


def _opening(title, filters=(), domain=(), **search_defaults):
    """How the dashboard opens the logs behind a figure: the search view's
    filters as facets the user sees and can remove, a domain only for what
    no filter says, and a title saying what was clicked."""
    context = {f"search_default_{name}": 1 for name in filters}
    context.update(
        {f"search_default_{name}": value for name, value in search_defaults.items()}
    )
    return {"title": title, "context": context, "domain": list(domain)}


def _change(current, previous):
    """Percent change from ``previous`` to ``current``; None without a base."""
    if not previous:
        return None
    return round((current - previous) * 100.0 / previous, 1)


class AiUsageDashboard(models.AbstractModel):
    """The figures of the AI Usage dashboard (static/src/dashboard), each
    as its reader may see it and with how to open the logs behind it."""

    _name = "ai.usage.dashboard"
    _description = "AI Usage Dashboard"

    @api.model
    @api.readonly
    def get_dashboard_data(self):
        """Figures of the AI Usage dashboard, as the current user may see
        them: today and this month (calls, tokens, cost, error rate), the
        top models, users and (captured calls) modules of the month. Each
        comes with the domain of the logs behind it, for the client to open."""
        today_start, month_start = self._dashboard_period_starts()
        currency = self.env.company.currency_id
        _ = self.env._
        periods = []
        for key, start, search_filter, titles in (
            (
                "today",
                today_start,
                "filter_today",
                (
                    _("Today"),
                    _("Calls Today"),
                    _("Failed Calls Today"),
                    _("Calls Without a Price Today"),
                    _("Calls That Fell Back Today"),
                ),
            ),
            (
                "month",
                month_start,
                "filter_this_month",
                (
                    _("This Month"),
                    _("Calls This Month"),
                    _("Failed Calls This Month"),
                    _("Calls Without a Price This Month"),
                    _("Calls That Fell Back This Month"),
                ),
            ),
        ):
            label, calls_title, failed_title, unpriced_title, fallback_title = titles
            domain = [("request_time", ">=", fields.Datetime.to_string(start))]
            figures = self._dashboard_figures(domain)
            figures.update(
                open=_opening(calls_title, [search_filter]),
                open_failed=_opening(failed_title, [search_filter, "filter_failed"]),
                open_unpriced=_opening(
                    unpriced_title, [search_filter, "filter_price_missing"]
                ),
                open_fallback=_opening(
                    fallback_title, [search_filter, "filter_fell_back"]
                ),
            )
            periods.append(dict(key=key, label=label, **figures))
        month_domain = periods[1]["domain"]
        # this month so far against the same stretch of last month (its 1st to
        # this day and hour a month ago), not against the whole of it
        local_now = self._local(fields.Datetime.now())
        last_month_start = self._to_utc(
            self._local(month_start) - relativedelta(months=1)
        )
        same_moment = min(
            self._to_utc(local_now - relativedelta(months=1)), month_start
        )
        last_month_domain = [
            ("request_time", ">=", fields.Datetime.to_string(last_month_start)),
            ("request_time", "<", fields.Datetime.to_string(same_moment)),
        ]
        logs = self.env["ai.usage.log"]
        [(calls,)] = logs._read_group(last_month_domain + CALLS, [], ["__count"])
        [(cost,)] = logs._read_group(last_month_domain, [], ["cost_company:sum"])
        last_day = format_date(self.env, self._local(same_moment).date())
        periods[1]["previous"] = {
            "label": _("Last Month, to %(day)s", day=last_day),
            "calls": calls,
            "cost": cost or 0.0,
            "domain": last_month_domain,
            "open": _opening(
                _("Calls Last Month, to %(day)s", day=last_day),
                domain=last_month_domain,
            ),
            "calls_change": _change(periods[1]["calls"], calls),
            "cost_change": _change(periods[1]["cost"], cost or 0.0),
        }
        return {
            # a fresh database: the dashboard says where to start
            "no_service": not self.env["ai.service"]
            .sudo()
            .search_count([("company_id", "in", self.env.companies.ids)], limit=1),
            "can_configure": is_ai_admin(self.env),
            "currency": {"symbol": currency.symbol, "position": currency.position},
            "periods": periods,
            "trend": self._dashboard_trend(today_start),
            "top_models": self._dashboard_top(month_domain, "model"),
            "budgets": self._dashboard_budgets(),
            "top_users": self._dashboard_top(month_domain, "user_id"),
            # the modules whose own calls were captured (tools/capture.py)
            "top_modules": self._dashboard_top(month_domain, "source_module"),
        }

    @api.model
    def _dashboard_budgets(self):
        """The active budgets of the current companies, with their use, each
        saying whose calls it counts. An AI administrator sees them all; a
        user, those that apply to their own calls."""
        domain = [("company_id", "in", self.env.companies.ids)]
        if not is_ai_admin(self.env):
            domain.append(("user_id", "in", (False, self.env.uid)))
        rows = []
        admin = is_ai_admin(self.env)
        for budget in self.env["ai.usage.budget"].search(domain):
            # the use of the whole budget (what refuses a call), of which a user
            # opens only their own calls: the row and its opening say so
            cost, tokens = budget._consumption()
            log_domain = budget._log_domain()
            others_hidden = not admin and budget.user_id != self.env.user
            title = (
                self.env._("Budget %(name)s: my calls only", name=budget.name)
                if others_hidden
                else self.env._("Budget %(name)s", name=budget.name)
            )
            rows.append(
                {
                    "name": budget.name,
                    "scope": self._budget_scope(budget),
                    "period": dict(budget._fields["period"].selection)[budget.period],
                    "spent": cost,
                    "limit": budget.limit_cost,
                    "tokens": tokens,
                    "limit_tokens": budget.limit_tokens,
                    "percent": round(budget._percent(cost, tokens), 1),
                    "warning": budget.warning_percent,
                    "hard": budget.hard_limit,
                    "domain": log_domain,
                    "others_hidden": others_hidden,
                    "open": _opening(title, domain=log_domain),
                }
            )
        return rows

    @api.model
    def _budget_scope(self, budget):
        """Whose calls a budget counts, as the dashboard labels it."""
        if budget.user_id == self.env.user:
            scope = self.env._("My calls")
        elif budget.user_id:
            scope = budget.user_id.display_name
        else:
            scope = self.env._("Company")
        if budget.service_id:
            scope = f"{scope}, {budget.service_id.display_name}"
        return scope

    @api.model
    def _dashboard_period_starts(self):
        """Start of today and of this month in the user's time zone, as
        naive UTC datetimes."""
        today = self._local(fields.Datetime.now()).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        return self._to_utc(today), self._to_utc(today.replace(day=1))

    @api.model
    def _local(self, utc_naive):
        tz = pytz.timezone(self.env.user.tz or "UTC")
        return pytz.UTC.localize(utc_naive).astimezone(tz).replace(tzinfo=None)

    @api.model
    def _to_utc(self, local_naive):
        tz = pytz.timezone(self.env.user.tz or "UTC")
        return tz.localize(local_naive).astimezone(pytz.UTC).replace(tzinfo=None)

    @api.model
    def _dashboard_trend(self, today_start, days=TREND_DAYS):
        """Calls and cost of each of the last ``days`` days (the user's
        days), oldest first, each with the domain of its logs."""
        first_day = self._local(today_start).date() - timedelta(days=days - 1)
        starts = [
            self._to_utc(datetime.combine(first_day + timedelta(days=n), time.min))
            for n in range(days + 1)
        ]
        rows = (
            self.env["ai.usage.log"]
            .with_context(tz=self.env.user.tz or "UTC")
            ._read_group(
                [("request_time", ">=", fields.Datetime.to_string(starts[0]))],
                ["request_time:day", "status"],
                ["__count", "cost_company:sum"],
            )
        )
        by_day = {}
        for day, status, calls, cost in rows:
            day = day.date() if isinstance(day, datetime) else day
            day_calls, day_cost = by_day.get(day, (0, 0.0))
            # an attempt that fell back is no call, but what it cost counts
            if status == "fallback":
                calls = 0
            by_day[day] = (day_calls + calls, day_cost + (cost or 0.0))
        trend = []
        for n in range(days):
            day = first_day + timedelta(days=n)
            calls, cost = by_day.get(day, (0, 0.0))
            domain = [
                ("request_time", ">=", fields.Datetime.to_string(starts[n])),
                ("request_time", "<", fields.Datetime.to_string(starts[n + 1])),
            ]
            trend.append(
                {
                    "date": fields.Date.to_string(day),
                    "calls": calls,
                    "cost": cost,
                    "domain": domain,
                    # no filter says "this day": the title does
                    "open": _opening(
                        self.env._("Calls on %(day)s", day=format_date(self.env, day)),
                        domain=domain,
                    ),
                }
            )
        return trend

    @api.model
    def _dashboard_figures(self, domain):
        logs = self.env["ai.usage.log"]
        # the tokens and cost of every attempt, the error rate of the calls
        # (an attempt that fell back has none), the calls without those
        [(tokens, cost, error_rate)] = logs._read_group(
            domain, [], ["total_tokens:sum", "cost_company:sum", "error_rate:avg"]
        )
        [(calls,)] = logs._read_group(domain + CALLS, [], ["__count"])
        unpriced_domain = domain + [("price_missing", "=", True)]
        # the calls whose first service was out: their chain's first attempt
        fallback_domain = domain + [
            ("status", "=", "fallback"),
            ("fallback_of_id", "=", False),
        ]
        fell_back = logs.search_count(fallback_domain)
        return {
            "fell_back": fell_back,
            "fallback_rate": round(fell_back * 100.0 / calls, 2) if calls else 0.0,
            "fallback_domain": fallback_domain,
            "domain": domain,
            "calls": calls,
            "tokens": tokens or 0,
            "cost": cost or 0.0,
            "error_rate": round(error_rate or 0.0, 2),
            "failed_domain": domain + [("status", "=", "failed")],
            "unpriced": logs.search_count(unpriced_domain),
            "unpriced_domain": unpriced_domain,
        }

    @api.model
    def _dashboard_top(self, domain, field_name, limit=5):
        rows = self.env["ai.usage.log"]._read_group(
            domain + [(field_name, "!=", False)] + CALLS,
            [field_name],
            [
                "__count",
                "total_tokens:sum",
                "cost_company:sum",
                "cost_company:count",  # the calls that have a price
            ],
            order="cost_company:sum desc nulls last, __count desc",
            limit=limit,
        )
        top = []
        for group, calls, tokens, cost, priced in rows:
            if isinstance(group, models.BaseModel):
                value, name = group.id, group.display_name
                # a many2one facet is exact: the user sees whose calls these are
                opening = _opening(
                    self.env._("%(name)s This Month", name=name),
                    ["filter_this_month"],
                    **{field_name: value},
                )
            else:
                value = name = group
                # the search view's model facet matches parts of names (gpt-4o
                # would take gpt-4o-mini): the exact name goes in the domain
                opening = _opening(
                    self.env._("%(name)s This Month", name=name),
                    ["filter_this_month"],
                    [(field_name, "=", value)],
                )
            top.append(
                {
                    "name": name,
                    "calls": calls,
                    "tokens": tokens or 0,
                    "cost": cost or 0.0,
                    "unpriced": not priced,
                    "domain": domain + [(field_name, "=", value)],
                    "open": opening,
                }
            )
        return top
