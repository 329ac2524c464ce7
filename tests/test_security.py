from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import TEST_API_KEY, AiUsageCase

MESSAGES = [{"role": "user", "content": "hello"}]


@tagged("post_install", "-at_install")
class TestSecurity(AiUsageCase):
    def test_user_cannot_read_the_key_but_can_call(self):
        service = self.service.with_user(self.user)
        with self.assertRaises(AccessError):
            service.read(["api_key"])
        self.assertNotIn("api_key", service.fields_get())
        service.make_openai_api_call("chat/completions", data={"messages": MESSAGES})
        self.assertEqual(
            self.fake.received()[0]["headers"]["Authorization"],
            f"Bearer {TEST_API_KEY}",
        )
        self.assertTrue(service.has_api_key)

    def test_admin_manages_the_key_which_is_not_exported_nor_tracked(self):
        service = self.service.with_user(self.admin)
        self.assertEqual(service.api_key, TEST_API_KEY)
        self.assertFalse(service.fields_get(["api_key"])["api_key"]["exportable"])
        exported = service.export_data(["name", "api_base_url"])["datas"]
        self.assertNotIn(TEST_API_KEY, str(exported))
        service.write(
            {"api_key": "sk-new-secret-0123456789abcdef", "default_model": "gpt-4.1"}
        )
        self.env.flush_all()
        self.env.cr.precommit.run()  # tracking values are written just before commit
        chatter = str(service.sudo().message_ids.mapped("tracking_value_ids").read())
        self.assertIn("gpt-4.1", chatter, "tracked fields are in the chatter")
        self.assertNotIn("sk-new-secret", chatter)
        self.assertNotIn(TEST_API_KEY, chatter)

    def test_users_see_only_their_own_logs_admins_see_all(self):
        self.service.with_user(self.user).make_openai_api_call(
            "chat/completions", data={"messages": MESSAGES}
        )
        self.service.with_user(self.other_user).make_openai_api_call(
            "chat/completions", data={"messages": MESSAGES}
        )
        mine = self.Log.with_user(self.user).search(
            [("service_id", "=", self.service.id)]
        )
        self.assertEqual(mine.user_id, self.user)
        self.assertEqual(len(mine), 1)
        every = self.Log.with_user(self.admin).search(
            [("service_id", "=", self.service.id)]
        )
        self.assertEqual(every.user_id, self.user | self.other_user)
        with self.assertRaises(AccessError):
            mine.with_user(self.user).write({"cost": 0})
        with self.assertRaises(AccessError):
            mine.with_user(self.user).unlink()
        others = every - mine
        with self.assertRaises(AccessError):
            others.with_user(self.user).read(["total_tokens"])

    def test_user_cannot_edit_services_or_prices(self):
        with self.assertRaises(AccessError):
            self.service.with_user(self.user).write({"default_model": "gpt-5"})
        with self.assertRaises(AccessError):
            self.env["ai.model.price"].with_user(self.user).create(
                {"model_name": "x", "input_price": 0}
            )
        self.assertTrue(
            self.env["ai.model.price"].with_user(self.user).search_count([]) > 0
        )

    def test_multi_company(self):
        other_company = self.env["res.company"].create({"name": "AI Other Company"})
        other_service = self.env["ai.service"].create(
            {
                "name": "Other",
                "company_id": other_company.id,
                "api_base_url": self.fake.url,
                "api_key": TEST_API_KEY,
            }
        )
        other_admin = new_test_user(
            self.env,
            login="ai_admin_other",
            company_id=other_company.id,
            company_ids=[other_company.id],
            groups="base.group_user,ai_usage_log.group_ai_usage_admin",
        )
        other_service.with_user(other_admin).make_openai_api_call(
            "chat/completions", data={"messages": MESSAGES}
        )
        self.service.make_openai_api_call(
            "chat/completions", data={"messages": MESSAGES}
        )
        log = self.last_log(other_service)
        self.assertEqual(log.company_id, other_company)
        visible = self.env["ai.service"].with_user(self.admin).search([])
        self.assertNotIn(other_service, visible)
        self.assertFalse(self.Log.with_user(self.admin).search([("id", "=", log.id)]))
        self.assertFalse(
            self.Log.with_user(other_admin).search(
                [("service_id", "=", self.service.id)]
            )
        )
        # the empty-recordset helper picks the service of the user's company
        self.env["ai.service"].with_user(other_admin).make_openai_api_call(
            "chat/completions", data={"messages": MESSAGES}
        )
        self.assertEqual(len(self.logs(other_service)), 2)


@tagged("post_install", "-at_install")
class TestCallerCannotSetMeasures(AiUsageCase):
    """Python callers keep the documented helpers, but may only say what a
    call is about: what it used, cost and did is measured."""

    def test_create_usage_log_takes_attribution_only(self):
        log = self.Log.create_usage_log(
            service=self.service, request_type="custom_prompt", message_id="m-1"
        )
        self.assertEqual((log.status, log.message_id), ("processing", "m-1"))
        for forged in (
            {"status": "success"},
            {"total_tokens": -1_000_000},
            {"cost_company": -99},
            {"user_id": self.admin.id},
            {"request_time": "2020-01-01 00:00:00"},
        ):
            with self.subTest(forged=forged), self.assertRaises(UserError):
                self.Log.create_usage_log(service=self.service, **forged)

    def test_finishing_a_log_takes_facts_not_figures(self):
        log = self.Log.create_usage_log(service=self.service, model="gpt-4o-mini")
        with self.assertRaises(UserError):
            log.update_success({}, total_tokens=-5000, cost_company=-1)
        with self.assertRaises(UserError):
            log.update_failure("x", "boom", cost_company=-1)
        with self.assertRaises(UserError):
            log.update_failure("x", "boom", usage={"input_tokens": -5})
        log.update_failure("x", "boom", http_status=500, usage={"input_tokens": 7})
        self.assertRecordValues(
            log,
            [{"status": "failed", "input_tokens": 7, "usage_state": "partial"}],
        )

    def test_no_pending_status_and_one_home_for_exceptions(self):
        from .. import exceptions
        from ..controllers import main

        self.assertNotIn("pending", dict(self.Log._fields["status"].selection))
        self.assertEqual(self.Log._fields["status"].default(self.Log), "processing")
        for name in ("AiCallError", "AiCallRefused", "AiPayloadTooLarge"):
            self.assertIs(getattr(main, name), getattr(exceptions, name))
