import json

from odoo import http
from odoo.http import request


class ProbeController(http.Controller):
    @http.route(
        "/ai_capture_probe/chat", type="http", auth="user", methods=["POST"], csrf=False
    )
    def chat(self):
        params = json.loads(request.httprequest.get_data() or b"{}")
        answer = request.env["ai.capture.probe"].chat(params["url"], params["key"])
        return request.make_json_response(answer)
