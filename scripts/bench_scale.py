"""Scale benchmark: fills a database with N realistic logs (services of four
providers in two companies, models, request types, price tiers, statuses,
contacts, captured calls, over the 12 months that end with the current
one, loaded in bulk), then prints the p50 in ms over repeated runs of what
people and monitoring read: every report in its default grouping (as the
web client of the version asks for it), the dashboard of both roles, the
Usage Logs list's first page with its default filter, a service's
counters, the daily and monthly usage figures and the metrics. Also the
p50 of writing one log (start + finish) on the empty and on the filled
database.

The figures must not depend on the day it runs: the logs run to the end of
the current month, and the summary is closed as on its last day (every day
but the last two), so that This Month, the default period, is a full month
(a twelfth of the logs) and its last two days are read from the logs.

Run it through scripts/bench_scale.sh, which prepares the database."""

import os
import sys
import time
from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import api, fields

sys.path.insert(0, os.path.dirname(__file__))
from bench_common import median, open_registry, timed

MODELS = [
    "gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06", "gpt-4.1", "gpt-4.1-mini", "gpt-5",
    "gpt-5-mini", "o4-mini", "o3", "text-embedding-3-small", "gpt-6-preview",
]  # fmt: skip
PROVIDERS = ("openai", "anthropic", "gemini", "azure")
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
    response_length, create_uid, write_uid, create_date, write_date, partner_id,
    price_tier, source_module, is_captured)
SELECT s.service_id, s.provider, s.company_id, u.user_id, r.request_type,
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
       'conv-' || (g %% 20000), 0, 400, 1, 1, w.at, w.at,
       CASE WHEN c.contact IS NOT NULL THEN (%(partners)s)[1 + c.contact] END,
       -- as a company's flows make them: transcripts sent as batches,
       -- contact analyses at the flex tier, and the calls another module
       -- makes (request type other) captured
       CASE r.request_type WHEN 'transcript_analysis' THEN 'batch'
            WHEN 'contact_analysis' THEN 'flex' ELSE 'standard' END,
       CASE WHEN r.request_type = 'other' THEN 'acme_ai' END,
       r.request_type = 'other'
  FROM generate_series(1::bigint, %(rows)s) g
  -- 2 calls in 5 for a contact, a customer of one company served by one user
  CROSS JOIN LATERAL (
      SELECT CASE WHEN g %% 5 < 2 THEN (g * 3) %% %(partner_count)s END AS contact) c
  CROSS JOIN LATERAL (
      SELECT COALESCE(c.contact, g * 7) %% %(service_count)s AS service,
             COALESCE(c.contact, g * 13) %% %(user_count)s AS person) k
  CROSS JOIN LATERAL (
      SELECT (%(services)s)[1 + k.service] AS service_id,
             (%(providers)s)[1 + k.service] AS provider,
             (%(companies)s)[1 + k.service] AS company_id) s
  CROSS JOIN LATERAL (
      SELECT (%(users)s)[1 + k.person] AS user_id) u
  CROSS JOIN LATERAL (
      SELECT (%(models)s)[1 + (g * 31) %% %(model_count)s] AS model) m
  CROSS JOIN LATERAL (
      SELECT (%(types)s)[1 + (g * 11) %% %(type_count)s] AS request_type) r
  CROSS JOIN LATERAL (
      SELECT 200 + (g * 7919) %% 6000 AS input,
             20 + (g * 104729) %% 1500 AS output,
             300 + (g * 15485863) %% 9000 AS duration) t
  CROSS JOIN LATERAL (
      SELECT %(end)s::timestamp
             - make_interval(secs => g::float / %(rows)s * 365 * 86400) AS at) w
