import threading
import time

from odoo.service.model import retrying
from odoo.tests import tagged

from .common import CommittedCase
from .fake_openai import Reply, chat_completion, chat_usage

SERIALIZATION_FAILURE = """
    DO $$ BEGIN
        RAISE EXCEPTION 'collision' USING ERRCODE = 'serialization_failure';
    END $$
"""
MESSAGES = [{"role": "user", "content": "What did the caller want?"}]


@tagged("post_install", "-at_install")
class TestDurability(CommittedCase):
    def call(self, env, **kwargs):
        return (
            env["ai.service"]
            .browse(self.service_ids[0])
            .make_openai_api_call(
                "chat/completions", data={"messages": MESSAGES}, **kwargs
            )
        )

    def test_log_survives_the_rollback_of_the_caller(self):
        cr = self.registry.cursor()
        try:
            self.call(self.env_for(cr), message_id="rolled-back")
            raise ValueError("the caller fails after the call")
        except ValueError:
            cr.rollback()
        finally:
            cr.close()
        self.assertEqual(self.count_logs(message_id="rolled-back", status="success"), 1)

    def test_log_exists_before_the_request_leaves(self):
        self.fake.script(
            Reply(body=chat_completion("gpt-4o-mini", chat_usage(10, 5)), delay=1.5)
        )
        done = threading.Event()

        def worker():
            with self.registry.cursor() as cr:
                self.call(self.env_for(cr), message_id="write-ahead")
            done.set()

        thread = threading.Thread(target=worker)
        thread.start()
        seen_processing = False
        deadline = time.monotonic() + 5
        while not done.is_set() and time.monotonic() < deadline:
            if self.count_logs(message_id="write-ahead", status="processing"):
                seen_processing = True
                break
            time.sleep(0.05)
        thread.join(10)
        self.assertTrue(
            seen_processing,
            "another transaction sees the call in processing while it runs",
        )
        self.assertEqual(self.count_logs(message_id="write-ahead", status="success"), 1)

    def test_calls_left_in_processing_are_marked_interrupted(self):
        with self.registry.cursor() as cr:
            env = self.env_for(cr)
            stuck = env["ai.usage.log"].create(
                {
                    "service_id": self.service_ids[0],
                    "status": "processing",
                    "message_id": "killed-worker",
                    "request_time": "2020-01-01 00:00:00",
                }
            )
            recent = env["ai.usage.log"].create(
                {
                    "service_id": self.service_ids[0],
                    "status": "processing",
                    "message_id": "still-running",
                }
            )
        with self.registry.cursor() as cr:
            marked = self.env_for(cr)["ai.usage.log"]._cron_mark_interrupted()
        self.assertIn(stuck.id, marked)
        self.assertNotIn(recent.id, marked)
        self.assertEqual(
            self.count_logs(
                message_id="killed-worker", status="failed", error_code="interrupted"
            ),
            1,
        )
        self.assertEqual(
            self.count_logs(message_id="still-running", status="processing"), 1
        )

    def test_a_replayed_transaction_does_not_pay_twice(self):
        answers = []
        with self.registry.cursor() as cr:
            env = self.env_for(cr)

            def request_handler():
                answers.append(self.call(env, message_id="replayed"))
                if len(answers) == 1:
                    # what PostgreSQL raises when two transactions collide
                    cr.execute(SERIALIZATION_FAILURE)
                return answers[-1]

            retrying(request_handler, env)
        self.assertEqual(len(answers), 2, "Odoo replayed the handler")
        self.assertEqual(
            answers[0], answers[1], "the replay got the answer already paid for"
        )
        self.assertEqual(len(self.fake.received()), 1, "OpenAI was called once")
        self.assertEqual(self.count_logs(message_id="replayed"), 1)

    def replayed(self, make_call):
        """Run ``make_call(env)`` in a request handler that Odoo replays once
        after a serialization failure; return what each attempt got."""
        answers = []
        with self.registry.cursor() as cr:
            env = self.env_for(cr)

            def request_handler():
                answers.append(make_call(env))
                if len(answers) == 1:
                    cr.execute(SERIALIZATION_FAILURE)
                return answers[-1]

            retrying(request_handler, env)
        self.assertEqual(len(answers), 2, "Odoo replayed the handler")
        return answers

    def test_a_replayed_stream_does_not_pay_twice(self):
        def stream(env):
            service = env["ai.service"].browse(self.service_ids[0])
            return list(
                service.stream_openai_api_call(
                    "chat/completions", {"messages": MESSAGES}, message_id="replay-s"
                )
            )

        first, second = self.replayed(stream)
        self.assertEqual(first, second, "the replay got the events already paid for")
        self.assertEqual(len(self.fake.received()), 1, "OpenAI was called once")
        self.assertEqual(self.count_logs(message_id="replay-s"), 1)

    def test_a_replayed_sdk_call_does_not_pay_twice(self):
        try:
            import openai  # noqa: F401
        except ImportError:
            self.skipTest("the openai package is not installed")

        def sdk_call(env):
            service = env["ai.service"].browse(self.service_ids[0])
            client = service.openai_client(message_id="replay-sdk")
            completion = client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES
            )
            streamed = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            )
            return completion.id, [chunk.id for chunk in streamed]

        first, second = self.replayed(sdk_call)
        self.assertEqual(first, second, "the replay got the answers already paid for")
        self.assertEqual(
            len(self.fake.received()), 2, "OpenAI was called twice, once each"
        )
        self.assertEqual(self.count_logs(message_id="replay-sdk"), 2)

    def test_a_callers_own_rollback_sends_the_call_again(self):
        # a caller that rolls back and tries again on purpose is not a replay
        with self.registry.cursor() as cr:
            env = self.env_for(cr)
            first = self.call(env, message_id="again")
            cr.rollback()
            second = self.call(env, message_id="again")
        self.assertNotEqual(first["id"], second["id"], "a new answer")
        self.assertEqual(len(self.fake.received()), 2)
        self.assertEqual(self.count_logs(message_id="again"), 2)

    def test_identical_calls_in_one_transaction_are_all_sent(self):
        with self.registry.cursor() as cr:
            env = self.env_for(cr)
            first = self.call(env, message_id="twice")
            second = self.call(env, message_id="twice")
        self.assertNotEqual(first["id"], second["id"])
        self.assertEqual(len(self.fake.received()), 2)
        self.assertEqual(self.count_logs(message_id="twice"), 2)
