"""Price tables built at random on top of the full shipped catalogue
(exact, undated and prefix rows; shared, per-service and other catalogues'
rows; tiers; past and future dates; long-context thresholds; archived rows;
currencies), against many model names: every call is priced by the row the
rules of README ("Which price", "Long context", "Tiers and batch") choose,
as a small reference written here from those rules says, or flagged
Missing Price; nothing raises."""

import re
import unittest
from datetime import date, datetime

import psycopg2

from odoo.tests import tagged
from odoo.tools import mute_logger

from .test_cost import PricedCase, usage

try:
    from hypothesis import HealthCheck, example, given, settings
    from hypothesis import strategies as st
except ImportError:  # a test dependency (scripts/requirements-test.txt)
    given = None

NAMES = [
    "gpt-4o-mini",
    "gpt-4o-mini-2024-07-18",
    "gpt-4o",
    "gpt-4",
    "gpt",
    "o3",
    "acme",
    "acme-chat",
    "acme-chat-large",
    "acme-chat-2025-03-01",
]
DAYS = [
    date(2020, 1, 1),
    date(2025, 6, 10),
    date(2026, 1, 1),
    date(2026, 6, 1),
    date(2099, 1, 1),
]
CALL_DAYS = [date(2023, 1, 1), date(2025, 6, 9), date(2025, 6, 10), date(2026, 11, 30)]
SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def reference_price(rows, model, service, tier, day, input_tokens):
    """The row that prices a call, from README's words alone; None: Missing
    Price. ``rows``: every active row (dicts)."""
    undated = SNAPSHOT.sub("", model)

    def by_name(row):
        if row["model_name"] == model:
            # its exact name, an exact row before a "starts with" one
            return (3, row["match_type"] == "exact")
        if row["model_name"] == undated and row["match_type"] == "exact":
            return (2, 0)  # its name without the snapshot date
        if row["match_type"] == "prefix" and model.startswith(row["model_name"]):
            return (1, len(row["model_name"]))  # the longest "starts with"
        return None

    usable = [
        row
        for row in rows
        if by_name(row)
        and row["price_tier"] == tier  # a tier at its own rate only
        and row["date_from"] <= day
        and (
            row["service_id"] == service.id  # the service's own rows
            or (
                not row["service_id"]
                and row["price_provider"] == service.price_provider
            )
        )
        and (not row["min_input_tokens"] or input_tokens > row["min_input_tokens"])
    ]
    if not usable:
        return None
    best = max(
        usable,
        key=lambda row: (
            by_name(row),
            bool(row["service_id"]),  # a service's own row beats a shared one
            row["date_from"],  # the latest Valid From on or before the day
            row["min_input_tokens"],  # the highest threshold the input passes
            row["id"],
        ),
    )
    return best["id"]


def same_calls(row):
    """What two active rows may not share: they would price the same calls."""
    service = row["service_id"] or 0
    return (
        service,
        "" if service else row["price_provider"],
        row["model_name"],
        row["match_type"],
        row["price_tier"],
        row["date_from"],
        row["min_input_tokens"],
    )


def prefix_row(name, **values):
    """A shared "starts with" row of OpenAI's catalogue from 2020."""
    return dict(
        {
            "model_name": name,
            "match_type": "prefix",
            "price_tier": "standard",
            "owner": "shared",
            "price_provider": "openai",
            "date_from": date(2020, 1, 1),
            "min_input_tokens": 0,
            "input_price": 1.0,
            "active": True,
            "euro": False,
        },
        **values,
    )


if given is not None:
    ROW = st.fixed_dictionaries(
        {
            "model_name": st.sampled_from(NAMES),
            "match_type": st.sampled_from(["exact", "prefix"]),
            "price_tier": st.sampled_from(["standard"] * 4 + ["batch", "flex"]),
            # whose row: shared (of the service's catalogue, or of another
            # one), the service's own, or another service's
            "owner": st.sampled_from(["shared", "shared", "mine", "mine", "other"]),
            "price_provider": st.sampled_from(["openai", "openai", "anthropic"]),
            "date_from": st.sampled_from(DAYS),
            "min_input_tokens": st.sampled_from([0, 0, 1000, 200_000]),
            "input_price": st.sampled_from([0.5, 1.0, 3.0]),
            "active": st.sampled_from([True, True, True, False]),
            "euro": st.booleans(),
        }
    )
    CALL = st.tuples(
        st.sampled_from(NAMES + ["gpt-4o-2024-05-13", "acme-chat-large-2024-01-01"]),
        st.sampled_from(CALL_DAYS),
        st.sampled_from([None, None, "default", "flex", "scale"]),
        st.sampled_from([False, False, False, True]),  # batch
        st.sampled_from([10, 1000, 1001, 300_000]),
    )


