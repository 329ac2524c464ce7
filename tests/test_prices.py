"""Which price a call gets: exact name, then its undated name, then a prefix
an administrator marked; else the price catalogue (genai-prices) at call
time; else Missing Price. Never a sibling's price."""

import sys
import unittest
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..models.ai_model_price import PRICE_DIGITS, PRICE_FIELDS
from ..tools import price_catalogue
from ..tools.usage import checked_usage
from .fake_openai import (
    REPLY_TEXT,
    SPEECH_AUDIO,
    TRANSCRIBED_SECONDS,
    Reply,
    chat_completion,
    chat_usage,
    error_body,
)
from .test_cost import PricedCase, usage

try:
    import openai
except ImportError:  # optional dependency
    openai = None

# the fake server's usage: 100 input tokens of which 40 cached, 50 output
USAGE = usage(100, 50, cached=40)


def kinds(**counts):
    return checked_usage(counts)


# realtime: 1000 input = 200 text + 700 audio + 100 image, of which 500
# cached = 100 text + 350 audio + 50 image; 300 output = 100 text + 200 audio
REALTIME = kinds(
    input_tokens=1000,
    cached_input_tokens=500,
    audio_input_tokens=700,
    cached_audio_input_tokens=350,
    image_input_tokens=100,
    cached_image_input_tokens=50,
    output_tokens=300,
    audio_output_tokens=200,
)


