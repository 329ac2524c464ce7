import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import prometheus_text
from .ai_usage_log_daily import DURATION_BUCKETS_MS

_logger = logging.getLogger(__name__)

# GROUPING(model, request_type, status, currency_id) of the metrics' grouping sets
BY_REQUEST, BY_CURRENCY, BY_SERVICE = 0b0001, 0b0110, 0b1111


class AiUsageReport(models.AbstractModel):
    """What people and monitoring read of the logs: the services' counters,
    usage per day or month, and the Prometheus metrics (the dashboard is
    ai.usage.dashboard). Apart from the call path; each figure counts only
    the logs its reader may see."""

    _name = "ai.usage.report"
    _description = "AI Usage Reports"

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
            # an attempt that fell back is no call: its chain's last one is
            SQL(
                "service_id, CASE WHEN status = 'fallback' THEN 0 ELSE calls END,"
                " failed, total_tokens, cost_company, last_request_time"
            ),
            SQL(
                "service_id, (status IS DISTINCT FROM 'fallback')::int,"
                " (status = 'failed')::int, COALESCE(total_tokens, 0),"
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
    @api.readonly
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
        # a test connection is a call, not production traffic: it counts in
        # the requests, not in the error rate (as everywhere else); an
        # attempt that fell back is no call (its chain's last one is), but
        # its tokens, if any, count
        source = self.env["ai.usage.log.daily"]._union(
            SQL(
                "day, CASE WHEN status = 'fallback' THEN 0 ELSE calls END, failed,"
                " input_tokens, cached_input_tokens, output_tokens,"
                " reasoning_tokens, total_tokens, cost_company,"
                " CASE WHEN request_type = 'test_connection' OR status = 'fallback'"
                " THEN 0 ELSE calls END AS rated,"
                " CASE WHEN request_type = 'test_connection' THEN 0 ELSE failed END"
                " AS rated_failed"
            ),
            SQL(
                "request_time::date, (status IS DISTINCT FROM 'fallback')::int,"
                " (status = 'failed')::int,"
                " COALESCE(input_tokens, 0),"
                " COALESCE(cached_input_tokens, 0), COALESCE(output_tokens, 0),"
                " COALESCE(reasoning_tokens, 0), COALESCE(total_tokens, 0),"
                " COALESCE(cost_company, 0),"
                " (request_type IS DISTINCT FROM 'test_connection'"
                " AND status IS DISTINCT FROM 'fallback')::int,"
                " (status = 'failed'"
                " AND request_type IS DISTINCT FROM 'test_connection')::int"
            ),
            SQL(" AND ").join(summary_filters),
            SQL(" AND ").join(log_filters),
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT date_trunc(%s, day)::date, sum(calls),
                       sum(input_tokens), sum(cached_input_tokens), sum(output_tokens),
                       sum(reasoning_tokens), sum(total_tokens), sum(cost_company),
                       sum(rated), sum(rated_failed)
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
                "error_rate": round(failed * 100 / rated, 2) if rated else 0.0,
            }
            for (
                period,
                calls,
                input_tokens,
                cached,
                output,
                reasoning,
                total,
                cost,
                rated,
                failed,
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
