import logging
from datetime import datetime, time, timedelta

import pytz
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL
from odoo.tools.misc import format_date

from ..tools import prometheus_text
from .ai_usage_log_daily import DURATION_BUCKETS_MS

_logger = logging.getLogger(__name__)

# GROUPING(model, request_type, status, currency_id) of the metrics' grouping sets
BY_REQUEST, BY_CURRENCY, BY_SERVICE = 0b0001, 0b0110, 0b1111
TREND_DAYS = 30  # the dashboard's trend


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


class AiUsageReport(models.AbstractModel):
    """What people and monitoring read of the logs: the dashboard, usage
    per day or month, and the Prometheus metrics. Apart from the call path;
    each figure counts only the logs its reader may see."""

    _name = "ai.usage.report"
    _description = "AI Usage Reports"

    # ------------------------------------------------------------------
    # Dashboard
    # ------------------------------------------------------------------
    @api.model
    def get_dashboard_data(self):
        """Figures of the AI Usage dashboard, as the current user may see
        them: today and this month (calls, tokens, cost, error rate), the
        top models and users of the month. Each comes with the domain of
        the logs behind it, for the client to open."""
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
                ),
            ),
        ):
            label, calls_title, failed_title, unpriced_title = titles
            domain = [("request_time", ">=", fields.Datetime.to_string(start))]
            figures = self._dashboard_figures(domain)
            figures.update(
                open=_opening(calls_title, [search_filter]),
                open_failed=_opening(failed_title, [search_filter, "filter_failed"]),
                open_unpriced=_opening(
                    unpriced_title, [search_filter, "filter_price_missing"]
                ),
            )
            periods.append(dict(key=key, label=label, **figures))
        month_domain = periods[1]["domain"]
        last_month_start = self._to_utc(
            self._local(month_start) - relativedelta(months=1)
        )
        last_month_domain = [
            ("request_time", ">=", fields.Datetime.to_string(last_month_start)),
            ("request_time", "<", fields.Datetime.to_string(month_start)),
        ]
        [(calls, cost)] = self.env["ai.usage.log"]._read_group(
            last_month_domain, [], ["__count", "cost_company:sum"]
        )
        periods[1]["previous"] = {
            "label": _("Last Month"),
            "calls": calls,
            "cost": cost or 0.0,
            "domain": last_month_domain,
            "open": _opening(_("Calls Last Month"), ["filter_last_month"]),
            "calls_change": _change(periods[1]["calls"], calls),
            "cost_change": _change(periods[1]["cost"], cost or 0.0),
        }
        return {
            "currency": {"symbol": currency.symbol, "position": currency.position},
            "periods": periods,
            "trend": self._dashboard_trend(today_start),
            "top_models": self._dashboard_top(month_domain, "model"),
            "budgets": self._dashboard_budgets(),
            "top_users": self._dashboard_top(month_domain, "user_id"),
        }

    @api.model
    def _dashboard_budgets(self):
        """The active budgets of the current companies, with their use, each
        saying whose calls it counts. An AI administrator sees them all; a
        user, those that apply to their own calls."""
        domain = [("company_id", "in", self.env.companies.ids)]
        if not self.env.user.has_group("ai_usage_log.group_ai_usage_admin"):
            domain.append(("user_id", "in", (False, self.env.uid)))
        rows = []
        for budget in self.env["ai.usage.budget"].search(domain):
            cost, tokens = budget._consumption()
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
                    "domain": budget._log_domain(),
                    "open": _opening(
                        self.env._("Budget %(name)s", name=budget.name),
                        domain=budget._log_domain(),
                    ),
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
                ["request_time:day"],
                ["__count", "cost_company:sum"],
            )
        )
        by_day = {
            (day.date() if isinstance(day, datetime) else day): (calls, cost or 0.0)
            for day, calls, cost in rows
        }
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
        [(calls, tokens, cost, error_rate)] = logs._read_group(
            domain,
            [],
            ["__count", "total_tokens:sum", "cost_company:sum", "error_rate:avg"],
        )
        unpriced_domain = domain + [("price_missing", "=", True)]
        return {
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
            domain + [(field_name, "!=", False)],
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

    @api.model
    def _service_counters(self, service_ids):
        """{service id: (calls, failed calls, tokens, cost, last request
        time)} of the logs the current user may read, through their daily
        summary."""
        if not service_ids:
            return {}
        self.env["ai.usage.log"].flush_model()
        ids = tuple(service_ids)
        source = self.env["ai.usage.log.daily"]._union(
            SQL(
                "service_id, calls, failed, total_tokens, cost_company,"
                " last_request_time"
            ),
            SQL(
                "service_id, 1, (status = 'failed')::int, COALESCE(total_tokens, 0),"
                " COALESCE(cost_company, 0), request_time"
            ),
            SQL("service_id IN %s", ids),
            SQL("service_id IN %s", ids),
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT service_id, sum(calls), sum(failed), sum(total_tokens),
                       sum(cost_company), max(last_request_time)
                  FROM %s AS source
              GROUP BY service_id
                """,
                source,
            )
        )
        return {row[0]: row[1:] for row in self.env.cr.fetchall()}

    # ------------------------------------------------------------------
    # Usage figures and metrics
    # ------------------------------------------------------------------
    @api.model
    def get_usage_summary(
        self, granularity="day", service_id=None, date_from=None, date_to=None
    ):
        """Requests, tokens and cost per day or month (UTC) of the logs the
        current user may read (the record rules of the logs, the add-on's
        and an integrator's), oldest first. ``date_from`` and ``date_to``
        are dates, both included."""
        if granularity not in ("day", "month"):
            raise UserError(self.env._("The granularity must be 'day' or 'month'."))
        logs = self.env["ai.usage.log"]
        logs.check_access("read")
        logs.flush_model()
        summary_filters, log_filters = [SQL("TRUE")], [SQL("TRUE")]
        if service_id:
            summary_filters.append(SQL("service_id = %s", service_id))
            log_filters.append(SQL("service_id = %s", service_id))
        if date_from:
            summary_filters.append(SQL("day >= %s", fields.Date.to_date(date_from)))
            log_filters.append(
                SQL("request_time >= %s", fields.Datetime.to_datetime(date_from))
            )
        if date_to:
            end = fields.Date.to_date(date_to) + timedelta(days=1)
            summary_filters.append(SQL("day < %s", end))
            log_filters.append(
                SQL("request_time < %s", fields.Datetime.to_datetime(end))
            )
        source = self.env["ai.usage.log.daily"]._union(
            SQL(
                "day, calls, failed, input_tokens, cached_input_tokens, output_tokens,"
                " reasoning_tokens, total_tokens, cost_company"
            ),
            SQL(
                "request_time::date, 1, (status = 'failed')::int,"
                " COALESCE(input_tokens, 0),"
                " COALESCE(cached_input_tokens, 0), COALESCE(output_tokens, 0),"
                " COALESCE(reasoning_tokens, 0), COALESCE(total_tokens, 0),"
                " COALESCE(cost_company, 0)"
            ),
            SQL(" AND ").join(summary_filters),
            SQL(" AND ").join(log_filters),
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT date_trunc(%s, day)::date, sum(calls), sum(failed),
                       sum(input_tokens), sum(cached_input_tokens), sum(output_tokens),
                       sum(reasoning_tokens), sum(total_tokens), sum(cost_company)
                  FROM %s AS source
              GROUP BY 1
              ORDER BY 1
                """,
                granularity,
                source,
            )
        )
        rows = self.env.cr.fetchall()
        currency = self.env.company.currency_id.name
        return [
            {
                "period": period.isoformat()
                if granularity == "day"
                else period.strftime("%Y-%m"),
                "requests": calls,
                "input_tokens": int(input_tokens),
                "cached_input_tokens": int(cached),
                "output_tokens": int(output),
                "reasoning_tokens": int(reasoning),
                "total_tokens": int(total),
                "cost": round(float(cost), 8),
                "currency": currency,
                "error_rate": round(failed * 100 / calls, 2) if calls else 0.0,
            }
            for (
                period,
                calls,
                failed,
                input_tokens,
                cached,
                output,
                reasoning,
                total,
                cost,
            ) in rows
        ]

    @api.model
    def _prometheus_metrics(self):
        """All logs as Prometheus metrics: one SQL pass over the daily summary
        and the logs of the days since, grouped three ways at once."""
        self.env["ai.usage.log"].flush_model()
        bucket_columns = [f"duration_le_{bound}" for bound in DURATION_BUCKETS_MS]
        finished = SQL("status IN ('success', 'failed') AND duration_ms IS NOT NULL")
        source = self.env["ai.usage.log.daily"]._union(
            SQL(
                "service_id, model, request_type, status, currency_id, calls,"
                " input_tokens, cached_input_tokens, output_tokens, reasoning_tokens,"
                " cost, priced_calls, finished_calls, duration_ms_sum, %s",
                SQL(", ").join(SQL.identifier(column) for column in bucket_columns),
            ),
            SQL(
                "service_id, model, request_type, status, currency_id, 1,"
                " COALESCE(input_tokens, 0), COALESCE(cached_input_tokens, 0),"
                " COALESCE(output_tokens, 0), COALESCE(reasoning_tokens, 0),"
                " COALESCE(cost, 0), (cost IS NOT NULL)::int, (%s)::int,"
                " CASE WHEN %s THEN duration_ms ELSE 0 END, %s",
                finished,
                finished,
                SQL(", ").join(
                    SQL("(%s AND duration_ms <= %s)::int", finished, bound)
                    for bound in DURATION_BUCKETS_MS
                ),
            ),
            summary_model="ai.usage.log.total",
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT GROUPING(source.model, source.request_type, source.status,
                                source.currency_id),
                       service.name, service.provider, COALESCE(source.model, ''),
                       source.request_type,
                       source.status, currency.name, sum(calls), sum(input_tokens),
                       sum(cached_input_tokens), sum(output_tokens),
                       sum(reasoning_tokens), sum(cost), sum(priced_calls),
                       sum(finished_calls), sum(duration_ms_sum), %s
                  FROM %s AS source
                  JOIN ai_service service ON service.id = source.service_id
             LEFT JOIN res_currency currency ON currency.id = source.currency_id
              GROUP BY GROUPING SETS (
                       (service.name, service.provider, source.model,
                        source.request_type, source.status),
                       (service.name, service.provider, source.model,
                        source.currency_id, currency.name),
                       (service.name, service.provider))
                """,
                SQL(", ").join(
                    SQL("sum(%s)", SQL.identifier(c)) for c in bucket_columns
                ),
                source,
            )
        )
        requests, tokens, costs, durations = [], {}, [], []
        for row in self.env.cr.fetchall():
            grouping, service, provider, model, request_type, status = row[:6]
            currency, calls, *kinds = row[6:12]
            cost, priced, finished_calls, duration_ms, *cumulative = row[12:]
            if grouping == BY_REQUEST:
                labels = {
                    "service": service,
                    "provider": provider,
                    "model": model,
                    "request_type": request_type,
                    "status": status,
                }
                requests.append(("", labels, calls))
                for kind, value in zip(
                    ("input", "cached", "output", "reasoning"), kinds, strict=True
                ):
                    key = (service, provider, model, kind)
                    tokens[key] = tokens.get(key, 0) + value
            elif grouping == BY_CURRENCY and currency and priced:
                labels = {
                    "service": service,
                    "provider": provider,
                    "model": model,
                    "currency": currency,
                }
                costs.append(("", labels, float(cost)))
            elif grouping == BY_SERVICE and finished_calls:
                by_service = {"service": service, "provider": provider}
                for bound, value in zip(DURATION_BUCKETS_MS, cumulative, strict=True):
                    labels = dict(by_service, le=str(bound / 1000))
                    durations.append(("_bucket", labels, value))
                durations.append(
                    ("_bucket", dict(by_service, le="+Inf"), finished_calls)
                )
                durations.append(("_sum", by_service, float(duration_ms) / 1000))
                durations.append(("_count", by_service, finished_calls))
        lines = prometheus_text.family(
            "ai_usage_requests_total", "counter", "AI calls logged.", requests
        )
        lines += prometheus_text.family(
            "ai_usage_tokens_total",
            "counter",
            "Tokens used, by kind (cached is part of input, reasoning part of output).",
            [
                ("", {"service": s, "provider": p, "model": m, "kind": k}, v)
                for (s, p, m, k), v in sorted(tokens.items())
            ],
        )
        lines += prometheus_text.family(
            "ai_usage_cost_total",
            "counter",
            "Cost of the priced calls, in the price currency.",
            costs,
        )
        lines += prometheus_text.family(
            "ai_usage_request_duration_seconds",
            "histogram",
            "Duration of finished calls, retries included.",
            durations,
        )
        lines += prometheus_text.family(
            "ai_usage_up", "gauge", "1 when the metrics could be read.", [("", {}, 1)]
        )
        return "\n".join(lines) + "\n"
