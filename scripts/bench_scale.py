"""Scale benchmark: fills a database with N realistic logs (several services
in two companies, models, request types and statuses over 12 months, loaded
in bulk), then prints the p50 in ms over repeated runs of what people and
monitoring read: the Analysis pivot's default grouping, the Usage Logs list's
first page with its default filter, a service's counters, the daily and
monthly usage figures and the metrics. Also the p50 of writing one log
(start + finish) on the empty and on the filled database.

Run it through scripts/bench_scale.sh, which prepares the database."""

import os
import sys
import time

from odoo import api, fields

sys.path.insert(0, os.path.dirname(__file__))
from bench_common import median, open_registry, timed

MODELS = [
    "gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06", "gpt-4.1", "gpt-4.1-mini", "gpt-5",
    "gpt-5-mini", "o4-mini", "o3", "text-embedding-3-small", "gpt-6-preview",
]  # fmt: skip
REQUEST_TYPES = [
    "call_summary", "transcript_analysis", "contact_analysis", "custom_prompt",
    "vision_analysis", "test_connection", "other",
]  # fmt: skip
FILL_SQL = """
INSERT INTO ai_usage_log (
    service_id, provider, company_id, user_id, request_type, status, endpoint, model,
    response_model, usage_state, input_tokens, cached_input_tokens, output_tokens,
    reasoning_tokens, total_tokens, cost, cost_company, currency_id, price_missing,
    request_time, response_time, duration_ms, http_status, error_code, error_rate,
    location_id, message_id, contact_id, conversation_id, retry_count,
    response_length, create_uid, write_uid, create_date, write_date)
SELECT s.service_id, 'openai', s.company_id, u.user_id, r.request_type,
       CASE WHEN g %% 17 = 0 THEN 'failed' ELSE 'success' END,
       'chat/completions', m.model, m.model,
       CASE WHEN g %% 17 = 0 THEN 'missing' ELSE 'reported' END,
       t.input, t.input / 4, t.output, t.output / 3, t.input + t.output,
       (t.input * 0.4 + t.output * 1.6) / 1000000,
       (t.input * 0.4 + t.output * 1.6) / 1000000,
       %(usd)s, false, w.at, w.at + make_interval(secs => t.duration / 1000.0),
       t.duration,
       CASE WHEN g %% 17 = 0 THEN 429 ELSE 200 END,
       CASE WHEN g %% 17 = 0 THEN 'rate_limit_exceeded' END,
       CASE WHEN g %% 17 = 0 THEN 100 ELSE 0 END,
       'loc-' || (g %% 40), 'msg-' || g, 'contact-' || (g %% 5000),
       'conv-' || (g %% 20000), 0, 400, 1, 1, w.at, w.at
  FROM generate_series(1::bigint, %(rows)s) g
  CROSS JOIN LATERAL (
      SELECT (%(services)s)[1 + (g * 7) %% %(service_count)s] AS service_id,
             (%(companies)s)[1 + (g * 7) %% %(service_count)s] AS company_id) s
  CROSS JOIN LATERAL (
      SELECT (%(users)s)[1 + (g * 13) %% %(user_count)s] AS user_id) u
  CROSS JOIN LATERAL (
      SELECT (%(models)s)[1 + (g * 31) %% %(model_count)s] AS model) m
  CROSS JOIN LATERAL (
      SELECT (%(types)s)[1 + (g * 11) %% %(type_count)s] AS request_type) r
  CROSS JOIN LATERAL (
      SELECT 200 + (g * 7919) %% 6000 AS input,
             20 + (g * 104729) %% 1500 AS output,
             300 + (g * 15485863) %% 9000 AS duration) t
  CROSS JOIN LATERAL (
      SELECT (now() AT TIME ZONE 'UTC')
             - make_interval(secs => g::float / %(rows)s * 365 * 86400) AS at) w
"""


