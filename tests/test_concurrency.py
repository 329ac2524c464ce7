import threading

from odoo import api
from odoo.tests import tagged

from .common import CommittedCase
from .fake_openai import REPLY_TEXT, count_tokens

MESSAGES = [{"role": "user", "content": "Classify this contact."}]
TOKENS_PER_CALL = count_tokens(MESSAGES) + count_tokens(REPLY_TEXT)


@tagged("post_install", "-at_install")
class TestConcurrency(CommittedCase):
    def run_threads(self, threads, calls, service_for_thread):
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
                            data={"messages": MESSAGES},
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