"""


def main():
    args, registry = open_registry(
        rows=(int, 1_000_000), repeat=(int, 15), reads_only=(bool, False)
    )
    if args.reads_only:
        # a database this script filled and kept (AI_USAGE_BENCH_KEEP=1)
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            service = env["ai.service"].search([("name", "=", "Bench openai")])
            employee = env["res.users"].search([("login", "=", "bench_employee")])
            service_id, employee_id = service.id, employee.id
        print_reads(measure_reads(registry, service_id, employee_id, args.repeat))
        return
    # importable once the registry has set the addons path
    from odoo.addons.ai_usage_log.compat import add_to_group

    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        second = env["res.company"].create({"name": "Bench Second Company"})
        services = env["ai.service"].create(
            [
                {"name": f"Bench {provider}", "provider": provider,
                 "api_base_url": "http://127.0.0.1:9/v1",
                 "company_id": (env.company if index % 2 else second).id}
                for index, provider in enumerate(PROVIDERS)
            ]
        )  # fmt: skip
        # an employee (who sees their own calls) beside the administrators
        # (in Brussels: the zone of a reader, whose local days are summed)
        employee = env["res.users"].create(
            {
                "name": "Bench Employee",
                "login": "bench_employee",
                "company_ids": [(6, 0, [env.company.id, second.id])],
                "tz": "Europe/Brussels",
            }
        )
        add_to_group(env.ref("base.group_user"), employee)
        add_to_group(env.ref("ai_usage_log.group_ai_usage_user"), employee)
        users = env.ref("base.user_admin") | env.ref("base.user_root") | employee
        partners = env["res.partner"].create(
            [{"name": f"Bench Contact {index}"} for index in range(2000)]
        )
        service_ids = services.ids
        company_ids = [service.company_id.id for service in services]
        month_start = fields.Datetime.now().replace(
            day=1, hour=0, minute=0, second=0, microsecond=0
        )
        end = month_start + relativedelta(months=1)

    write_empty = measure_writes(registry, service_ids[0], args.repeat * 10)

    started = time.perf_counter()
    with registry.cursor() as cr:
        cr.execute(
            FILL_SQL,
            {
                "rows": args.rows,
                "usd": api.Environment(cr, api.SUPERUSER_ID, {}).ref("base.USD").id,
                "services": service_ids, "companies": company_ids,
                "providers": list(PROVIDERS), "service_count": len(service_ids),
                "partners": partners.ids, "partner_count": len(partners),
                "end": end,
                "users": users.ids, "user_count": len(users),
                "models": MODELS, "model_count": len(MODELS),
                "types": REQUEST_TYPES, "type_count": len(REQUEST_TYPES),
            },
        )  # fmt: skip
        cr.execute("ANALYZE ai_usage_log")
    fill_seconds = time.perf_counter() - started
    # before the summary is closed as on the month's last day: a log of a
    # closed day would be summed again at once (a correction's path)
    write_full = measure_writes(registry, service_ids[0], args.repeat * 10)
    started = time.perf_counter()
    with registry.cursor() as cr:
        # as on the month's last day: every day closed but that one and the
        # one before (what _refresh closes then)
        close_as_on(api.Environment(cr, api.SUPERUSER_ID, {}), end - timedelta(days=1))
    summary_seconds = time.perf_counter() - started

    figures = measure_reads(registry, service_ids[0], employee.id, args.repeat)
    print(
        f"rows: {args.rows:,}  (loaded in {fill_seconds:.1f} s, "
        f"closed days summed in {summary_seconds:.1f} s)"
    )
    print_reads(figures)
    growth = (write_full / write_empty - 1) * 100
    print(f"{'write one log (start + finish), empty table':<48}{write_empty:>10.2f}")
    print(f"{'write one log (start + finish), filled table':<48}{write_full:>10.2f}"
          f"{f'{growth:+.0f}%':>10}")  # fmt: skip


def print_reads(figures):
    print(f"{'measure':<48}{'p50 ms':>10}{'target':>10}")
    for label, value, target in figures:
        print(f"{label:<48}{value:>10.1f}{target:>10}")


def close_as_on(env, day):
    """Close the summary as ``_refresh`` does on ``day``: every day before
    the day before it."""
    from odoo.addons.ai_usage_log.models.ai_usage_log_daily import (
        SUMMARY_UNTIL_PARAM,
    )

    daily = env["ai.usage.log.daily"]
    until = (day - timedelta(days=1)).date()
    env.cr.execute("SELECT min(request_time)::date FROM ai_usage_log")
    daily._summarize(env.cr.fetchone()[0], until)
    env["ai.usage.log.total"]._rebuild()
    env["ir.config_parameter"].set_param(SUMMARY_UNTIL_PARAM, str(until))
    env["ai.usage.log.local"]._sync_zones(until)
    env.cr.execute("ANALYZE ai_usage_log_daily")
    env.cr.execute("ANALYZE ai_usage_log_local")
    env.cr.execute("ANALYZE ai_usage_log_contact")


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


def measure_reads(registry, service_id, employee_id, repeat):
    from odoo.addons.ai_usage_log.compat import web_grouped_read
    from odoo.addons.ai_usage_log.tools.summary_plan import local_start

    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {"tz": "UTC"})
        admin = env.ref("base.user_admin")
        month_start = fields.Datetime.now().replace(
            day=1, hour=0, minute=0, second=0, microsecond=0
        )
        this_month = [("request_time", ">=", fields.Datetime.to_string(month_start))]
        # This Month as the web client sends it for a user in Brussels
        brussels_start = local_start(month_start.date(), "Europe/Brussels")
        brussels_month = [
            ("request_time", ">=", fields.Datetime.to_string(brussels_start))
        ]
        list_fields = [
            "request_time", "service_id", "request_type", "model", "status",
            "usage_state",
            "price_missing", "input_tokens", "output_tokens", "total_tokens", "cost",
            "duration_ms", "error_code", "user_id",
        ]  # fmt: skip

        def as_user(user_id, tz="UTC"):
            # as the web client reads: a user's own environment and zone
            return api.Environment(cr, user_id, {"tz": tz, "lang": "en_US"})

        def grouped(domain, measures, *groupings, user_id=None, tz="UTC", pivot=False):
            """What a graph (or a pivot) asks, as the web client of the
            version asks it (compat.web_grouped_read)."""

            def read():
                logs = as_user(user_id or admin.id, tz)["ai.usage.log"]
                web_grouped_read(logs, domain, groupings, measures, pivot=pivot)

            return read

        def pivot(groupby_rows, groupby_cols, domain, measures, **kwargs):
            # a header per grouping: the total, the rows, the columns, the cells
            return grouped(
                domain, measures, [], groupby_rows, groupby_cols,
                groupby_rows + groupby_cols, pivot=True, **kwargs,
            )  # fmt: skip

        def dashboard(user_id, tz="UTC"):
            env.invalidate_all()
            as_user(user_id, tz)["ai.usage.dashboard"].get_dashboard_data()

        def list_page():
            env.invalidate_all()
            env["ai.usage.log"].web_search_read(
                this_month,
                {name: {} for name in list_fields},
                limit=80,
                count_limit=10001,
            )

        def counters():
            env.invalidate_all()
            service = env["ai.service"].browse(service_id)
            return (
                service.usage_count,
                service.error_count,
                service.total_tokens,
                service.total_cost,
            )

        def usage_daily():
            env.invalidate_all()
            env["ai.usage.report"].get_usage_summary("day")

        def usage_monthly():
            env.invalidate_all()
            env["ai.usage.report"].get_usage_summary("month")

        def metrics():
            env.invalidate_all()
            env["ai.usage.report"]._prometheus_metrics()

        analysis_measures = ["__count", "total_tokens:sum", "cost_company:sum"]
        cost = ["cost_company:sum"]
        reads = [
            ("Usage Analysis pivot (model x month)", 300,
             pivot(["model"], ["request_time:month"], this_month, analysis_measures)),
            ("  the same, the employee (in Europe/Brussels)", 300,
             pivot(["model"], ["request_time:month"], brussels_month, analysis_measures,
                   user_id=employee_id, tz="Europe/Brussels")),
            ("Usage Analysis graph (cost per day)", 300,
             grouped(this_month, cost, ["request_time:day"])),
            ("  the same, a user in Europe/Brussels", 300,
             grouped(brussels_month, cost, ["request_time:day"], tz="Europe/Brussels")),
            ("Usage by Contact (contact x month)", 300,
             pivot(["partner_id"], ["request_time:month"],
                   [("partner_id", "!=", False)], cost)),
            ("Cost by Model", 300, grouped(this_month, cost, ["model"])),
            ("Cost by Provider", 300, grouped(this_month, cost, ["provider", "model"])),
            ("Cost by Tier", 300, grouped(this_month, cost, ["price_tier", "model"])),
            ("Cost by Request Type", 300, grouped(this_month, cost, ["request_type"])),
            ("Cost by Module", 300,
             grouped(this_month + [("is_captured", "=", True)], cost,
                     ["source_module"])),
            ("Error Rate pivot (service, model x day)", 300,
             pivot(["service_id", "model"], ["request_time:day"], this_month,
                   ["error_rate:avg", "__count"])),
            ("dashboard, administrator", 300, lambda: dashboard(admin.id)),
            ("dashboard, the employee (in Europe/Brussels)", 300,
             lambda: dashboard(employee_id, "Europe/Brussels")),
            ("Usage Logs list, first page (this month)", 100, list_page),
            ("service counters", 50, counters),
            ("usage per day (all time, administrator)", 300, usage_daily),
            ("usage per month (all time, administrator)", 300, usage_monthly),
            ("metrics", 300, metrics),
        ]  # fmt: skip

        rows = []
        for label, target, function in reads:
            function()  # warm up
            rows.append((label, median(timed(function, repeat)), f"<= {target}"))
        return rows


if __name__ == "__main__":
    main()