@tagged("post_install", "-at_install")
class TestPriceRules(PricedCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.euro = cls.env.ref("base.EUR")
        cls.euro.active = True
        cls.other_service = cls.service.copy({"name": "Other service"})

    def fields_of(self, price):
        return {
            "id": price.id,
            "model_name": price.model_name,
            "match_type": price.match_type,
            "price_tier": price.price_tier,
            "service_id": price.service_id.id,
            "price_provider": price.price_provider,
            "date_from": price.date_from,
            "min_input_tokens": price.min_input_tokens,
        }

    if given is not None:

        @settings(
            max_examples=100,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(
            rows=st.lists(ROW, min_size=2, max_size=10),
            calls=st.lists(CALL, min_size=4, max_size=8),
        )
        # always tried: two prefixes of one name (the longest wins), a service's
        # own shorter prefix, an exact and a "starts with" row of one name
        @example(
            rows=[
                prefix_row("acme"),
                prefix_row("acme-chat", input_price=3.0),
                prefix_row("acme-chat-large", date_from=date(2099, 1, 1)),
                prefix_row("acme", owner="mine", input_price=0.5),
                # the exact row of a name before its "starts with" row
                prefix_row("acme-chat", match_type="exact", input_price=0.5),
            ],
            calls=[
                ("acme-chat-large-2024-01-01", date(2025, 6, 10), None, False, 10),
                ("acme-chat-large", date(2026, 11, 30), None, False, 10),
                ("acme-chat", date(2026, 11, 30), None, False, 10),
                ("acme", date(2026, 11, 30), None, False, 10),
            ],
        )
        def test_every_call_is_priced_by_the_rules_or_flagged(self, rows, calls):
            with self.env.cr.savepoint() as savepoint:
                self.check(rows, calls)
                savepoint.close(rollback=True)  # the next example starts afresh
            self.env.invalidate_all()
            self.env.registry.clear_cache()

    else:

        @unittest.skip("hypothesis is not installed (scripts/requirements-test.txt)")
        def test_every_call_is_priced_by_the_rules_or_flagged(self):
            pass

    def check(self, rows, calls):
        Price = self.Price.sudo()
        owners = {
            "shared": False,
            "mine": self.service.id,
            "other": self.other_service.id,
        }
        for row in rows:
            row = dict(row)
            owner, euro = row.pop("owner"), row.pop("euro")
            vals = dict(
                row,
                output_price=row["input_price"] * 4,
                service_id=owners[owner],
                currency_id=(self.euro if euro else self.company.currency_id).id,
            )
            taken = {same_calls(self.fields_of(price)) for price in Price.search([])}
            if vals["active"] and same_calls(vals) in taken:
                # a second active row for the same calls: refused, whatever
                # its currency (which one priced would be chance)
                with (
                    mute_logger("odoo.sql_db"),
                    self.assertRaises(psycopg2.errors.UniqueViolation),
                    self.env.cr.savepoint(),
                ):
                    Price.create(vals)
                continue
            Price.create(vals)
        for model, day, service_tier, batch, input_tokens in calls:
            inputs = {
                "request_time": datetime.combine(day, datetime.min.time()),
                "service_id": self.service.id,
                "company_id": self.company.id,
                "company_currency_id": self.company.currency_id.id,
                "service_tier": service_tier,
                "is_batch": batch,
            }
            priced = self.Price._cost_vals(usage(input_tokens, 10), model, inputs)
            # read after the call: the catalogue rows a call adds count too
            active = [self.fields_of(price) for price in Price.search([])]
            tier = (
                "batch"
                if batch
                else {None: "standard", "default": "standard"}.get(
                    service_tier, service_tier
                )
            )
            expected = reference_price(
                active, model, self.service, tier, day, input_tokens
            )
            # no subTest: hypothesis must see a failure to shrink it
            call = f"{model} on {day}, tier {tier}, {input_tokens} input tokens"
            self.assertEqual(priced.get("price_id") or None, expected, call)
            self.assertEqual(priced["price_missing"], expected is None, call)
            if expected:
                self.assertGreater(priced["cost"], 0, call)
                self.assertGreater(priced["cost_company"], 0, call)
