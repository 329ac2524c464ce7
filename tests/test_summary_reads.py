"""Grouped reads of the logs answered from the daily summary (closed days
wanted whole) and the logs (the rest) give what grouping the logs alone
gives: every grouping, measure, filter, time zone and reader generated
below, on logs that cross day and month boundaries in every zone, the record
rules of both roles and of two companies included."""

import itertools
import random
from collections import Counter
from datetime import date, datetime, time, timedelta
from unittest.mock import patch

import pytz
from dateutil.relativedelta import relativedelta
from freezegun import freeze_time

from odoo import fields, models
from odoo.tests import BaseCase, new_test_user, tagged
from odoo.tools import SQL

from odoo.addons.web.models.models import Base as WebBase

from ..compat import web_grouped_read
from ..models.ai_usage_log_daily import SUMMARY_UNTIL_PARAM
from ..tools import summary_plan
from .common import AiUsageCase

MODELS = ["gpt-4.1", "gpt-4o-mini", "o3", "claude-sonnet-4-5", None]
TYPES = ["call_summary", "contact_analysis", "test_connection", "other"]
STATUSES = [
    *["success", "success", "success", "failed", "blocked", "processing"],
    "fallback",  # an attempt a fallback chain passed on: in no error rate
]
ZONES = ["UTC", "Europe/Brussels", "America/New_York", "Asia/Kolkata"]
GROUPINGS = [
    [],
    ["model"],
    ["request_time:month"],
    ["model", "request_time:month"],
    ["request_time:day"],
    ["service_id", "model", "request_time:day"],
    ["request_time:week"],
    ["request_time:quarter", "status"],
    ["request_time:year", "user_id"],
    ["request_type", "company_id", "currency_id"],
    ["provider", "model"],
    ["price_tier", "model"],
    ["source_module"],
    ["is_captured", "request_time:month"],
    # Usage by Contact: the contacts' monthly summary
    ["partner_id"],
    ["partner_id", "request_time:month"],
    ["request_time:year", "partner_id", "user_id", "currency_id"],
]
AGGREGATES = [
    "__count",
    "total_tokens:sum",
    "cost_company:sum",
    "error_rate:avg",
    "input_tokens:sum",
    "cached_input_tokens:sum",
    "output_tokens:sum",
    "reasoning_tokens:sum",
    "cost_company:count",
]