@tagged("post_install", "-at_install")
class TestPriceMatching(PricedCase):
    def test_real_model_ids_are_priced_exactly_or_flagged(self):
        # (model, request time, usage, service tier, batch, expected USD or
        # None for Missing Price). Hand-checked from the catalogue's USD per
        # 1M tokens (input / cached input / output unless said otherwise).
        cases = [
            # 60 * 0.15 + 40 * 0.075 + 50 * 0.60 = 42
            ("gpt-4o-mini-2024-07-18", "2025-09-01", USAGE, None, False, 42e-6),
            # o3-pro 20 / - / 80 (no cache discount): 100 * 20 + 50 * 80 = 6000
            ("o3-pro", "2025-09-01", USAGE, None, False, 6000e-6),
            # gpt-5.2 1.75 / 0.175 / 14: 105 + 7 + 700 = 812
            ("gpt-5.2", "2026-01-15", USAGE, None, False, 812e-6),
            ("gpt-5.2-2025-12-11", "2026-01-15", USAGE, None, False, 812e-6),
            # gpt-5.4-nano 0.2 / 0.02 / 1.25: 12 + 0.8 + 62.5 = 75.3
            ("gpt-5.4-nano", "2026-04-01", USAGE, None, False, 75.3e-6),
            # gpt-4o-2024-05-13 is not gpt-4o: 5 / - / 15: 500 + 750 = 1250
            ("gpt-4o-2024-05-13", "2025-09-01", USAGE, None, False, 1250e-6),
            # o3 before its price cut (10 / 0.5 / 40): 600 + 20 + 2000 = 2620
            ("o3", "2025-05-01", USAGE, None, False, 2620e-6),
            # o3 from 2025-06-10 (2 / 0.5 / 8): 120 + 20 + 400 = 540
            ("o3-2025-04-16", "2025-07-01", USAGE, None, False, 540e-6),
            # o4-mini 1.1 / 0.275 / 4.4: 66 + 11 + 220 = 297
            ("o4-mini-2025-04-16", "2025-09-01", USAGE, None, False, 297e-6),
            # text-embedding-3-small 0.02, no cache discount: 100 * 0.02 = 2
            ("text-embedding-3-small", "2025-09-01", USAGE, None, False, 2e-6),
            # gpt-5.5-pro 30 / - / 180: 3000 + 9000 = 12000
            ("gpt-5.5-pro", "2026-06-01", USAGE, None, False, 12000e-6),
            # past 272,000 input tokens every token is at the long-context
            # rate, 60 / - / 270: 300,000 * 60 + 1,000 * 270 = 18,270,000
            (
                "gpt-5.5-pro",
                "2026-06-01",
                kinds(input_tokens=300_000, output_tokens=1_000),
                None,
                False,
                18.27,
            ),
            # gpt-5.4 at 272,000 exactly is still the base rate 2.5 / - / 15
            (
                "gpt-5.4",
                "2026-06-01",
                kinds(input_tokens=272_000, output_tokens=1_000),
                None,
                False,
                0.695,
            ),
            # gpt-4o-mini-transcribe: 20 text tokens at 1.25, 100 audio
            # tokens at 3, 30 output at 5: 25 + 300 + 150 = 475
            (
                "gpt-4o-mini-transcribe",
                "2025-09-01",
                kinds(input_tokens=120, audio_input_tokens=100, output_tokens=30),
                None,
                False,
                475e-6,
            ),
            # whisper-1 bills the audio's duration: 93.5 s at 0.006 / minute
            (
                "whisper-1",
                "2025-09-01",
                kinds(audio_seconds=93.5),
                None,
                False,
                0.00935,
            ),
            # tts-1 bills characters: 1000 at 15 per 1M
            ("tts-1", "2025-09-01", kinds(input_characters=1000), None, False, 0.015),
            # gpt-realtime, text 4 / 0.4 / 16, audio 32 / 0.4 / 64, image
            # 5 / 0.5 (see REALTIME): text 100 * 4 + 100 * 0.4 + 100 * 16
            # = 2040; audio 350 * 32 + 350 * 0.4 + 200 * 64 = 24140; image
            # 50 * 5 + 50 * 0.5 = 275: 26455
            ("gpt-realtime", "2025-09-01", REALTIME, None, False, 26455e-6),
            # gpt-audio, text 2.5 / 10, audio 32 / 64: 40 text in, 60 audio
            # in, 20 text out, 30 audio out: 100 + 1920 + 200 + 1920 = 4140
            (
                "gpt-audio",
                "2025-09-01",
                kinds(
                    input_tokens=100,
                    audio_input_tokens=60,
                    output_tokens=50,
                    audio_output_tokens=30,
                ),
                None,
                False,
                4140e-6,
            ),
            # gpt-image-1.5, text in 5, image in 8, image out 32: 50 text +
            # 150 image in, 4000 image out: 250 + 1200 + 128000 = 129450
            (
                "gpt-image-1.5",
                "2026-01-15",
                kinds(
                    input_tokens=200,
                    image_input_tokens=150,
                    output_tokens=4000,
                    image_output_tokens=4000,
                ),
                None,
                False,
                0.12945,
            ),
            # gpt-5.6-terra from 2026-07-30: 2 / 0.2 / 12, cache writes 2.5:
            # 100 uncached + 400 cached + 500 written, 100 out:
            # 200 + 80 + 1250 + 1200 = 2730
            (
                "gpt-5.6-terra",
                "2026-09-01",
                kinds(
                    input_tokens=1000,
                    cached_input_tokens=400,
                    cache_write_tokens=500,
                    output_tokens=100,
                ),
                None,
                False,
                2730e-6,
            ),
            # gpt-5 flex 0.625 / 0.0625 / 5: 37.5 + 2.5 + 250 = 290
            ("gpt-5", "2026-11-01", USAGE, "flex", False, 290e-6),
            # gpt-5 priority 2.5 / 0.25 / 20: 150 + 10 + 1000 = 1160
            ("gpt-5-2025-08-07", "2026-11-01", USAGE, "priority", False, 1160e-6),
            # gpt-5 Batch API 0.625 / 0.0625 / 5
            ("gpt-5", "2026-11-01", USAGE, None, True, 290e-6),
            # a text price has no audio rate: flagged, not billed as text
            (
                "gpt-4o-mini",
                "2025-09-01",
                kinds(input_tokens=100, audio_input_tokens=60, output_tokens=5),
                None,
                False,
                None,
            ),
            # a fine-tuned model is not its base model
            (
                "ft:gpt-4o-mini-2024-07-18:acme::AbC123",
                "2025-09-01",
                USAGE,
                None,
                False,
                None,
            ),
            ("gpt-9-ultra", "2025-09-01", USAGE, None, False, None),
        ]
        for model_name, day, token_usage, tier, batch, expected in cases:
            with self.subTest(model=model_name, day=day, tier=tier, batch=batch):
                log = self.priced_log(
                    model_name,
                    token_usage,
                    when=f"{day} 12:00:00",
                    service_tier=tier,
                    batch=batch,
                )
                if expected is None:
                    self.assertTrue(log.price_missing)
                    self.assertFalse(log.cost)
                    continue
                self.assertFalse(log.price_missing)
                self.assertIn(log.price_id.model_name, model_name)
                self.assertAlmostEqual(log.cost, expected, places=12)

    def test_a_model_priced_at_call_time_gets_its_rows(self):
        self.assertFalse(self.Price.search([("model_name", "like", "gpt-5.2")]))
        log = self.priced_log("gpt-5.2-2025-12-11", USAGE, when="2026-01-15 00:00:00")
        row = self.Price.search(
            [("model_name", "like", "gpt-5.2"), ("price_tier", "=", "standard")]
        )
        self.assertEqual(log.price_id, row, "the row used is visible and editable")
        # the catalogue prices the snapshot as gpt-5.2: its row is gpt-5.2's
        self.assertEqual(row.model_name, "gpt-5.2")
        self.assertEqual(row.source, f"genai-prices {price_catalogue.version()}")
        row.input_price = 100.0  # an administrator's correction wins from now on
        later = self.priced_log(
            "gpt-5.2-2025-12-11", usage(1_000_000, 0), when="2026-02-01 00:00:00"
        )
        self.assertAlmostEqual(later.cost, 100.0, places=10)

    def test_a_snapshot_of_the_same_model_uses_the_undated_row(self):
        shipped = self.env.ref("ai_usage_log.price_gpt_4o_mini")
        shipped.input_price = 0.1  # a negotiated price applies to its snapshots
        log = self.priced_log("gpt-4o-mini-2024-07-18", usage(1_000_000, 0))
        self.assertEqual(log.price_id, shipped)
        self.assertAlmostEqual(log.cost, 0.1, places=10)

    def test_a_prefix_bills_only_where_marked(self):
        self.assertTrue(self.priced_log("acme-chat-large", USAGE).price_missing)
        self.Price.create(
            {
                "model_name": "acme-chat",
                "match_type": "prefix",
                "date_from": "2024-01-01",
                "input_price": 1.0,
                "output_price": 1.0,
            }
        )
        log = self.priced_log("acme-chat-large", usage(1_000_000, 0))
        self.assertAlmostEqual(log.cost, 1.0, places=10)

    def test_every_price_of_a_row_is_read_and_every_read_price_is_a_field(self):
        # one list: a price field compute_cost never reads would be entered
        # for nothing; a value it reads without a field would always be 0
        declared = {
            name
            for name, field in self.env["ai.model.price"]._fields.items()
            if field.type == "float" and field.get_digits(self.env) == PRICE_DIGITS
        }
        self.assertEqual(declared, set(PRICE_FIELDS.values()))
        usage_kinds = set(price_catalogue.ROW_VALUES) | {"reasoning"}
        self.assertEqual(set(PRICE_FIELDS), usage_kinds)


