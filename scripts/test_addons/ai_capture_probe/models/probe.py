"""Code that never heard of ai_usage_log: it posts to an OpenAI-shaped API
with requests, as many app-store modules do."""

import requests

from odoo import api, models

URL_PARAM = "ai_capture_probe.url"
KEY_PARAM = "ai_capture_probe.key"


class AiCaptureProbe(models.Model):
    _name = "ai.capture.probe"
    _description = "AI capture probe"

    @api.model
    def chat(self, url, key, prompt="Hello"):
        """One chat completion; return its answer's usage."""
        response = requests.post(
            f"{url}/chat/completions",
            json={
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": prompt}],
            },
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        return {"status": response.status_code, "usage": response.json().get("usage")}

    @api.model
    def _cron_chat(self):
        params = self.env["ir.config_parameter"].sudo()
        return self.chat(params.get_param(URL_PARAM), params.get_param(KEY_PARAM))
