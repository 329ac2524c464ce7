import hmac
import json

from werkzeug.exceptions import NotFound

from odoo import fields, http
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.http import request

from ..exceptions import AiCallError, AiCallRefused, AiPayloadTooLarge
from ..models.res_config_settings import METRICS_TOKEN_PARAM


class BadField(Exception):
    """A request field is missing or wrong: answered 400, naming the field."""

    def __init__(self, field, message, status=400):
        super().__init__(message)
        self.field = field
        self.message = message
        self.status = status


class AiUsageController(http.Controller):
    """JSON endpoints for logged-in users, on top of the model methods, so a
    call made here is logged exactly once, like one made from Python.

    Requests are JSON objects (Content-Type: application/json); answers are
    JSON with a real status: 400 names the bad field, 401 without a session,
    403 without the right, 429 when a rate limit or budget refused the call,
    502 when OpenAI failed the (logged) call."""

    @http.route(
        "/ai_usage/call_summary",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
    )
    def call_summary(self):
        def handler(params):
            service = self._service(params)
            summary = service.generate_summary(
                self._text(params, "message_id"),
                self._text(params, "contact_id"),
                self._text(params, "transcript", required=True),
                custom_prompt=self._text(params, "prompt"),
                location_id=self._text(params, "location_id"),
            )
            return {"summary": summary}

        return self._serve(handler)

    @http.route(
        "/ai_usage/vision", type="http", auth="public", methods=["POST"], csrf=False
    )
    def vision(self):
        def handler(params):
            service = self._service(params)
            answer = service.analyze_image(
                self._text(params, "prompt", required=True),
                image_url=self._text(params, "image_url"),
                image_base64=params.get("image_base64"),
                image_mime=self._text(params, "image_mime") or "image/png",
                pdf_base64=params.get("pdf_base64"),
                pdf_page=params.get("pdf_page", 1),
                message_id=self._text(params, "message_id"),
                contact_id=self._text(params, "contact_id"),
                location_id=self._text(params, "location_id"),
            )
            return {"answer": answer}

        return self._serve(handler)

    @http.route(
        "/ai_usage/test_connection",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
    )
    def test_connection(self):
        def handler(params):
            return {"ok": True, "models": self._service(params)._test_connection()}

        return self._serve(handler)

    # readonly: served by a replica when Odoo has one (--db_replica_host)
    @http.route(
        "/ai_usage/usage/daily",
        type="http",
        auth="public",
        methods=["GET"],
        csrf=False,
        readonly=True,
    )
    def usage_daily(self, **query):
        return self._serve(lambda params: self._usage("day", query), read_body=False)

    @http.route(
        "/ai_usage/usage/monthly",
        type="http",
        auth="public",
        methods=["GET"],
        csrf=False,
        readonly=True,
    )
    def usage_monthly(self, **query):
        return self._serve(lambda params: self._usage("month", query), read_body=False)

    @http.route(
        "/ai_usage/metrics",
        type="http",
        auth="none",
        methods=["GET"],
        csrf=False,
        save_session=False,
        readonly=True,
    )
    def metrics(self):
        """Prometheus metrics, behind a bearer token kept in the system
        parameter ai_usage_log.metrics_token; no token set: no endpoint."""
        if not request.db:
            raise NotFound()
        env = request.env(su=True)
        token = env["ir.config_parameter"].get_param(METRICS_TOKEN_PARAM)
        if not token:
            raise NotFound()
        given = request.httprequest.headers.get("Authorization", "")
        scheme, _space, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            value.strip().encode(), token.encode()
        ):
            return request.make_response(
                "unauthorized\n",
                status=401,
                headers=[
                    ("Content-Type", "text/plain"),
                    ("WWW-Authenticate", 'Bearer realm="ai_usage"'),
                ],
            )
        body = env["ai.usage.report"]._prometheus_metrics()
        return request.make_response(
            body, headers=[("Content-Type", "text/plain; version=0.0.4; charset=utf-8")]
        )

    # ------------------------------------------------------------------
    def _serve(self, handler, read_body=True):
        try:
            if request.env.user._is_public():
                return self._error(
                    401, None, "Log in first: this endpoint needs a session."
                )
            params = self._json_body() if read_body else {}
            return request.make_json_response(handler(params))
        except BadField as error:
            return self._error(error.status, error.field, error.message)
        except AccessError as error:
            return self._error(403, None, str(error))
        except AiCallError as error:
            return self._error(502, None, str(error))
        except AiCallRefused as error:  # a rate limit or a hard budget
            return self._error(429, None, str(error))
        except AiPayloadTooLarge as error:
            return self._error(413, getattr(error, "field", None), str(error))
        except (UserError, ValidationError) as error:
            return self._error(400, getattr(error, "field", None), str(error))

    @staticmethod
    def _error(status, field, message):
        return request.make_json_response(
            {"error": {"field": field, "message": message}}, status=status
        )

    @staticmethod
    def _json_body():
        mimetype = request.httprequest.mimetype
        if mimetype != "application/json":
            raise BadField(
                None, "Send a JSON object with Content-Type: application/json.", 415
            )
        try:
            params = json.loads(request.httprequest.get_data() or b"null")
        except ValueError:
            raise BadField(None, "The body is not valid JSON.") from None
        if not isinstance(params, dict):
            raise BadField(None, "The body must be a JSON object.")
        return params

    @staticmethod
    def _text(params, name, required=False):
        value = params.get(name)
        if value in (None, ""):
            if required:
                raise BadField(name, f"{name} is required.")
            return None
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and name.endswith("_id")
        ):
            return str(value)  # outside systems send ids as numbers too
        if not isinstance(value, str):
            raise BadField(name, f"{name} must be a string.")
        return value

    @staticmethod
    def _service(params):
        services = request.env["ai.service"]
        service_id = params.get("service_id")
        if service_id is None:
            return services._get_service()
        if isinstance(service_id, str) and service_id.isdigit():
            service_id = int(service_id)
        if not isinstance(service_id, int) or isinstance(service_id, bool):
            raise BadField("service_id", "service_id must be an integer.")
        service = services.browse(service_id).exists()
        if not service:
            raise BadField(
                "service_id", f"There is no AI service {service_id} you may use."
            )
        service.check_access("read")
        return service

    def _usage(self, granularity, query):
        params = {}
        if query.get("service_id"):
            params["service_id"] = self._service({"service_id": query["service_id"]}).id
        for name in ("date_from", "date_to"):
            if query.get(name):
                try:
                    params[name] = fields.Date.to_date(query[name])
                except ValueError:
                    raise BadField(
                        name, f"{name} must be a date (YYYY-MM-DD)."
                    ) from None
        if (
            params.get("date_from")
            and params.get("date_to")
            and params["date_from"] > params["date_to"]
        ):
            raise BadField("date_to", "date_to is before date_from.")
        rows = request.env["ai.usage.report"].get_usage_summary(granularity, **params)
        return {"granularity": granularity, "usage": rows}