@tagged("post_install", "-at_install")
class TestUpdatePrices(PricedCase):
    def test_update_adds_never_overwrites_and_runs_twice_for_nothing(self):
        edited = self.env.ref("ai_usage_log.price_gpt_4o")
        edited.input_price = 99.0  # an administrator's own price
        mine = self.Price.create(
            {"model_name": "gpt-5.2", "date_from": "2020-01-01", "input_price": 7.0}
        )
        before = self.Price.search_count([])
        result = self.Price.with_user(self.admin).action_update_prices()
        added = self.Price.search_count([]) - before
        self.assertGreater(added, 50, "the catalogue's models were added")
        message = result["params"]["message"]
        self.assertIn(f"{added} prices added", message)
        self.assertIn("gpt-3.5-turbo (2020-01-01)", message)
        self.assertTrue(self.Price.search([("model_name", "=", "gpt-5.4-nano")]))
        self.assertEqual(edited.input_price, 99.0, "an edited row is kept")
        self.assertEqual(mine.input_price, 7.0)
        standard = self.Price.search(
            [("model_name", "=", "gpt-5.2"), ("price_tier", "=", "standard")]
        )
        self.assertEqual(standard, mine, "the administrator's row stands")
        self.assertFalse(
            self.Price.search(
                [("model_name", "in", ("gpt-4o-audio-preview", "ft:gpt-4o"))]
            ),
            "no price of a name pattern: a prefix is an administrator's choice",
        )
        long_context = self.Price.search(
            [("model_name", "=", "gpt-5.5-pro"), ("price_tier", "=", "standard")]
        )
        self.assertEqual(
            long_context.mapped(lambda p: (p.min_input_tokens, p.input_price)),
            [(0, 30.0), (272000, 60.0)],
        )
        whisper = self.Price.search([("model_name", "=", "whisper-1")])
        self.assertAlmostEqual(whisper.audio_minute_price, 0.006, places=9)
        again = self.Price.with_user(self.admin).action_update_prices()
        self.assertEqual(self.Price.search_count([]) - before, added, "nothing twice")
        self.assertIn("already has every price", again["params"]["message"])
        self.assertEqual(
            (again["params"]["title"], again["params"]["sticky"]),
            ("Prices up to date", False),
            "nothing added: a passing word, not a sticky success",
        )
        self.assertEqual(self.Price._cron_update_prices(), 0)

    def test_without_the_catalogue_the_list_still_prices(self):
        # as if genai-prices were not installed: importing it fails
        absent = {"genai_prices": None, "genai_prices.data_snapshot": None}
        with patch.dict(sys.modules, absent):
            self.assertIsNone(price_catalogue.version())
            result = self.Price.with_user(self.admin).action_update_prices()
            self.assertEqual(result["params"]["type"], "warning")
            self.assertIn("pip install genai-prices", result["params"]["message"])
            shipped = self.priced_log("gpt-4o-mini-2024-07-18", USAGE)
            self.assertAlmostEqual(shipped.cost, 42e-6, places=12)
            unknown = self.priced_log("gpt-5.2", USAGE, when="2026-01-15 12:00:00")
            self.assertTrue(unknown.price_missing, "flagged, not guessed")
        self.assertFalse(self.Price.search([("model_name", "=", "gpt-5.2")]))

    def test_only_administrators_update_prices(self):
        with self.assertRaises(AccessError):
            self.Price.with_user(self.user).action_update_prices()


