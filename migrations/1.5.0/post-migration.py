"""1.5: the daily summary also groups by provider, price tier, source module
and capture, so that the reports grouped by them read it (Cost by Provider,
Cost by Tier, Cost by Module). Its closed days are summed again, with them:
those that still have their logs (the retention may have deleted the oldest,
whose summary stays as it was)."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    daily = env["ai.usage.log.daily"]
    until = daily._summary_until()
    cr.execute(
        "SELECT (SELECT min(day) FROM ai_usage_log_daily),"
        " (SELECT min(request_time)::date FROM ai_usage_log)"
    )
    first_summed, first_logged = cr.fetchone()
    if until and first_summed and first_logged:
        daily._summarize(max(first_summed, first_logged), until)
