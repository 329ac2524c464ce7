import json

from odoo import http
from odoo.http import request

from odoo.addons.ai_usage_log.exceptions import AiCallRefused


class BenchController(http.Controller):
    """One chat completion through the logged openai SDK client: the third
    path scripts/bench_workers.py drives (the other two are the add-on's
    own HTTP endpoint and JSON-RPC)."""

    @http.route(
        "/ai_usage_bench/sdk_call",
        type="http",
        auth="user",
        methods=["POST"],
        csrf=False,
    )
    def sdk_call(self):
        import openai

        params = json.loads(request.httprequest.get_data() or b"{}")
        service = request.env["ai.service"]._get_service()
        client = service.openai_client(
            request_type="custom_prompt", message_id=params["message_id"]
        )
        try:
            completion = client.chat.completions.create(
                model=service.default_model,
                messages=[{"role": "user", "content": params["prompt"]}],
            )
        except (openai.RateLimitError, AiCallRefused) as error:
            return request.make_json_response({"error": str(error)}, status=429)
        except openai.APIError as error:
            return request.make_json_response({"error": str(error)}, status=502)
        return request.make_json_response(
            {"answer": completion.choices[0].message.content}
        )
