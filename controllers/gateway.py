"""Odoo as the company's AI gateway: the OpenAI API at /ai_usage/v1, for
outside applications (scripts, automation tools, websites) that any OpenAI
client can call by changing its base URL and key.

The key is an Odoo API key of an AI Usage user (Preferences > Account
Security); each request goes through the service's call lifecycle (log
written ahead, retries, budgets, rate limits, prices, fallbacks),
attributed to that user and company. Answers and errors are OpenAI's
shapes; the upstream key is never in them."""

import json
import logging

from odoo import api, http
from odoo.exceptions import AccessError, UserError
from odoo.http import request

from ..compat import RETRIED_ERRORS
from ..exceptions import AiCallError, AiCallRefused
from ..tools.http_client import openai_error
from ..tools.providers import OPENAI_DIALECT

_logger = logging.getLogger(__name__)

GATEWAY = "/ai_usage/v1"
USER_GROUP = "ai_usage_log.group_ai_usage_user"
# the request type of a gateway call, unless the client names another
REQUEST_TYPE_HEADER = "X-AI-Usage-Request-Type"
# what an upstream failure that has no HTTP status is answered with
NO_ANSWER_STATUS = {"timeout": 504, "connect_timeout": 504}
# the upstream refused the service's key: the client's key is not at fault,
# and must not be told it is (its SDK would raise an authentication error)
UPSTREAM_KEY_REFUSED = (401, 403)
# the SDKs retry 408, 409, 429 and 5xx unless told not to: a refusal must not
# be retried, and an upstream failure was retried already, by the service's rule
NOT_RETRIED = [("x-should-retry", "false")]
# auth "none": the key is checked here, to answer in OpenAI's shape; such
# routes are read-only unless said otherwise, and a call writes its log
# what the gateway serves, and how
ENDPOINT_METHODS = {
    "chat/completions": "POST",
    "responses": "POST",
    "embeddings": "POST",
    "models": "GET",
}
ROUTE = {
    "type": "http",
    "auth": "none",
    "csrf": False,
    "save_session": False,
    "readonly": False,
}


class GatewayError(Exception):
    """An answer in OpenAI's error shape."""

    def __init__(self, status, message, error_type, code=None, headers=()):
        super().__init__(message)
        self.status = status
        self.body = openai_error(message, error_type, code)
        self.headers = list(headers)


