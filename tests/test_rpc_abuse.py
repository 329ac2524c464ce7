"""A hostile user with AI Usage / User, through Odoo's own RPC route
(/web/dataset/call_kw, open to every logged-in user), tries to forge or
bend logs. Every attempt is refused and changes nothing."""

import psycopg2

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import AiHttpCase, RpcRefused

MESSAGES = [{"role": "user", "content": "hello"}]


@tagged("post_install", "-at_install")
class TestRpcAbuse(AiHttpCase):
    login = "ai_rpc_user"
    admin_login = "ai_rpc_admin"

    def assertRefused(self, model, method, args=(), kwargs=None, login=None):
        with self.assertRaises(RpcRefused) as refused:
            self.rpc(model, method, args, kwargs, login)
        return str(refused.exception)

    def real_call(self):
        """A real call of the user's, made over RPC like a client would."""
        self.rpc(
            "ai.service",
            "make_openai_api_call",
            [self.service.ids, "chat/completions"],
            {"data": {"messages": MESSAGES}, "message_id": "real"},
        )
        [log] = self.logs().filtered(lambda log: log.message_id == "real")
        return log

    def test_the_public_call_works_over_rpc(self):
        log = self.real_call()
        self.assertEqual((log.status, log.user_id), ("success", self.user))
        self.assertGreater(log.total_tokens, 0)

    def test_make_api_call_takes_no_measured_fact_over_rpc(self):
        for forged in ({"is_batch": True}, {"model": "gpt-4o-mini"}, {"cost": 0}):
            with self.subTest(forged=forged):
                self.assertRefused(
                    "ai.service",
                    "make_api_call",
                    [self.service.ids, "chat/completions"],
                    dict(forged, data={"messages": MESSAGES}),
                )
        self.assertFalse(self.fake.received(), "nothing was sent")
        self.rpc(
            "ai.service",
            "make_api_call",
            [self.service.ids, "chat/completions"],
            {"data": {"messages": MESSAGES}, "message_id": "native"},
        )
        [log] = self.logs()
        self.assertEqual((log.message_id, log.is_batch), ("native", False))

    def test_no_forged_log_over_rpc(self):
        forged = {
            "status": "success",
            "total_tokens": -1_000_000,
            "cost_company": -99,
            "message_id": "forged",
        }
        self.assertRefused("ai.usage.log", "create_usage_log", [], forged)
        self.assertRefused("ai.usage.log", "create", [forged])
        self.assertRefused("ai.usage.log", "create", [forged], login="ai_rpc_admin")
        self.assertFalse(self.logs(), "no log was created")

    def test_a_real_call_cannot_be_rewritten_over_rpc(self):
        log = self.real_call()
        before = log.read(["status", "total_tokens", "cost_company", "user_id"])
        bent = {"total_tokens": -5000, "cost_company": -1}
        self.assertRefused("ai.usage.log", "update_success", [log.ids, {}], bent)
        self.assertRefused("ai.usage.log", "update_failure", [log.ids, "failed"], bent)
        self.assertRefused("ai.usage.log", "write", [log.ids, bent])
        self.assertRefused(
            "ai.usage.log", "write", [log.ids, bent], login="ai_rpc_admin"
        )
        self.assertRefused("ai.usage.log", "unlink", [log.ids])
        log.invalidate_recordset()
        self.assertEqual(
            log.read(["status", "total_tokens", "cost_company", "user_id"]), before
        )

    def test_python_only_helpers_are_not_rpc(self):
        for method, args in (
            ("ensure_usage_logging", [self.service.ids, None]),
            ("stream_openai_api_call", [self.service.ids, "chat/completions", {}]),
            ("openai_client", [self.service.ids]),
            ("record_batch", [self.service.ids, "batch_forged"]),
        ):
            with self.subTest(method=method):
                message = self.assertRefused("ai.service", method, args)
                self.assertIn("Private methods", message)
                self.assertIn(method, message)
        self.assertFalse(self.fake.received(), "nothing reached OpenAI")
        self.assertFalse(self.logs())

    def test_recompute_cost_is_for_administrators(self):
        log = self.real_call()
        self.assertRefused("ai.usage.log", "action_recompute_cost", [log.ids])
        self.rpc(
            "ai.usage.log", "action_recompute_cost", [log.ids], login="ai_rpc_admin"
        )

    def test_test_connection_spends_the_company_key_for_administrators_only(self):
        message = self.assertRefused(
            "ai.service", "action_test_connection", [self.service.ids]
        )
        self.assertIn("Only AI administrators", message)
        self.assertFalse(self.fake.received(), "nothing reached OpenAI")
        result = self.rpc(
            "ai.service",
            "action_test_connection",
            [self.service.ids],
            login="ai_rpc_admin",
        )
        self.assertEqual(result["params"]["type"], "success")

    def test_a_hard_token_budget_cannot_be_cheated(self):
        """The issue's case: a 1,000-token hard budget, calls of about 150
        tokens, and a forged log of -1,000,000 tokens to make room."""
        self.env["ai.usage.budget"].create(
            {"name": "Tight", "limit_tokens": 1000, "hard_limit": True}
        )
        self.assertRefused(
            "ai.usage.log",
            "create_usage_log",
            [],
            {"status": "success", "total_tokens": -1_000_000},
        )
        prompt = [{"role": "user", "content": "Summarise the call. " * 26}]
        sent = refused = 0
        for _index in range(12):
            try:
                self.rpc(
                    "ai.service",
                    "make_openai_api_call",
                    [self.service.ids, "chat/completions"],
                    {"data": {"messages": prompt, "max_tokens": 20}},
                )
                sent += 1
            except RpcRefused as error:
                self.assertIn("budget", str(error))
                refused += 1
        logs = self.logs()
        used = sum(
            logs.filtered(lambda log: log.status == "success").mapped("total_tokens")
        )
        self.assertGreater(min(logs.mapped("total_tokens")), 140)
        self.assertEqual(len(self.fake.received()), sent)
        self.assertGreater(refused, 0, "the budget stopped the calls")
        self.assertLess(used, 1000 + 200, "at most one call past the limit")

    def test_the_database_refuses_negative_figures(self):
        log = self.real_call()
        for column, value in (
            ("total_tokens", -1),
            ("input_tokens", -5),
            ("cost_company", -0.01),
            ("cost", -1),
            ("duration_ms", -3),
            ("retry_count", -1),
        ):
            with (
                self.subTest(column=column),
                mute_logger("odoo.sql_db"),
                self.assertRaises(psycopg2.errors.CheckViolation),
                self.env.cr.savepoint(),
            ):
                self.env.cr.execute(
                    f"UPDATE ai_usage_log SET {column} = %s WHERE id = %s",
                    [value, log.id],
                )

    def test_a_second_price_for_the_same_calls_is_refused_with_a_message(self):
        shipped = self.env["ai.model.price"].search(
            [("model_name", "=", "gpt-4o-mini"), ("service_id", "=", False)], limit=1
        )
        copy = {
            "model_name": shipped.model_name,
            "price_provider": shipped.price_provider,
            "price_tier": shipped.price_tier,
            "date_from": str(shipped.date_from),
            "input_price": 9.0,
        }
        message = self.assertRefused(
            "ai.model.price",
            "create",
            [copy],
            login="ai_rpc_admin",
        )
        self.assertIn("ValidationError", message)
        self.assertIn("There is already an active price of this model", message)
        # a "starts with" row of the name is another price: the name's others
        prefix = self.rpc(
            "ai.model.price",
            "create",
            [dict(copy, match_type="prefix")],
            login="ai_rpc_admin",
        )
        self.assertTrue(prefix)
        # archived, it is history and refuses nothing
        archived = self.rpc(
            "ai.model.price",
            "create",
            [dict(copy, active=False)],
            login="ai_rpc_admin",
        )
        self.assertTrue(archived)