@tagged("post_install", "-at_install")
class TestTiers(PricedCase):
    """A call is priced at the rate of its service tier or of the Batch API,
    from the catalogue's date for that rate; never at another tier's."""

    def tier_log(self, model_name, when, service_tier=None, batch=False):
        return self.priced_log(
            model_name, USAGE, when=when, service_tier=service_tier, batch=batch
        )

    def test_tiers_and_batch(self):
        when = "2026-11-01 12:00:00"
        cases = [
            # gpt-5 standard 1.25 / 0.125 / 10: 75 + 5 + 500 = 580
            ("gpt-5", None, False, 0.00058),
            ("gpt-5", "default", False, 0.00058),
            # flex is half: 0.625 / 0.0625 / 5: 37.5 + 2.5 + 250 = 290
            ("gpt-5", "flex", False, 0.00029),
            # priority 2.5 / 0.25 / 20: 150 + 10 + 1000 = 1160
            ("gpt-5-2025-08-07", "priority", False, 0.00116),
            # the API may answer "fast" for priority
            ("gpt-5", "fast", False, 0.00116),
            # batch 0.625 / 0.0625 / 5
            ("gpt-5", None, True, 0.00029),
            # gpt-4o-mini batch 0.075 / 0.075 (no cached rate in batch) / 0.3:
            # 4.5 + 3 + 15 = 22.5
            ("gpt-4o-mini", None, True, 0.0000225),
            # gpt-4o-mini has no flex rate: flagged, not the standard one
            ("gpt-4o-mini", "flex", False, None),
            ("gpt-5", "scale", False, None),
        ]
        for model_name, tier, batch, expected in cases:
            with self.subTest(model=model_name, tier=tier, batch=batch):
                log = self.tier_log(model_name, when, tier, batch)
                if expected is None:
                    self.assertTrue(log.price_missing)
                    continue
                self.assertFalse(log.price_missing)
                self.assertAlmostEqual(log.cost, expected, places=12)

    def test_cost_by_tier_report(self):
        when = "2026-11-01 12:00:00"
        self.tier_log("gpt-5", when)
        self.tier_log("gpt-5", when, "default")
        self.tier_log("gpt-5", when, "flex")
        self.tier_log("gpt-5", when, "fast")
        self.tier_log("gpt-5", when, batch=True)
        self.tier_log("gpt-5", when, "scale")
        action = self.env.ref("ai_usage_log.action_ai_usage_log_cost_by_tier")
        graph = self.env.ref("ai_usage_log.view_ai_usage_log_graph_by_tier")
        self.assertEqual(action.view_id, graph)
        self.assertIn('name="price_tier"', graph.arch)
        groups = self.Log._read_group(
            [("service_id", "=", self.service.id)],
            ["price_tier"],
            ["cost_company:sum", "__count"],
        )
        self.assertEqual(
            {tier: (round(cost, 8), count) for tier, cost, count in groups},
            {
                "standard": (0.00116, 2),  # 2 x 580
                "flex": (0.00029, 1),
                "priority": (0.00116, 1),
                "batch": (0.00029, 1),
                "other": (0.0, 1),  # scale: no rate, Missing Price
            },
        )

    def test_a_tier_rate_applies_from_its_date(self):
        before = self.tier_log("gpt-5", "2026-09-01 12:00:00", "flex")
        self.assertTrue(before.price_missing, "the flex rate before it is unknown")

    def test_a_flex_call_through_the_api(self):
        body = chat_completion("gpt-5", chat_usage(100, 50, cached_tokens=40))
        body["service_tier"] = "flex"
        self.fake.script(Reply(body=body))
        self.service.make_openai_api_call(
            "chat/completions",
            data={"model": "gpt-5", "messages": [{"role": "user", "content": "x"}]},
        )
        log = self.last_log()
        self.assertEqual(log.service_tier, "flex")
        self.assertEqual(log.price_id.price_tier, "flex")
        self.assertAlmostEqual(log.cost, 0.00029, places=12)


