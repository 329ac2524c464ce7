import base64
import contextlib
import io
import json
from unittest.mock import patch

from prometheus_client.parser import text_string_to_metric_families

from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import config
from odoo.tools.pdf import PdfReader, PdfWriter

from .common import TEST_API_KEY, AiHttpCase
from .fake_openai import Reply, error_body

TRANSCRIPT = "Agent: Hello. Caller: my parcel is late, I need it by Friday."


@tagged("post_install", "-at_install")
class TestControllers(AiHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.outsider = new_test_user(
            cls.env, login="ai_http_outsider", groups="base.group_user"
        )

    def post(self, path, payload, login="ai_http_user"):
        if login:
            self.authenticate(login, login)
        return self.url_open(
            path, data=json.dumps(payload), headers={"Content-Type": "application/json"}
        )

    def assertFieldError(self, response, status, field):
        self.assertEqual(response.status_code, status, response.text)
        self.assertEqual(response.json()["error"]["field"], field)

    def test_call_summary(self):
        response = self.post(
            "/ai_usage/call_summary",
            {
                "message_id": 4711,
                "contact_id": "c-9",
                "transcript": TRANSCRIPT,
                "location_id": "paris",
            },
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.assertTrue(response.json()["summary"])
        self.assertEqual(len(self.fake.received()), 1)
        log = self.logs()
        self.assertEqual(len(log), 1, "logged once")
        self.assertRecordValues(
            log,
            [
                {
                    "request_type": "call_summary",
                    "message_id": "4711",
                    "contact_id": "c-9",
                    "location_id": "paris",
                    "user_id": self.user.id,
                    "status": "success",
                }
            ],
        )

    def test_bad_input_names_the_field(self):
        self.assertFieldError(
            self.post("/ai_usage/call_summary", {"message_id": "m"}), 400, "transcript"
        )
        self.assertFieldError(
            self.post(
                "/ai_usage/call_summary",
                {"transcript": TRANSCRIPT, "message_id": ["m"]},
            ),
            400,
            "message_id",
        )
        self.assertFieldError(
            self.post(
                "/ai_usage/call_summary",
                {"transcript": TRANSCRIPT, "service_id": 999999},
            ),
            400,
            "service_id",
        )
        self.assertFieldError(
            self.post(
                "/ai_usage/call_summary", {"transcript": TRANSCRIPT, "service_id": "x"}
            ),
            400,
            "service_id",
        )
        self.authenticate("ai_http_user", "ai_http_user")
        not_json = self.url_open("/ai_usage/call_summary", data="transcript=x")
        self.assertEqual(not_json.status_code, 415)
        self.assertEqual(self.fake.received(), [], "nothing was sent")
        self.assertFalse(self.logs(), "nothing was logged")

    def test_no_session_and_no_right(self):
        self.authenticate(None, None)
        response = self.url_open(
            "/ai_usage/call_summary",
            data=json.dumps({"transcript": TRANSCRIPT}),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 401)
        forbidden = self.post(
            "/ai_usage/call_summary", {"transcript": TRANSCRIPT}, "ai_http_outsider"
        )
        self.assertEqual(forbidden.status_code, 403)
        self.assertEqual(self.fake.received(), [])

    def test_openai_failure_is_502_and_logged_once(self):
        self.fake.script(
            Reply(
                401,
                error_body(
                    "Incorrect API key", "invalid_request_error", "invalid_api_key"
                ),
            )
        )
        response = self.post("/ai_usage/call_summary", {"transcript": TRANSCRIPT})
        self.assertEqual(response.status_code, 502)
        self.assertIn("invalid_api_key", response.json()["error"]["message"])
        self.assertNotIn(TEST_API_KEY, response.text)
        self.assertRecordValues(
            self.logs(), [{"status": "failed", "error_code": "invalid_api_key"}]
        )

    def test_vision(self):
        response = self.post(
            "/ai_usage/vision",
            {
                "prompt": "What is on this invoice?",
                "image_url": "https://example.com/invoice.png",
            },
        )
        self.assertEqual(response.status_code, 200, response.text)
        content = self.fake.received()[0]["json"]["messages"][0]["content"]
        self.assertEqual(
            content[1],
            {
                "type": "image_url",
                "image_url": {"url": "https://example.com/invoice.png"},
            },
        )
        image = base64.b64encode(b"\x89PNG\r\n\x1a\n fake image bytes").decode()
        response = self.post(
            "/ai_usage/vision",
            {"prompt": "Describe", "image_base64": image, "image_mime": "image/png"},
        )
        self.assertEqual(response.status_code, 200, response.text)
        sent = self.fake.received()[1]["json"]["messages"][0]["content"][1][
            "image_url"
        ]["url"]
        self.assertEqual(sent, f"data:image/png;base64,{image}")

        writer = PdfWriter()
        for width in (100, 200, 300):
            writer.add_blank_page(width, 100)
        pdf = io.BytesIO()
        writer.write(pdf)
        pdf_data = base64.b64encode(pdf.getvalue()).decode()
        response = self.post(
            "/ai_usage/vision",
            {"prompt": "Read page 2", "pdf_base64": pdf_data, "pdf_page": 2},
        )
        self.assertEqual(response.status_code, 200, response.text)
        file_part = self.fake.received()[2]["json"]["messages"][0]["content"][1]
        self.assertEqual(file_part["type"], "file")
        page_pdf = base64.b64decode(file_part["file"]["file_data"].split(",", 1)[1])
        reader = PdfReader(io.BytesIO(page_pdf))
        self.assertEqual(len(reader.pages), 1)
        self.assertEqual(
            float(reader.pages[0].mediabox.width), 200, "the second page was sent"
        )
        self.assertEqual(set(self.logs().mapped("request_type")), {"vision_analysis"})
        self.assertEqual(len(self.logs()), 3)

        self.assertFieldError(
            self.post("/ai_usage/vision", {"prompt": "x"}), 400, "image_url"
        )
        self.assertFieldError(
            self.post(
                "/ai_usage/vision",
                {"prompt": "x", "pdf_base64": pdf_data, "pdf_page": 9},
            ),
            400,
            "pdf_page",
        )
        self.assertFieldError(
            self.post(
                "/ai_usage/vision",
                {"prompt": "x", "image_base64": "A" * (21 * 2**20 * 4 // 3)},
            ),
            413,
            "image_base64",
        )
        self.assertFieldError(
            self.post("/ai_usage/vision", {"image_url": "https://e.com/a.png"}),
            400,
            "prompt",
        )
        self.assertEqual(len(self.logs()), 3, "refused requests are not logged")

    def test_test_connection_is_for_administrators_on_every_provider(self):
        # a plain AI user may not spend the company key on it
        response = self.post("/ai_usage/test_connection", {})
        self.assertEqual(response.status_code, 403, response.text)
        self.assertIn("Only AI administrators", response.json()["error"]["message"])
        self.assertFalse(self.fake.received(), "nothing reached the provider")
        self.assertFalse(self.logs())
        response = self.post("/ai_usage/test_connection", {}, login="ai_http_admin")
        self.assertEqual(response.json(), {"ok": True, "models": 4})
        self.assertEqual(self.logs().request_type, "test_connection")
        anthropic = self.env["ai.service"].create(
            {
                "name": "Anthropic over HTTP",
                "provider": "anthropic",
                "api_base_url": self.fake.url_of("anthropic"),
                "api_key": "sk-ant-test",
            }
        )
        response = self.post(
            "/ai_usage/test_connection",
            {"service_id": anthropic.id},
            login="ai_http_admin",
        )
        self.assertTrue(response.json()["ok"], response.text)
        self.assertGreater(response.json()["models"], 0)

    def test_usage_endpoints(self):
        logs = self.env["ai.usage.log"]
        admin = self.env.ref("base.user_admin")
        for day, user, tokens, cost in (
            ("2026-03-01 10:00:00", self.user, 100, 0.5),
            ("2026-03-01 11:00:00", self.user, 50, 0.25),
            ("2026-03-02 09:00:00", self.user, 10, 0.125),
            ("2026-04-05 09:00:00", self.user, 7, 1.0),
            ("2026-03-01 12:00:00", admin, 1000, 9.0),
        ):
            logs.create(
                {
                    "service_id": self.service.id,
                    "user_id": user.id,
                    "status": "success",
                    "request_time": day,
                    "total_tokens": tokens,
                    "cost_company": cost,
                }
            )
        self.authenticate("ai_http_user", "ai_http_user")
        daily = self.url_open(
            "/ai_usage/usage/daily?date_from=2026-03-01&date_to=2026-03-31"
        ).json()
        self.assertEqual(
            [
                (row["period"], row["requests"], row["total_tokens"], row["cost"])
                for row in daily["usage"]
            ],
            [("2026-03-01", 2, 150, 0.75), ("2026-03-02", 1, 10, 0.125)],
            "only the user's own logs, in the date range",
        )
        monthly = self.url_open(
            f"/ai_usage/usage/monthly?service_id={self.service.id}"
        ).json()
        self.assertEqual(
            [(row["period"], row["requests"]) for row in monthly["usage"]],
            [("2026-03", 3), ("2026-04", 1)],
        )
        self.authenticate("admin", "admin")
        everything = self.url_open("/ai_usage/usage/monthly").json()
        self.assertEqual(everything["usage"][0]["requests"], 4)
        bad = self.url_open("/ai_usage/usage/daily?date_from=March")
        self.assertFieldError(bad, 400, "date_from")
        self.authenticate(None, None)
        self.assertEqual(self.url_open("/ai_usage/usage/daily").status_code, 401)

    def test_metrics(self):
        self.service.make_openai_api_call(
            "chat/completions", data={"messages": [{"role": "user", "content": "hi"}]}
        )
        self.fake.script(
            Reply(400, error_body("bad", "invalid_request_error", "invalid_value"))
        )
        with contextlib.suppress(UserError):  # the failed call is what we want logged
            self.service.make_openai_api_call(
                "chat/completions",
                data={"messages": [{"role": "user", "content": "x"}]},
            )
        self.env.flush_all()
        # the scrape has no session: Odoo finds the database by its filter
        dbfilter = patch.dict(config.options, {"dbfilter": f"^{self.env.cr.dbname}$"})
        dbfilter.start()
        self.addCleanup(dbfilter.stop)
        self.authenticate(None, None)
        self.assertEqual(
            self.url_open("/ai_usage/metrics").status_code, 404, "off without a token"
        )
        self.env["ir.config_parameter"].set_param(
            "ai_usage_log.metrics_token", "s3cret-metrics-token"
        )
        self.assertEqual(self.url_open("/ai_usage/metrics").status_code, 401)
        wrong = self.url_open(
            "/ai_usage/metrics", headers={"Authorization": "Bearer guess"}
        )
        self.assertEqual(wrong.status_code, 401)
        response = self.url_open(
            "/ai_usage/metrics",
            headers={"Authorization": "Bearer s3cret-metrics-token"},
        )
        self.assertEqual(response.status_code, 200)
        families = {
            family.name: family
            for family in text_string_to_metric_families(response.text)
        }

        def value(family, **labels):
            return sum(
                sample.value
                for sample in families[family].samples
                if all(sample.labels.get(k) == v for k, v in labels.items())
                and not sample.name.endswith("_created")
            )

        log = self.logs().filtered(lambda lg: lg.status == "success")
        service = {"service": "HTTP service"}
        self.assertEqual(value("ai_usage_requests", status="success", **service), 1)
        self.assertEqual(value("ai_usage_requests", status="failed", **service), 1)
        self.assertEqual(
            value("ai_usage_tokens", kind="input", **service), log.input_tokens
        )
        self.assertEqual(
            value("ai_usage_tokens", kind="output", **service), log.output_tokens
        )
        self.assertAlmostEqual(
            value("ai_usage_cost", currency="USD", **service), log.cost, places=8
        )
        durations = {
            sample.labels["le"]: sample.value
            for sample in families["ai_usage_request_duration_seconds"].samples
            if sample.name.endswith("_bucket")
            and sample.labels["service"] == "HTTP service"
        }
        self.assertEqual(durations["+Inf"], 2)
        self.assertEqual(value("ai_usage_up"), 1)
        self.assertNotIn(TEST_API_KEY, response.text)
