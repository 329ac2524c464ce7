import threading
from unittest.mock import patch

from odoo import api
from odoo.tests import tagged

from ..tools import price_catalogue
from .common import CommittedCase
from .fake_openai import REPLY_TEXT, count_tokens

MESSAGES = [{"role": "user", "content": "Classify this contact."}]
TOKENS_PER_CALL = count_tokens(MESSAGES) + count_tokens(REPLY_TEXT)


@tagged("post_install", "-at_install")
class TestConcurrency(CommittedCase):
    def run_threads(self, threads, calls, service_for_thread, model=None):
        errors = []

        def worker(index):
            service_id = service_for_thread(index)
            try:
                for call in range(calls):
                    # a cursor per call, as an Odoo worker has per request
                    with self.registry.cursor() as cr:
                        env = api.Environment(cr, api.SUPERUSER_ID, {})
                        env["ai.service"].browse(service_id).make_openai_api_call(
                            "chat/completions",
                            data={
                                "messages": MESSAGES,
                                **({"model": model} if model else {}),
                            },
                            message_id=f"thread{index}-call{call}",
                            request_type="contact_analysis",
                        )
            except Exception as error:  # noqa: BLE001 - every error is reported by the test
                errors.append(repr(error))

        workers = [
            threading.Thread(target=worker, args=(index,)) for index in range(threads)
        ]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        return errors

    def service_figures(self, service_id):
        with self.registry.cursor() as cr:
            service = api.Environment(cr, api.SUPERUSER_ID, {})["ai.service"].browse(
                service_id
            )
            return service.usage_count, service.error_count, service.total_tokens

    def test_8_threads_250_calls_each(self):
        errors = self.run_threads(8, 250, lambda index: self.service_ids[0])
        self.assertEqual(errors, [], "no error reaches a caller")
        self.assertEqual(len(self.fake.received()), 2000)
        self.assertEqual(self.count_logs(status="success"), 2000)
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT count(DISTINCT message_id) FROM ai_usage_log"
                " WHERE service_id = %s",
                [self.service_ids[0]],
            )
            self.assertEqual(cr.fetchone()[0], 2000, "every call has its own log")
        self.assertEqual(
            self.service_figures(self.service_ids[0]), (2000, 0, 2000 * TOKENS_PER_CALL)
        )

    def test_two_services_in_two_companies(self):
        errors = self.run_threads(8, 100, lambda index: self.service_ids[index % 2])
        self.assertEqual(errors, [])
        for service_id, company_id in zip(
            self.service_ids, self.company_ids, strict=True
        ):
            self.assertEqual(
                self.service_figures(service_id), (400, 0, 400 * TOKENS_PER_CALL)
            )
            with self.registry.cursor() as cr:
                cr.execute(
                    "SELECT DISTINCT company_id FROM ai_usage_log"
                    " WHERE service_id = %s",
                    [service_id],
                )
                self.assertEqual(cr.fetchall(), [(company_id,)])

    def test_two_workers_adding_a_catalogue_price_at_once_add_it_once(self):
        # a model the price list does not have: each call's finish adds its
        # rows from the catalogue; both workers find none, then both add them
        model = "codestral-2501"
        with self.registry.cursor() as cr:
            env = self.env_for(cr)
            service = env["ai.service"].browse(self.service_ids[0])
            saved_provider = service.price_provider
            service.price_provider = "mistral"
            cr.execute("SELECT coalesce(max(id), 0) FROM ai_model_price")
            last_price_id = cr.fetchone()[0]
            Price = type(env["ai.model.price"])

        def restore():
            with self.registry.cursor() as cr:
                cr.execute("DELETE FROM ai_model_price WHERE id > %s", [last_price_id])
                self.env_for(cr)["ai.service"].browse(
                    self.service_ids[0]
                ).price_provider = saved_provider

        self.addCleanup(restore)
        add_rows = Price._add_catalogue_rows
        both_found_none = threading.Barrier(2, timeout=30)

        def add_together(prices, provider="openai", model_names=None):
            if model_names == [model]:
                both_found_none.wait()
            return add_rows(prices, provider, model_names)

        with patch.object(Price, "_add_catalogue_rows", add_together):
            errors = self.run_threads(2, 1, lambda index: self.service_ids[0], model)
        self.assertEqual(errors, [])
        with self.registry.cursor() as cr:
            env = self.env_for(cr)
            rows = env["ai.model.price"].search([("model_name", "=", model)])
            self.assertEqual(
                len(rows),
                len(price_catalogue.rows_for(model, "mistral")),
                "each catalogue row once",
            )
            logs = env["ai.usage.log"].search(
                [("service_id", "=", self.service_ids[0])]
            )
            self.assertEqual(len(logs), 2)
            self.assertEqual(logs.mapped("price_missing"), [False, False])
            self.assertEqual(len(logs.price_id), 1, "both priced by the same row")