@tagged("post_install", "-at_install")
@unittest.skipUnless(openai, "the openai package is not installed")
class TestBilledUnits(PricedCase):
    """Audio and speech through the openai SDK are logged in the unit they
    are billed in, and priced by it."""

    def test_whisper_transcription_is_billed_by_duration(self):
        client = self.service.openai_client(request_type="transcript_analysis")
        transcript = client.audio.transcriptions.create(
            model="whisper-1", file=("call.mp3", SPEECH_AUDIO, "audio/mpeg")
        )
        self.assertEqual(transcript.text, REPLY_TEXT)
        log = self.last_log()
        self.assertRecordValues(
            log,
            [
                {
                    "status": "success",
                    "endpoint": "audio/transcriptions",
                    "model": "whisper-1",
                    "usage_state": "reported",
                    "audio_seconds": TRANSCRIBED_SECONDS,
                    "input_tokens": 0,
                    "price_missing": False,
                }
            ],
        )
        # 93.5 s at $0.006 per minute
        self.assertAlmostEqual(log.cost, 93.5 / 60 * 0.006, places=12)

    def test_speech_is_billed_by_characters(self):
        text = "Your delivery arrives on Friday."
        client = self.service.openai_client()
        speech = client.audio.speech.create(model="tts-1-hd", voice="alloy", input=text)
        self.assertEqual(speech.content, SPEECH_AUDIO, "the audio reaches the caller")
        log = self.last_log()
        self.assertRecordValues(
            log,
            [
                {
                    "status": "success",
                    "endpoint": "audio/speech",
                    "model": "tts-1-hd",
                    "input_characters": len(text),
                    "price_missing": False,
                }
            ],
        )
        # tts-1-hd: $30 per 1M characters
        self.assertAlmostEqual(log.cost, len(text) * 30 / 1_000_000, places=12)

    def test_chat_audio_answer_is_priced_at_audio_rates(self):
        usage = chat_usage(100, 50)
        usage["prompt_tokens_details"]["audio_tokens"] = 60
        usage["completion_tokens_details"]["audio_tokens"] = 30
        self.fake.script(Reply(body=chat_completion("gpt-audio", usage)))
        self.service.make_openai_api_call(
            "chat/completions",
            data={"model": "gpt-audio", "messages": [{"role": "user", "content": "x"}]},
        )
        log = self.last_log()
        self.assertEqual((log.audio_input_tokens, log.audio_output_tokens), (60, 30))
        # text 2.5 / 10, audio 32 / 64: 40 * 2.5 + 60 * 32 + 20 * 10 + 30 * 64
        self.assertAlmostEqual(log.cost, 4140e-6, places=12)


