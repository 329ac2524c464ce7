import json

import requests

from odoo import http
from odoo.http import request

from odoo.addons.ai_usage_log.exceptions import AiCallRefused
from odoo.addons.ai_usage_log.models.ai_service_helpers import SUMMARY_PROMPT
from odoo.addons.ai_usage_log.tools.capture import own_call


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

    @http.route(
        "/ai_usage_bench/baseline",
        type="http",
        auth="user",
        methods=["POST"],
        csrf=False,
    )
    def baseline(self):
        """The work of a logged call summary (/ai_usage/call_summary) without
        the add-on: the same request to the provider, one record created and
        committed with the request (the baseline of bench_workers.py)."""
        params = json.loads(request.httprequest.get_data() or b"{}")
        service = request.env["ai.service"]._get_service().sudo()
        # not captured: this is the call as a module without the add-on makes it
        with own_call():
            response = requests.post(
                f"{service.api_base_url}/chat/completions",
                json={
                    "model": service.default_model,
                    "messages": [
                        {"role": "system", "content": SUMMARY_PROMPT},
                        {"role": "user", "content": params["transcript"]},
                    ],
                },
                headers={"Authorization": f"Bearer {service.api_key}"},
                timeout=60,
            )
        if not response.ok:
            return request.make_json_response({"error": response.text}, status=502)
        answer = response.json()
        summary = answer["choices"][0]["message"]["content"]
        request.env["ai.usage.bench.record"].create(
            {
                "message_id": params["message_id"],
                "model": answer.get("model"),
                "input_tokens": answer["usage"]["prompt_tokens"],
                "output_tokens": answer["usage"]["completion_tokens"],
                "summary": summary,
            }
        )
        return request.make_json_response({"summary": summary})