class AiGateway(http.Controller):
    @http.route(f"{GATEWAY}/chat/completions", methods=["POST"], **ROUTE)
    def chat_completions(self):
        return self._serve(lambda: self._call("chat/completions"))

    @http.route(f"{GATEWAY}/responses", methods=["POST"], **ROUTE)
    def responses(self):
        return self._serve(lambda: self._call("responses"))

    @http.route(f"{GATEWAY}/embeddings", methods=["POST"], **ROUTE)
    def embeddings(self):
        return self._serve(lambda: self._call("embeddings", streams=False))

    @http.route(f"{GATEWAY}/models", methods=["GET"], **ROUTE)
    def models(self):
        return self._serve(self._models)

    @http.route(f"{GATEWAY}/<path:endpoint>", **ROUTE)
    def unknown(self, endpoint):
        def refuse():
            self._authenticate()  # a caller without a key learns nothing more
            if endpoint in ENDPOINT_METHODS:
                raise GatewayError(
                    405,
                    f"/v1/{endpoint} takes {ENDPOINT_METHODS[endpoint]}, "
                    f"not {request.httprequest.method}.",
                    "invalid_request_error",
                    "method_not_allowed",
                    headers=[("Allow", ENDPOINT_METHODS[endpoint])],
                )
            raise GatewayError(
                404,
                f"Unknown request URL: {request.httprequest.method} /v1/{endpoint}. "
                "The gateway serves chat/completions, responses, embeddings "
                "and models.",
                "invalid_request_error",
                "unknown_url",
            )

        return self._serve(refuse)

    # ------------------------------------------------------------------
    def _serve(self, handler):
        try:
            return handler()
        except GatewayError as error:
            return request.make_json_response(
                error.body, status=error.status, headers=error.headers
            )
        except AiCallRefused as refusal:  # a budget or a rate limit: nothing sent
            return self._error(
                429,
                str(refusal),
                "rate_limit_error",
                refusal.error_code,
                headers=NOT_RETRIED,
            )
        except AiCallError as error:  # the upstream's failure, passed on
            status = error.http_status or NO_ANSWER_STATUS.get(error.error_code, 502)
            code = error.error_code
            if status in UPSTREAM_KEY_REFUSED:
                status, code = 502, "upstream_key_refused"
            # the service retried it already, by its own max retries
            return self._error(
                status, str(error), "upstream_error", code, headers=NOT_RETRIED
            )
        except AccessError as error:
            return self._error(403, str(error), "permission_error", "access_denied")
        except UserError as error:  # ValidationError and MissingError too
            return self._error(400, str(error), "invalid_request_error")
        except RETRIED_ERRORS:
            raise  # Odoo replays the request
        except Exception:
            _logger.exception("ai_usage_log: the gateway failed a request")
            return self._error(
                500,
                "The gateway failed the request: see the Odoo server log.",
                "server_error",
            )

    @staticmethod
    def _error(status, message, error_type, code=None, headers=()):
        return request.make_json_response(
            openai_error(message, error_type, code),
            status=status,
            headers=list(headers),
        )

    def _authenticate(self):
        """Become the user of the bearer key: an Odoo API key of an AI Usage
        user, in that user's company."""
        scheme, _space, key = request.httprequest.headers.get(
            "Authorization", ""
        ).partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise GatewayError(
                401,
                "You didn't provide an API key: send an Odoo API key (Preferences "
                "> Account Security) as 'Authorization: Bearer <key>'.",
                "invalid_request_error",
                "missing_api_key",
            )
        uid = request.env(su=True)["res.users.apikeys"]._check_credentials(
            scope="rpc", key=key
        )
        if not uid:
            raise GatewayError(
                401,
                "Incorrect API key provided: use an Odoo API key of this database "
                "(Preferences > Account Security).",
                "invalid_request_error",
                "invalid_api_key",
            )
        request.update_env(user=uid)
        user = request.env.user
        if not user.has_group(USER_GROUP):
            raise GatewayError(
                403,
                f"{user.login} is not an AI Usage user: an administrator grants it "
                "in Settings > Users.",
                "permission_error",
                "missing_group",
            )
        request.update_env(
            context=dict(
                request.env.context,
                allowed_company_ids=user.company_id.ids,
                lang=user.lang,
                tz=user.tz,
            )
        )

    @staticmethod
    def _body():
        try:
            body = json.loads(request.httprequest.get_data() or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise GatewayError(
                400,
                "The body must be a JSON object, as the OpenAI API takes.",
                "invalid_request_error",
                "invalid_json",
            )
        return body

    @staticmethod
    def _service_of(body):
        """The service a request names as '<service>/<model>' in its model
        (a service the user may use), else the company's default service;
        and the body to send it, with the model the service knows."""
        services = request.env["ai.service"]
        model = body.get("model")
        if isinstance(model, str) and "/" in model:
            name, _slash, service_model = model.partition("/")
            service = services.search(
                [("name", "=", name), *services._callable_domain()], limit=1
            )
            # else the model's own name has a slash (OpenRouter's vendor/model)
            if service and service_model:
                return service, dict(body, model=service_model)
        return services._get_service(), body

    @staticmethod
    def _log_options(body):
        """What the log keeps of the request: its type, and as metadata the
        request's ``metadata`` and who its end user is (``user``, or
        ``safety_identifier`` which OpenAI now asks for instead)."""
        metadata = body.get("metadata")
        metadata = dict(metadata) if isinstance(metadata, dict) else {}
        for name in ("user", "safety_identifier"):
            if body.get(name) is not None:
                metadata[name] = body[name]
        headers = request.httprequest.headers
        return {
            "request_type": headers.get(REQUEST_TYPE_HEADER) or "gateway",
            "metadata": metadata or None,
        }

    def _call(self, endpoint, streams=True):
        self._authenticate()
        body = self._body()
        service, body = self._service_of(body)
        options = self._log_options(body)
        if streams and body.get("stream"):
            return self._stream(service, endpoint, body, options)
        payload = service._json_call(OPENAI_DIALECT, endpoint, "POST", body, **options)
        return request.make_json_response(payload)

    def _stream(self, service, endpoint, body, options):
        """Pass the events on as they arrive. The upstream request is sent
        here, so that its failure before the first event is answered with
        its status; the events are read after this route's transaction, so
        the stream finishes its log through a cursor of its own. A client
        that goes away closes the stream: the upstream request ends, and the
        log says abandoned."""
        wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        events = service._stream_call(OPENAI_DIALECT, endpoint, body, **options)
        env = request.env
        registry, uid, context = env.registry, env.uid, dict(env.context)
        chat = endpoint == "chat/completions"

        def sse():
            # the cursor ends committed even when the client goes away: in
            # tests, its rollback would undo the log's finish nested in it
            with registry.cursor() as cr:
                if hasattr(events, "move_to"):  # not a replayed answer's list
                    events.move_to(api.Environment(cr, uid, context))
                try:
                    for event in events:
                        if chat and not wants_usage and not event.get("choices"):
                            continue  # the usage chunk the client did not ask for
                        yield sse_event(event, chat)
                except GeneratorExit:  # the client went away
                    return
                except AiCallError as error:  # after the first event: in the stream
                    ending = sse_event(stream_error(error, chat), chat)
                else:
                    ending = b"data: [DONE]\n\n" if chat else b""
                finally:
                    if hasattr(events, "close"):  # not a replayed answer's list
                        events.close()
            yield ending

        return request.make_response(
            sse(),
            headers=[
                ("Content-Type", "text/event-stream; charset=utf-8"),
                ("Cache-Control", "no-cache"),
                ("X-Accel-Buffering", "no"),  # nginx: pass each event on
            ],
        )

    def _models(self):
        """The services' default models, as '<service>/<model>', and the
        default service's bare: a client's model list (any model the
        upstream serves may be asked for)."""
        self._authenticate()
        services = request.env["ai.service"]
        default = services._get_service()
        usable = services.search(services._callable_domain())
        models = [(default.default_model, default)] + [
            (f"{service.name}/{service.default_model}", service)
            for service in usable
            # what a client can ask for again: an OpenAI API, a name it splits
            if service._provider().speaks_openai and "/" not in service.name
        ]
        return request.make_json_response(
            {
                "object": "list",
                "data": [
                    {
                        "id": model,
                        "object": "model",
                        "created": int(service.create_date.timestamp()),
                        "owned_by": service.name,
                    }
                    for model, service in models
                ],
            }
        )


def stream_error(error, chat):
    """A failure after the first event, as OpenAI's streams say it: a chat
    chunk holding an error, a Responses API ``error`` event."""
    if chat:
        return openai_error(str(error), "upstream_error", error.error_code)
    return {"type": "error", "code": error.error_code, "message": str(error)}


def sse_event(event, chat):
    """One server-sent event: chat chunks as data only, Responses API events
    named by their type, as OpenAI sends them."""
    data = json.dumps(event, separators=(",", ":"))
    if chat or "type" not in event:
        return f"data: {data}\n\n".encode()
    return f"event: {event['type']}\ndata: {data}\n\n".encode()