@tagged("post_install", "-at_install")
@unittest.skipUnless(openai, "the openai package is not installed")
class TestBatch(PricedCase):
    """A Batch API job is recorded once it has ended: one log per request,
    at the batch rate of the day the batch was created."""

    def output_line(self, number, custom_id, model, status=200, body=None):
        usage = chat_usage(100, 50, cached_tokens=40)
        return {
            "id": f"batch_req_{number}",
            "custom_id": custom_id,
            "response": {
                "status_code": status,
                "request_id": f"req_{number}",
                "body": body or chat_completion(model, usage),
            },
            "error": None,
        }

    def test_a_finished_batch_is_logged_at_the_batch_rate(self):
        invalid = error_body("Invalid model name", "invalid_request_error", "model")
        expired = {
            "id": "batch_req_4",
            "custom_id": "call-20",
            "response": None,
            "error": {
                "code": "batch_expired",
                "message": "This request could not be executed before the "
                "completion window expired.",
            },
        }
        self.fake.finished_batch(
            "batch_abc",
            [
                self.output_line(1, "call-17", "gpt-5"),
                self.output_line(2, "call-18", "gpt-4o-mini"),
            ],
            [self.output_line(3, "call-19", "gpt-5", 400, invalid), expired],
        )
        logs = self.service.record_batch("batch_abc", request_type="call_summary")
        self.assertEqual(len(logs), 4)
        by_request = {log.message_id: log for log in logs}
        for log in logs:
            self.assertTrue(log.is_batch)
            self.assertEqual(log.batch_id, "batch_abc")
            self.assertEqual(log.request_type, "call_summary")
            self.assertEqual(log.endpoint, "chat/completions")
            self.assertEqual(str(log.request_time), "2026-10-26 07:33:20")
            self.assertEqual(log.duration_ms, 3_600_000)
        gpt5 = by_request["call-17"]
        self.assertEqual(gpt5.status, "success")
        self.assertEqual(gpt5.price_id.price_tier, "batch")
        # gpt-5 batch 0.625 / 0.0625 / 5: 37.5 + 2.5 + 250 = 290
        self.assertAlmostEqual(gpt5.cost, 290e-6, places=12)
        # gpt-4o-mini batch 0.075 / 0.075 / 0.3: 4.5 + 3 + 15 = 22.5
        self.assertAlmostEqual(by_request["call-18"].cost, 22.5e-6, places=12)
        self.assertRecordValues(
            by_request["call-19"] + by_request["call-20"],
            [
                {"status": "failed", "http_status": 400, "error_code": "model"},
                {"status": "failed", "http_status": 0, "error_code": "batch_expired"},
            ],
        )
        again = self.service.record_batch("batch_abc")
        self.assertEqual(again, logs, "a batch is recorded once")

    def test_a_batch_still_running_is_not_recorded(self):
        self.fake.finished_batch(
            "batch_run", [self.output_line(1, "a", "gpt-5")], status="in_progress"
        )
        with self.assertRaisesRegex(UserError, "in_progress"):
            self.service.record_batch("batch_run")
        self.assertFalse(self.Log.search([("batch_id", "=", "batch_run")]))
