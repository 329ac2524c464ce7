"""What a hard budget reserves for a call before it is sent: images and PDF
pages as OpenAI counts them (tools.token_estimate), text by characters."""

import base64
import io
import random

from PIL import Image

from odoo.tests import BaseCase, tagged

from ..recorder import CallRecorder
from ..tools import token_estimate
from .common import AiUsageCase


def noise_png(width, height):
    """A PNG that does not compress: about 3 bytes a pixel."""
    rng = random.Random(7)
    image = Image.frombytes(
        "RGB",
        (width, height),
        bytes(rng.getrandbits(8) for _ in range(width * height * 3)),
    )
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


@tagged("post_install", "-at_install")
class TestTokenEstimate(BaseCase):
    def test_tile_models_as_openai_documents_them(self):
        image_tokens = token_estimate.image_tokens
        self.assertEqual(image_tokens("gpt-4o", 1024, 1024), 765)
        self.assertEqual(image_tokens("gpt-4o", 2048, 4096), 1105)
        self.assertEqual(image_tokens("gpt-4o", 4096, 8192, detail="low"), 85)
        self.assertEqual(image_tokens("gpt-4o-mini", 512, 512), 2833 + 5667)
        self.assertEqual(image_tokens("o3", 512, 512), 75 + 150)
        self.assertEqual(image_tokens("gpt-4o"), 85 + 170 * 8, "unknown size: most")

    def test_patch_models(self):
        image_tokens = token_estimate.image_tokens
        self.assertEqual(image_tokens("gpt-4.1-mini", 1024, 1024), 1659)  # 1024 x 1.62
        self.assertEqual(image_tokens("gpt-4.1-nano", 1800, 2400), 3779)  # capped
        self.assertEqual(image_tokens("o4-mini"), 2642)

    def test_a_request_body(self):
        png = noise_png(300, 200)
        body = {
            "model": "gpt-4.1",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "x" * 400},
                        {
                            "type": "image_url",
                            "image_url": {
                                "url": "data:image/png;base64,"
                                + base64.b64encode(png).decode()
                            },
                        },
                        {"type": "image_url", "image_url": {"url": "https://e.com/a"}},
                    ],
                }
            ],
        }
        tokens = token_estimate.input_tokens("gpt-4.1", body)
        words = 1 + 1  # "user", "text": keys do not count, values do
        self.assertEqual(tokens, words + 100 + (85 + 170) + (85 + 170 * 8))
        self.assertLess(tokens, len(png) // 100, "nothing like the base64 size")
        self.assertEqual(token_estimate.output_tokens({"max_tokens": 300}), 300)
        self.assertEqual(token_estimate.output_tokens({}), 1000)


@tagged("post_install", "-at_install")
class TestVisionReservation(AiUsageCase):
    def setUp(self):
        super().setUp()
        self.service.default_model = "gpt-4.1"
        self.env["ai.usage.budget"].create(
            {"name": "Vision", "limit_tokens": 20_000, "hard_limit": True}
        )
        self.image = base64.b64encode(noise_png(600, 600)).decode()
        self.assertGreater(len(self.image), 1_000_000, "a 1 MB image")

    def test_a_large_image_reserves_its_tiles_not_its_bytes(self):
        body = {
            "model": "gpt-4.1",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is the invoice total?"},
                        {
                            "type": "image_url",
                            "image_url": {"url": f"data:image/png;base64,{self.image}"},
                        },
                    ],
                }
            ],
        }
        values = {"model": "gpt-4.1", "request_type": "vision_analysis"}
        in_flight = CallRecorder(self.service, values, body).open()
        # "user", "text", the prompt (26 characters), 4 tiles, the output cap
        self.assertEqual(in_flight.log.reserved_tokens, 1 + 1 + 7 + 765 + 1000)
        self.service.make_openai_api_call(
            "chat/completions", data={"messages": [{"role": "user", "content": "hi"}]}
        )
        self.assertEqual(
            self.last_log().status, "success", "the image in flight left room"
        )
        answer = self.service.analyze_image(
            "What is the invoice total?", image_base64=self.image
        )
        self.assertTrue(answer)


@tagged("post_install", "-at_install")
class TestTierReservation(AiUsageCase):
    def test_a_flex_request_reserves_at_the_flex_price(self):
        self.env["ai.usage.budget"].create(
            {"name": "Cost cap", "limit_cost": 100.0, "hard_limit": True}
        )
        body = {
            "model": "gpt-5",
            "messages": [{"role": "user", "content": "x" * 400}],
            "max_completion_tokens": 1000,
        }
        reserved = {}
        for tier in ("default", "flex", "priority"):
            in_flight = CallRecorder(
                self.service, {"model": "gpt-5"}, dict(body, service_tier=tier)
            ).open()
            reserved[tier] = in_flight.log.reserved_cost
        self.assertGreater(reserved["default"], 0)
        # the shipped rates: flex is half the standard price, priority double
        self.assertAlmostEqual(reserved["flex"], reserved["default"] / 2, places=7)
        self.assertAlmostEqual(reserved["priority"], reserved["default"] * 2, places=7)