def main():
    args, registry = open_registry(rows=(int, 1_000_000), repeat=(int, 15))

    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        second = env["res.company"].create({"name": "Bench Second Company"})
        services = env["ai.service"].create(
            [
                {"name": f"Bench {index}", "api_base_url": "http://127.0.0.1:9/v1",
                 "company_id": (env.company if index % 2 else second).id}
                for index in range(4)
            ]
        )  # fmt: skip
        users = env.ref("base.user_admin") | env.ref("base.user_root")
        service_ids = services.ids
        company_ids = [service.company_id.id for service in services]

    write_empty = measure_writes(registry, service_ids[0], args.repeat * 10)

    started = time.perf_counter()
    with registry.cursor() as cr:
        cr.execute(
            FILL_SQL,
            {
                "rows": args.rows,
                "usd": api.Environment(cr, api.SUPERUSER_ID, {}).ref("base.USD").id,
                "services": service_ids, "companies": company_ids,
                "service_count": len(service_ids),
                "users": users.ids, "user_count": len(users),
                "models": MODELS, "model_count": len(MODELS),
                "types": REQUEST_TYPES, "type_count": len(REQUEST_TYPES),
            },
        )  # fmt: skip
        cr.execute("ANALYZE ai_usage_log")
    fill_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with registry.cursor() as cr:
        api.Environment(cr, api.SUPERUSER_ID, {})["ai.usage.log.daily"]._refresh()
    summary_seconds = time.perf_counter() - started
    write_full = measure_writes(registry, service_ids[0], args.repeat * 10)

    figures = measure_reads(registry, service_ids[0], args.repeat)
    print(
        f"rows: {args.rows:,}  (loaded in {fill_seconds:.1f} s, "
        f"closed days summed in {summary_seconds:.1f} s)"
    )
    print(f"{'measure':<48}{'p50 ms':>10}{'target':>10}")
    for label, value, target in figures:
        print(f"{label:<48}{value:>10.1f}{target:>10}")
    growth = (write_full / write_empty - 1) * 100
    print(f"{'write one log (start + finish), empty table':<48}{write_empty:>10.2f}")
    print(f"{'write one log (start + finish), filled table':<48}{write_full:>10.2f}"
          f"{f'{growth:+.0f}%':>10}")  # fmt: skip


def measure_writes(registry, service_id, repeat):
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        service = env["ai.service"].browse(service_id)
        logs = env["ai.usage.log"]
        payload = {
            "model": "gpt-4o-mini",
            "usage": {"prompt_tokens": 100, "completion_tokens": 20},
        }

        def write_one():
            log = logs.create_usage_log(service=service, model="gpt-4o-mini")
            log.update_success(payload)

        timed(write_one, 20)  # warm up
        return median(timed(write_one, repeat))


def measure_reads(registry, service_id, repeat):
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {"tz": "UTC"})
        logs = env["ai.usage.log"]
        month_start = fields.Datetime.now().replace(
            day=1, hour=0, minute=0, second=0, microsecond=0
        )
        this_month = [("request_time", ">=", fields.Datetime.to_string(month_start))]
        measures = ["total_tokens:sum", "cost_company:sum"]
        list_fields = [
            "request_time", "service_id", "request_type", "model", "status",
            "usage_state",
            "price_missing", "input_tokens", "output_tokens", "total_tokens", "cost",
            "duration_ms", "error_code", "user_id",
        ]  # fmt: skip

        def fresh():
            env.invalidate_all()

        def pivot():
            fresh()
            for groupby in (
                [],
                ["request_time:month"],
                ["model"],
                ["request_time:month", "model"],
            ):
                logs.read_group(this_month, measures, groupby, lazy=False)

        def list_page():
            fresh()
            logs.web_search_read(
                this_month,
                {name: {} for name in list_fields},
                limit=80,
                count_limit=10001,
            )

        def counters():
            fresh()
            service = env["ai.service"].browse(service_id)
            return (
                service.usage_count,
                service.error_count,
                service.total_tokens,
                service.total_cost,
            )

        def usage_daily():
            fresh()
            env["ai.usage.report"].get_usage_summary("day")

        def usage_monthly():
            fresh()
            env["ai.usage.report"].get_usage_summary("month")

        def metrics():
            fresh()
            env["ai.usage.report"]._prometheus_metrics()

        rows = []
        for label, function, target in (
            ("Analysis pivot, default grouping", pivot, 500),
            ("Usage Logs list, first page (this month)", list_page, 100),
            ("service counters", counters, 50),
            ("usage per day (all time, administrator)", usage_daily, 300),
            ("usage per month (all time, administrator)", usage_monthly, 300),
            ("metrics", metrics, 300),
        ):
            function()  # warm up
            rows.append((label, median(timed(function, repeat)), f"<= {target}"))
        return rows


if __name__ == "__main__":
    main()
