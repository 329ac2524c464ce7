from odoo import http
from odoo.http import request


class AiUsageController(http.Controller):
    """JSON endpoints for logged-in users; each calls the model methods, so
    every call is logged exactly like one made from Python."""

    @http.route("/ai_usage/call_summary", type="json", auth="user", methods=["POST"])
    def call_summary(
        self,
        message_id=None,
        contact_id=None,
        transcript=None,
        prompt=None,
        location_id=None,
        service_id=None,
    ):
        service = self._service(service_id)
        summary = service.generate_summary(
            message_id,
            contact_id,
            transcript,
            custom_prompt=prompt,
            location_id=location_id,
        )
        return {"summary": summary}

    @http.route("/ai_usage/test_connection", type="json", auth="user", methods=["POST"])
    def test_connection(self, service_id=None):
        service = self._service(service_id)
        payload = service.make_openai_api_call(
            "models", method="GET", request_type="test_connection"
        )
        return {"ok": True, "models": len(payload.get("data") or [])}

    def _service(self, service_id):
        services = request.env["ai.service"]
        if service_id:
            return services.browse(int(service_id)).exists() or services._get_service()
        return services._get_service()