@tagged("post_install", "-at_install")
class TestSummaryReads(AiUsageCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_company = cls.env["res.company"].create({"name": "Summary Second"})
        cls.other_service = cls.env["ai.service"].create(
            {
                "name": "Second company's",
                "api_base_url": cls.fake.url,
                "api_key": "sk-second",
                "company_id": cls.other_company.id,
            }
        )
        cls.both = new_test_user(
            cls.env,
            login="ai_summary_both",
            groups="base.group_user,ai_usage_log.group_ai_usage_admin",
            company_ids=[(6, 0, [cls.company.id, cls.other_company.id])],
        )
        cls.partners = cls.env["res.partner"].create(
            [{"name": f"Summary contact {n}"} for n in range(30)]
        )
        cls.now = fields.Datetime.now()
        cls.fill()
        # closed to the middle of a month, whatever the day: that month's
        # contact rows hold only its first days
        until = (cls.now.date() - timedelta(days=20)).replace(day=15)
        cls.env["ir.config_parameter"].set_param(SUMMARY_UNTIL_PARAM, str(until))
        # the readers' zones: their local days are summed too (the
        # database's own readers may add theirs)
        cls.env["ir.config_parameter"].set_param("ai_usage_log.summary_zones_max", "10")
        for reader, zone in zip(
            (cls.user, cls.other_user, cls.both), ZONES[1:], strict=True
        ):
            reader.tz = zone
        cls.env["ai.usage.log.daily"]._summarize(cls.first.date(), until)
        cls.env["ai.usage.log.local"]._sync_zones(until)

    @classmethod
    def fill(cls):
        """~3,000 logs over the last 75 days, some at the very midnights
        and month starts of each zone, of both companies and every reader."""
        rand = random.Random(20261202)
        usd, eur = cls.env.ref("base.USD"), cls.env.ref("base.EUR")
        services = [cls.service, cls.service, cls.other_service]
        users = [cls.user, cls.other_user, cls.admin, cls.both]
        moments = [
            cls.now - timedelta(seconds=rand.randrange(75 * 86400)) for _ in range(2900)
        ]
        today = cls.now.date()
        for days_ago in range(75):
            midnight = datetime.combine(today - timedelta(days=days_ago), time.min)
            moments += [midnight, midnight - timedelta(microseconds=1)]
            moments += [midnight + timedelta(hours=5, minutes=30)]  # Kolkata's
        cls.first = min(moments)
        rows = []
        for moment in moments:
            service = rand.choice(services)
            status = rand.choice(STATUSES)
            usage = status in ("success", "failed") and rand.random() < 0.9
            tokens = rand.randrange(10, 5000)
            priced = usage and rand.random() < 0.85
            rows.append(
                (
                    service.id,
                    service.company_id.id,
                    rand.choice(users).id,
                    rand.choice(TYPES),
                    status,
                    rand.choice(MODELS),
                    tokens if usage else None,
                    tokens // 5 if usage else None,
                    tokens // 3 if usage else None,
                    tokens // 7 if usage else None,
                    tokens + tokens // 3 if usage else None,
                    round(tokens * 0.0000037, 8) if priced else None,
                    rand.choice([usd, usd, eur]).id,
                    moment,
                    rand.choice(["openai", "openai", "anthropic", "gemini"]),
                    rand.choice(["standard", "standard", "flex", "batch", None]),
                    *rand.choice([(None, False), (None, None), ("acme_ai", True)]),
                    rand.choice(cls.partners).id if rand.random() < 0.5 else None,
                )
            )
        cls.env.cr.execute(
            SQL(
                """
                INSERT INTO ai_usage_log (
                    service_id, company_id, user_id, request_type, status, model,
                    input_tokens, cached_input_tokens, output_tokens,
                    reasoning_tokens, total_tokens, cost_company, currency_id,
                    request_time, provider, price_tier, source_module, is_captured,
                    partner_id, error_rate)
                VALUES %s
                """,
                SQL(", ").join(
                    SQL(
                        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                        " %s, %s, %s, %s, %s, %s)",
                        *row,
                        {"failed": 100, "fallback": None}.get(row[4], 0),
                    )
                    for row in rows
                ),
            )
        )
        cls.env.invalidate_all()

    def domains(self, zone):
        """The Usage Logs' filters (This Month, Last Month...) as the web
        client sends them for a user in ``zone``, and others."""
        today = _local(self.now, zone).date()

        def utc(day):
            return fields.Datetime.to_string(
                _to_utc(datetime.combine(day, time.min), zone)
            )

        month = today + relativedelta(day=1)
        last_month = today + relativedelta(months=-1, day=1)
        week = today + relativedelta(weeks=-1, days=1, weekday=0)
        two_months_ago = today + relativedelta(months=-2, day=1)
        return [
            [],
            [("request_time", ">=", utc(month))],
            [
                ("request_time", ">=", utc(last_month)),
                ("request_time", "<", utc(month)),
            ],
            [("request_time", ">=", utc(week))],
            # wholly closed: nothing read from the logs
            [
                ("request_time", ">=", utc(two_months_ago)),
                ("request_time", "<", utc(last_month)),
            ],
            [("status", "=", "failed")],
            [("partner_id", "!=", False)],
            [("partner_id", "!=", False), ("request_time", ">=", utc(last_month))],
            [("is_captured", "=", True), ("request_time", ">=", utc(month))],
            [("request_type", "=", "call_summary"), ("request_time", ">", utc(month))],
            ["|", ("status", "in", ("blocked", "processing")), ("model", "=", "o3")],
            [("request_time", "<=", utc(today - timedelta(days=10)))],
            [("user_id", "=", self.env.uid), ("service_id.name", "ilike", "second")],
            # not the summary's: from the logs, the same way
            [("partner_id", "=", False), ("request_time", ">=", utc(month))],
            ["|", ("request_time", ">=", utc(month)), ("status", "=", "failed")],
            # the calls, not the attempts that fell back (the dashboard's)
            [("status", "!=", "fallback"), ("request_time", ">=", utc(last_month))],
        ]

    def test_every_grouped_read_is_the_logs_own(self):
        Log = self.env["ai.usage.log"]
        served, fallbacks = Counter(), 0
        rand = random.Random(7)
        readers = [self.admin, self.user, self.both]
        for reader, zone in itertools.product(readers, ZONES):
            contexts = [{"tz": zone}]
            if reader == self.both:
                contexts.append(
                    {"tz": zone, "allowed_company_ids": [self.other_company.id]}
                )
            for context in contexts:
                logs = Log.with_user(reader).with_context(**context)
                for domain in self.domains(zone):
                    for groupby in rand.sample(GROUPINGS, 4):
                        aggregates = rand.sample(AGGREGATES, 3)
                        plan = logs._summary_plan(domain, groupby, aggregates, ())
                        if plan:
                            served[plan.source.model] += 1
                        else:
                            fallbacks += 1
                        with self.subTest(
                            reader=reader.login, context=context, domain=domain,
                            groupby=groupby, aggregates=aggregates,
                        ):  # fmt: skip
                            self.assertEqual(
                                exact(logs._read_group(domain, groupby, aggregates)),
                                exact(
                                    logs.with_context(
                                        ai_usage_from_logs=True
                                    )._read_group(domain, groupby, aggregates)
                                ),
                            )
        # every way was taken, many times
        self.assertGreater(served["ai.usage.log.daily"], 60)
        self.assertGreater(served["ai.usage.log.local"], 150, served)
        self.assertGreater(served["ai.usage.log.contact"], 15)
        self.assertGreater(fallbacks, 50)

    def test_the_pivot_and_the_dashboard_read_the_same(self):
        """As the web client asks: read_group with its labels and ranges, a
        limit, an order by a measure, a having; and the dashboard."""
        for reader, zone in itertools.product((self.admin, self.user), ZONES):
            logs = self.env["ai.usage.log"].with_user(reader).with_context(tz=zone)
            month = self.domains(zone)[1]
            for args in (
                (
                    month,
                    ["total_tokens", "cost_company"],
                    ["model", "request_time:month"],
                ),
                (month, ["error_rate"], ["service_id", "request_time:day"]),
                ([], ["cost_company"], ["request_time:week"]),
            ):
                self.assertEqual(
                    logs.read_group(*args, lazy=False),
                    logs.with_context(ai_usage_from_logs=True).read_group(
                        *args, lazy=False
                    ),
                )
            # as each version's web client asks: 19.0's pivot in one call
            # (served whole, by header, or from the logs), with an order
            for domain, grouping_sets, aggregates in (
                (month, [(), ("model",), ("request_time:month",),
                         ("model", "request_time:month")],
                 ["__count", "total_tokens:sum", "cost_company:sum"]),
                ([("partner_id", "!=", False)],
                 [(), ("partner_id",), ("partner_id", "request_time:month")],
                 ["cost_company:sum"]),
                (month, [("service_id", "model"), ("request_time:day",)],
                 ["error_rate:avg", "__count"]),
                # the contacts' and the daily summary's headers, and one of
                # the logs only
                (month, [(), ("model",), ("partner_id",), ("location_id",),
                         ("model", "partner_id")],
                 ["__count", "cost_company:sum"]),
            ):  # fmt: skip
                self.assertEqual(
                    web_grouped_read(logs, domain, grouping_sets, aggregates),
                    web_grouped_read(
                        logs.with_context(ai_usage_from_logs=True),
                        domain,
                        grouping_sets,
                        aggregates,
                    ),
                )
            kwargs = {
                "domain": [],
                "groupby": ["model"],
                "aggregates": ["__count", "cost_company:sum"],
                "having": [("__count", ">", 100)],
                "order": "cost_company:sum desc",
                "limit": 3,
            }
            self.assertEqual(
                exact(logs._read_group(**kwargs)),
                exact(logs.with_context(ai_usage_from_logs=True)._read_group(**kwargs)),
            )
            dashboard = self.env["ai.usage.dashboard"].with_user(reader)
            # at one moment: the dashboard's periods end now
            with freeze_time(self.now):
                self.assertEqual(
                    dashboard.with_context(tz=zone).get_dashboard_data(),
                    dashboard.with_context(
                        tz=zone, ai_usage_from_logs=True
                    ).get_dashboard_data(),
                )

    def zero_some_cached_tokens(self):
        """A count of 0 tokens beside logs without any: two groups."""
        self.Log.search([("cached_input_tokens", "!=", False)], limit=3).write(
            {"cached_input_tokens": 0}
        )

    def test_read_group_formats_as_odoo_formats(self):
        """Each value formatted once (ai_usage_log_group_labels): the labels,
        ranges and domains of Odoo's own formatting of every row."""
        odoo_own = models.BaseModel._read_group_format_result
        self.zero_some_cached_tokens()
        for zone, groupby, lazy in (
            ("UTC", ["cached_input_tokens"], False),
            ("UTC", [], False),
            ("UTC", ["partner_id", "request_time:month"], False),
            ("Europe/Brussels", ["request_time:day", "model"], False),
            ("America/New_York", ["request_time:week", "service_id"], True),
            ("Asia/Kolkata", ["is_captured", "user_id", "request_time:year"], False),
            ("UTC", ["request_time:month_number", "currency_id"], False),
            ("UTC", ["status"], True),
        ):
            logs = self.env["ai.usage.log"].with_user(self.admin).with_context(tz=zone)
            args = ([], ["__count", "cost_company:sum"], groupby)
            rows = logs.read_group(*args, lazy=lazy)
            self.assertGreater(len(rows), 3 if groupby else 0, groupby)
            with patch.object(type(logs), "_read_group_format_result", odoo_own):
                self.assertEqual(rows, logs.read_group(*args, lazy=lazy))

    def test_the_formatted_reads_format_as_odoo_formats(self):
        """19.0's pivot and graph: each value formatted once, the groups of
        Odoo's own formatting of every group."""
        odoo_own = getattr(WebBase, "_web_read_group_groupby_formatter", None)
        if odoo_own is None:
            self.skipTest("18.0 has no formatted reads")
        self.zero_some_cached_tokens()
        grouping_sets = [
            (), ("partner_id",), ("partner_id", "request_time:month"),
            ("request_time:day", "model"), ("request_time:week", "service_id"),
            ("is_captured", "user_id", "request_time:year"),
            ("request_time:month_number", "currency_id"), ("cached_input_tokens",),
        ]  # fmt: skip
        for zone in ZONES:
            logs = self.env["ai.usage.log"].with_user(self.admin).with_context(tz=zone)
            args = ([], grouping_sets, ["__count", "cost_company:sum"])
            groups = logs.formatted_read_grouping_sets(*args)
            self.assertGreater(len(groups[2]), 30)
            with patch.object(
                type(logs), "_web_read_group_groupby_formatter", odoo_own
            ):
                self.assertEqual(groups, logs.formatted_read_grouping_sets(*args))

    def test_a_change_to_a_closed_day_is_read_at_once(self):
        """A correction of old logs (another contact, a recomputed cost, a
        log deleted) sums their days and months again."""
        until = self.env["ai.usage.log.daily"]._summary_until()
        Log = self.env["ai.usage.log"].with_context(tz="UTC")
        old = Log.search(
            [("request_time", "<", str(until - timedelta(days=3)))], limit=40
        )
        self.assertEqual(len(old), 40)
        old[:20].write({"partner_id": self.partners[0].id, "cost_company": 1.25})
        old[20:].unlink()
        for zone, groupby, source in (
            ("UTC", ["partner_id", "request_time:month"], "ai.usage.log.contact"),
            ("UTC", ["model"], "ai.usage.log.daily"),
            ("America/New_York", ["request_time:day"], "ai.usage.log.local"),
            (
                "Asia/Kolkata",
                ["partner_id", "request_time:month"],
                "ai.usage.log.contact",
            ),
        ):
            logs = Log.with_context(tz=zone)
            args = ([], groupby, ["__count", "cost_company:sum"])
            self.assertEqual(logs._summary_plan(*args, ()).source.model, source)
            self.assertEqual(
                exact(logs._read_group(*args)),
                exact(logs.with_context(ai_usage_from_logs=True)._read_group(*args)),
            )

    def test_a_call_of_an_open_day_is_read_at_once(self):
        """In every zone: a local day that ends after the summary's last
        closed UTC day is not closed, its calls are read from the logs."""
        until = self.env["ai.usage.log.daily"]._summary_until()
        for hour in (0, 9, 18, 23):
            self.Log.create(
                {
                    "service_id": self.service.id,
                    "request_time": datetime.combine(until, time(hour)),
                    "request_type": "other",
                    "status": "success",
                    "total_tokens": 1000,
                }
            )
        for zone in ZONES:
            logs = self.env["ai.usage.log"].with_context(tz=zone)
            args = ([], ["request_time:day"], ["__count", "total_tokens:sum"])
            self.assertIsNotNone(logs._summary_plan(*args, ()))
            self.assertEqual(
                exact(logs._read_group(*args)),
                exact(logs.with_context(ai_usage_from_logs=True)._read_group(*args)),
                zone,
            )

    def test_a_price_added_for_closed_days_is_read_at_once(self):
        """The full catalogue plus an administrator's prefix row: calls of
        closed days that had no price, re-priced by Recompute Cost, are
        summed again in every summary, and every reader's report shows
        their new cost."""
        Price = self.env["ai.model.price"]
        before = Price.search_count([])
        Price.with_user(self.admin).action_update_prices()
        self.assertGreater(Price.search_count([]) - before, 50, "the catalogue")
        until = self.env["ai.usage.log.daily"]._summary_until()
        midnight = datetime.combine(until - timedelta(days=4), time.min)
        # at a UTC midnight and at Brussels', New York's and Kolkata's
        moments = [midnight + timedelta(hours=h) for h in (-5, -1, 0, 5.5, 22.5)]
        partners = self.env["res.partner"].create(
            [{"name": f"Priced contact {n}"} for n in range(5)]
        )
        calls = self.Log.create(
            [
                {
                    "service_id": self.service.id,
                    "user_id": (self.user if n % 2 else self.admin).id,
                    "partner_id": partners[n].id,
                    "request_time": moment,
                    "request_type": "call_summary",
                    "status": "success",
                    "model": "acme-large-2",
                    # as such a call finishes: no price, no cost
                    "usage_state": "reported",
                    "price_missing": True,
                    "input_tokens": 1000 * (n + 1),
                    "output_tokens": 100 * (n + 1),
                    "total_tokens": 1100 * (n + 1),
                }
                for n, moment in enumerate(moments)
            ]
        )
        Price.with_user(self.admin).create(
            {
                "price_provider": self.service.price_provider,
                "model_name": "acme-large",
                "match_type": "prefix",
                "date_from": "2020-01-01",
                "input_price": 2.0,
                "output_price": 8.0,
            }
        )
        calls.with_user(self.admin).action_recompute_cost()
        self.assertEqual(calls.mapped("price_missing"), [False] * 5)
        for n, call in enumerate(calls):
            self.assertAlmostEqual(call.cost, (1000 * 2.0 + 100 * 8.0) * (n + 1) / 1e6)
        model = [("model", "=", "acme-large-2")]
        contacts = [("partner_id", "in", partners.ids)]
        month = ["partner_id", "request_time:month"]
        for reader, zone, domain, groupby, source in (
            (self.admin, "UTC", model, ["request_time:day"], "ai.usage.log.daily"),
            (self.user, "Europe/Brussels", model, ["request_time:day"],
             "ai.usage.log.local"),
            (self.admin, "Asia/Kolkata", contacts, month, "ai.usage.log.contact"),
            (self.user, "UTC", contacts, month, "ai.usage.log.contact"),
        ):  # fmt: skip
            logs = self.env["ai.usage.log"].with_user(reader).with_context(tz=zone)
            args = (domain, groupby, ["__count", "cost_company:sum"])
            self.assertEqual(logs._summary_plan(*args, ()).source.model, source)
            rows = logs._read_group(*args)
            self.assertEqual(
                exact(rows),
                exact(logs.with_context(ai_usage_from_logs=True)._read_group(*args)),
            )
            # an AI user sees their own calls
            mine = calls.filtered(
                lambda log, r=reader: r == self.admin or log.user_id == r
            )
            self.assertEqual(sum(row[-2] for row in rows), len(mine))
            self.assertAlmostEqual(
                sum(row[-1] for row in rows), sum(mine.mapped("cost_company")), places=8
            )

    def test_the_zones_summed_follow_the_readers(self):
        """A reader moving to a zone gets its local days summed (by the
        summary's scheduled action), the zone no reader has any more loses
        them, and each reader's reads stay the logs' own."""
        local = self.env["ai.usage.log.local"]
        until = self.env["ai.usage.log.daily"]._summary_until()
        self.assertLessEqual(
            set(ZONES[1:]), set(local._summed_zones()), "the test readers' zones"
        )
        self.other_user.tz = "Asia/Tokyo"
        local._sync_zones(until)
        self.assertIn("Asia/Tokyo", local._summed_zones())
        self.assertNotIn("America/New_York", local._summed_zones())
        self.assertFalse(local.search_count([("zone", "=", "America/New_York")]))
        args = ([], ["model", "request_time:day"], ["__count", "total_tokens:sum"])
        for zone, source in (
            ("Asia/Tokyo", "ai.usage.log.local"),
            # the UTC days it can: those no local midnight cuts, none here
            ("America/New_York", None),
        ):
            logs = self.env["ai.usage.log"].with_user(self.admin).with_context(tz=zone)
            plan = logs._summary_plan(*args, ())
            self.assertEqual(plan and plan.source.model, source)
            self.assertEqual(
                exact(logs._read_group(*args)),
                exact(logs.with_context(ai_usage_from_logs=True)._read_group(*args)),
            )
        # at most ai_usage_log.summary_zones_max zones: those of most readers
        (self.admin | self.user).tz = "Asia/Kolkata"
        self.env["ir.config_parameter"].set_param("ai_usage_log.summary_zones_max", "1")
        local._sync_zones(until)
        self.assertEqual(local._summed_zones(), ["Asia/Kolkata"])
        self.assertEqual(set(local.search([]).mapped("zone")), {"Asia/Kolkata"})
        contacts = self.env["ai.usage.log.contact"].search([])
        self.assertEqual(set(contacts.mapped("zone")), {"UTC", "Asia/Kolkata"})

    def test_the_summary_action_sums_a_new_zone(self):
        """Even with every day already closed."""
        daily = self.env["ai.usage.log.daily"]
        local = self.env["ai.usage.log.local"]
        with freeze_time(datetime.combine(daily._summary_until(), time(3))
                         + timedelta(days=1)):  # fmt: skip
            self.assertEqual(daily._refresh(), 0)
            self.user.tz = "Pacific/Kiritimati"  # UTC+14
            self.assertEqual(daily._refresh(), 0)
        self.assertIn("Pacific/Kiritimati", local._summed_zones())
        self.assertTrue(local.search_count([("zone", "=", "Pacific/Kiritimati")]))

    def test_a_served_read_reads_the_summary(self):
        """Not the logs of the closed days it wants whole: the summary rows
        stand for them (here made to differ, to tell which was read)."""
        logs = self.env["ai.usage.log"].with_context(tz="UTC")
        until = self.env["ai.usage.log.daily"]._summary_until()
        start = fields.Datetime.to_string(
            datetime.combine(until, time.min) - timedelta(days=7)
        )
        domain = [("request_time", ">=", start)]
        before = logs._read_group(domain, [], ["__count"])[0][0]
        self.env.cr.execute(
            "UPDATE ai_usage_log_daily SET calls = calls + 1 WHERE day = %s",
            [until - timedelta(days=1)],
        )
        rows = self.env.cr.rowcount
        self.assertGreater(rows, 0)
        self.assertEqual(logs._read_group(domain, [], ["__count"])[0][0], before + rows)
        # and as the web client asks (19.0: every header of a pivot at once)
        total, by_model = web_grouped_read(logs, domain, [(), ("model",)], ["__count"])
        self.assertEqual(total[0]["__count"], before + rows)
        self.assertEqual(sum(group["__count"] for group in by_model), before + rows)
        self.assertEqual(
            logs.with_context(ai_usage_from_logs=True)._read_group(
                domain, [], ["__count"]
            )[0][0],
            before,
        )


def exact(rows):
    """Rows with the type of each value: an unknown cost (False) is not 0."""
    return [tuple((type(value), value) for value in row) for row in rows]


def _to_utc(local, zone):
    return pytz.timezone(zone).localize(local).astimezone(pytz.utc).replace(tzinfo=None)


def _local(moment, zone):
    return pytz.utc.localize(moment).astimezone(pytz.timezone(zone))


def _days(first, last):
    while first < last:
        yield first
        first += timedelta(days=1)


@tagged("post_install", "-at_install")
class TestSummaryPlan(BaseCase):
    """tools/summary_plan, without a database."""

    def test_whole_days_of_bounds(self):
        first, until = date(2026, 11, 21), date(2026, 12, 6)
        parse = fields.Datetime.to_datetime
        cases = [
            ([(">=", "2026-12-01 00:00:00")], (date(2026, 12, 1), until)),
            # the bound's own moment excluded: its day is not wanted whole
            ([(">", "2026-12-01 00:00:00")], (date(2026, 12, 2), until)),
            ([(">=", "2026-11-30 23:00:00")], (date(2026, 12, 1), until)),
            ([("<", "2026-12-03 00:00:00")], (first, date(2026, 12, 3))),
            ([("<=", "2026-12-03 00:00:00")], (first, date(2026, 12, 3))),
            ([("<", "2026-12-03 10:00:00")], (first, date(2026, 12, 3))),
            ([("<", "2027-01-01 00:00:00")], (first, until)),
            ([(">=", "2026-12-04 00:00:00"), ("<", "2026-12-02 00:00:00")],
             (date(2026, 12, 4), date(2026, 12, 4))),
        ]  # fmt: skip
        for conditions, expected in cases:
            with self.subTest(conditions=conditions):
                self.assertEqual(
                    summary_plan.whole_days(conditions, parse, first, until),
                    expected,
                )
        for unanswerable in ([("=", "2026-12-01")], [(">=", "today")]):
            with self.assertRaises(summary_plan.Unanswerable):
                summary_plan.whole_days(unanswerable, parse, first, until)

    def test_days_cut_by_a_group_in_a_zone(self):
        first, last = datetime(2026, 1, 1).date(), datetime(2027, 1, 1).date()
        ranges = summary_plan.aligned_ranges(
            first, last, "Europe/Brussels", {"month"}, 0
        )
        # each month's last UTC day ends in the next local month
        self.assertEqual(len(ranges), 12)
        self.assertEqual(ranges[0], (first, datetime(2026, 1, 31).date()))
        self.assertEqual(
            summary_plan.aligned_ranges(first, last, "Europe/Brussels", {"day"}, 0), []
        )
        self.assertEqual(
            summary_plan.aligned_ranges(first, last, "UTC", {"day", "week"}, 0),
            [(first, last)],
        )
        # a brute-force check of every day against its local hours
        for zone, granularities in (
            ("Asia/Kolkata", {"week"}),
            ("America/New_York", {"quarter", "month"}),
        ):
            kept = {
                day
                for start, end in summary_plan.aligned_ranges(
                    first, last, zone, granularities, 6
                )
                for day in _days(start, end)
            }
            for day in _days(first, last):
                hours = {
                    summary_plan.local_bucket(
                        _local(
                            datetime.combine(day, time.min) + timedelta(hours=h), zone
                        ).date(),
                        granularity,
                        6,
                    )
                    for h in range(24)
                    for granularity in granularities
                }
                self.assertEqual(
                    day in kept, len(hours) == len(granularities), (zone, day)
                )

    def test_moments_outside_the_summary_days(self):
        d = datetime(2026, 3, 1).date()
        self.assertEqual(
            summary_plan.log_ranges(
                [(d, d + timedelta(2)), (d + timedelta(5), d + timedelta(6))]
            ),
            [
                (None, datetime(2026, 3, 1)),
                (datetime(2026, 3, 3), datetime(2026, 3, 6)),
                (datetime(2026, 3, 7), None),
            ],
        )

    def test_the_logs_read_stay_within_the_time_conditions(self):
        d = datetime(2026, 3, 1).date()
        days = [(d, d + timedelta(29))]
        parse = fields.Datetime.to_datetime
        this_month = summary_plan.time_bounds([(">=", "2026-03-01 00:00:00")], parse)
        # not "before March 1st": no moment of it is wanted
        self.assertEqual(
            summary_plan.log_ranges(days, this_month), [(datetime(2026, 3, 30), None)]
        )
        closed = summary_plan.time_bounds(
            [(">=", "2026-03-02 00:00:00"), ("<=", "2026-03-10 00:00:00")], parse
        )
        self.assertEqual(summary_plan.log_ranges(days, closed), [])
        # last month to this moment a month ago: its whole days from the
        # summary, the logs of the last one only to that moment
        to_now = summary_plan.time_bounds(
            [(">=", "2026-02-25 00:00:00"), ("<", "2026-03-31 10:30:00")], parse
        )
        self.assertEqual(
            summary_plan.log_ranges(days, to_now),
            [
                (datetime(2026, 2, 25), datetime(2026, 3, 1)),
                (datetime(2026, 3, 30), datetime(2026, 3, 31, 10, 30, 0, 1)),
            ],
        )

    def test_the_first_moment_of_every_local_day(self):
        """The first moment whose local date is not before the day: its
        midnight, or the first moment after a change of time that skips it,
        or the first of two, or the next day's when the day is skipped:
        around every change of time of every common zone, 2000 to 2030."""
        checked = 0
        for zone in pytz.common_timezones:
            tz = pytz.timezone(zone)
            changes = [
                moment
                for moment in getattr(tz, "_utc_transition_times", [])
                if datetime(2000, 1, 1) <= moment < datetime(2030, 1, 1)
            ]
            for change in changes or [datetime(2026, 6, 1)]:
                around = summary_plan.local_time(change, zone).date()
                for day in _days(
                    around - timedelta(days=2), around + timedelta(days=2)
                ):
                    start = summary_plan.local_start(day, zone)
                    before = start - timedelta(microseconds=1)
                    self.assertGreaterEqual(
                        summary_plan.local_time(start, zone).date(), day, (zone, day)
                    )
                    self.assertLess(
                        summary_plan.local_time(before, zone).date(), day, (zone, day)
                    )
                    checked += 1
        self.assertGreater(checked, 10000)
        # the local days closed before a UTC day: west of UTC, one less
        until = date(2026, 12, 2)
        self.assertEqual(summary_plan.zone_until(until, "Europe/Brussels"), until)
        self.assertEqual(
            summary_plan.zone_until(until, "America/New_York"), date(2026, 12, 1)
        )

    def test_whole_local_days_of_bounds(self):
        parse = fields.Datetime.to_datetime
        first, until = date(2026, 11, 1), date(2026, 12, 6)
        # This Month for a user in Brussels: from its local midnight
        self.assertEqual(
            summary_plan.whole_days(
                [(">=", "2026-11-30 23:00:00")], parse, first, until, "Europe/Brussels"
            ),
            (date(2026, 12, 1), until),
        )
        self.assertEqual(
            summary_plan.whole_days(
                [(">=", "2026-12-01 00:00:00")], parse, first, until, "Europe/Brussels"
            ),
            (date(2026, 12, 2), until),
        )

    def test_whole_months_of_days(self):
        ranges, months = summary_plan.whole_months(
            [
                (date(2026, 1, 1), date(2026, 2, 27)),
                (date(2026, 3, 1), date(2026, 3, 9)),
            ],
            until=date(2026, 3, 9),
        )
        # February ends after the 27th; March is closed to its 9th
        self.assertEqual(months, [date(2026, 1, 1), date(2026, 3, 1)])
        self.assertEqual(
            ranges,
            [
                (date(2026, 1, 1), date(2026, 2, 1)),
                (date(2026, 3, 1), date(2026, 3, 9)),
            ],
        )
