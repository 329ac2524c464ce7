"""The calls of code that never heard of this add-on, logged like its own:
tools.capture shows every outgoing request to ``open_captured``, which says
whether it is an AI call of a database that captures them, under which
service and on whose behalf, and returns the SDK transport's call object
(recorder.SdkCall) for it.

Which requests: those to the base URLs of the database's services, to the
hosts its administrator lists in Settings, and to the API of every provider
of the price catalogue (genai-prices' API patterns). Whose: the user and
company of the first frame of the stack that runs on an Odoo recordset, else
the thread's user; which module: the first frame under
``odoo.addons.<module>`` that is not this add-on's; which scheduled action:
the one ir.cron is running, if any."""

import contextlib
import contextvars
import re
import sys
import threading
from urllib.parse import urlsplit

from odoo import SUPERUSER_ID, api
from odoo.models import BaseModel

from .recorder import SdkCall
from .tools import price_catalogue
from .tools.tracked_transport import request_body

OWN_PACKAGE = __name__.rsplit(".", 1)[0]  # odoo.addons.ai_usage_log
CAPTURE_OFF_PARAM = "ai_usage_log.capture_off"  # set: nothing is captured
LOG_ONLY_PARAM = "ai_usage_log.capture_log_only"  # set: no limit refuses
HOSTS_PARAM = "ai_usage_log.capture_hosts"  # a host (or host:port) a line
# Google's pattern covers every googleapis.com API: only these are AI calls
GOOGLE_AI_HOSTS = re.compile(r"^(generativelanguage|[a-z0-9-]*aiplatform)\.")

_usage_context = contextvars.ContextVar("ai_usage_log_usage_context", default=None)


@contextlib.contextmanager
def usage_context(**values):
    """Every call made inside (captured, or through the add-on's helpers)
    carries these start values; nested blocks merge (the inner one wins,
    metadata merged key by key). A context variable: other threads, and
    the work that follows the block, do not see them."""
    outer = _usage_context.get() or {}
    merged = dict(outer, **values)
    if isinstance(values.get("metadata"), dict) and outer.get("metadata"):
        merged["metadata"] = dict(outer["metadata"], **values["metadata"])
    token = _usage_context.set(merged)
    try:
        yield
    finally:
        _usage_context.reset(token)


def context_values():
    """The start values of the usage_context() blocks around this code."""
    return dict(_usage_context.get() or {})


class Targets:
    """What a database captures: its services' base URLs (the longest
    first), its administrator's hosts, the catalogue's providers' APIs."""

    def __init__(self, services, hosts, enabled=True, enforce=True):
        self.services = sorted(services, key=lambda item: -len(item[0]))
        self.hosts = frozenset(hosts)
        self.enabled = enabled
        self.enforce = enforce

    def match(self, url):
        """(service id, catalogue provider id), either or both None, of a
        captured URL; None when the database does not capture it."""
        if not self.enabled:
            return None
        parts = urlsplit(url)
        bare = f"{parts.netloc}{parts.path}"
        for prefix, service_id in self.services:
            if bare == prefix or bare.startswith(prefix.rstrip("/") + "/"):
                return service_id, None
        provider = catalogue_provider_of(url)
        if provider:
            return None, provider
        if parts.netloc in self.hosts or parts.hostname in self.hosts:
            return None, None
        return None


def catalogue_provider_of(url):
    """The catalogue's provider whose API ``url`` is, or None."""
    provider = price_catalogue.api_provider(url)
    if provider == "google" and not GOOGLE_AI_HOSTS.match(urlsplit(url).netloc):
        return None
    return provider


_targets = {}  # dbname: (its caches' sequence, Targets)


def forget_targets(dbname):
    """The targets of ``dbname`` changed here (a service, a setting):
    other processes see it by Odoo's cache signaling."""
    _targets.pop(dbname, None)


def targets_of(registry):
    """The Targets of ``registry``'s database, read again once its caches
    were cleared (a service or a setting changed)."""
    sequence = registry.cache_sequences.get("default")
    known = _targets.get(registry.db_name)
    if known and known[0] == sequence:
        return known[1]
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        params = env["ir.config_parameter"]
        services = [
            (re.sub(r"^[a-z]+://", "", service.api_base_url.rstrip("/")), service.id)
            for service in env["ai.service"].search([("is_captured", "=", False)])
        ]
        targets = Targets(
            services,
            (params.get_param(HOSTS_PARAM) or "").split(),
            enabled=not params.get_param(CAPTURE_OFF_PARAM),
            enforce=not params.get_param(LOG_ONLY_PARAM),
        )
    _targets[registry.db_name] = (sequence, targets)
    return targets


def caller_of(frame):
    """(env or None, module or None, cron id or None) of the code that made
    a request, from the stack above ``frame``."""
    env = module = cron_id = None
    while frame is not None:
        name = frame.f_globals.get("__name__") or ""
        if (
            module is None
            and name.startswith("odoo.addons.")
            and not name.startswith(OWN_PACKAGE + ".")
        ):
            module = name.split(".")[2]
        code = frame.f_code
        if code.co_argcount and code.co_varnames[0] == "self":
            record = frame.f_locals.get("self")
            if isinstance(record, BaseModel):
                env = env or record.env
                # run by the scheduler, or by Run Manually
                if record._name == "ir.cron" and code.co_name in (
                    "_callback",
                    "method_direct_trigger",
                ):
                    cron_id = record.id
                    break
        frame = frame.f_back
    return env, module, cron_id


def request_key(headers, url):
    """The key a request was sent with (each provider's header, or Gemini's
    ``?key=``), or an empty string."""
    key = (
        headers.get("x-api-key")
        or headers.get("api-key")
        or headers.get("x-goog-api-key")
        or (headers.get("authorization") or "").removeprefix("Bearer ").strip()
    )
    if not key:
        found = re.search(r"[?&]key=([^&]+)", url)
        key = found.group(1) if found else ""
    return key


def key_hint(key):
    """A short fingerprint of a key, as providers show one (``sk-…abcd``):
    enough to tell keys apart, never the key."""
    return f"{key[:3]}…{key[-4:]}" if len(key) >= 12 else False


def _registry_of(dbname):
    from odoo.modules.registry import Registry

    registries = Registry.registries
    # Odoo's LRU has no get()
    registry = registries[dbname] if dbname in registries else None  # noqa: SIM401
    if registry is None or not registry.ready or "ai.usage.log" not in registry:
        return None  # a database without the add-on (or loading): no query
    return registry


def open_captured(method, url, headers, body):
    """tools.capture's opener: the call object of an AI request of a
    database that captures it, or None."""
    dbname = getattr(threading.current_thread(), "dbname", None)
    frame = sys._getframe(1)
    if not dbname:
        # a thread Odoo did not name (rare in a server: requests and crons
        # are): only the stack can tell its database
        env = caller_of(frame)[0]
        if env is None:
            return None
        dbname = env.cr.dbname
    registry = _registry_of(dbname)
    if registry is None:
        return None
    targets = targets_of(registry)
    found = targets.match(url)
    if found is None:
        return None
    env, module, cron_id = caller_of(frame)
    if env is not None and env.cr.dbname != dbname:
        env = None
    uid = env.uid if env else getattr(threading.current_thread(), "uid", None)
    company_id = env.company.id if env else None
    return CapturedCall(
        registry,
        uid or SUPERUSER_ID,
        company_id,
        found,
        (method, url, headers, body),
        {
            "is_captured": True,
            "source_module": module or False,
            "cron_id": cron_id or False,
            "api_key_hint": key_hint(request_key(headers, url)),
        },
        targets.enforce,
    )


class CapturedCall:
    """A captured request's SdkCall, in a cursor of its own (reads only, no
    transaction left open while the request is in flight) closed when the
    call ends."""

    def __init__(self, registry, uid, company_id, found, request, measured, enforce):
        method, url, headers, body = request
        self.cr = registry.cursor()
        try:
            context = {"allowed_company_ids": [company_id]} if company_id else {}
            env = api.Environment(self.cr, uid, context, su=True)
            service_id, catalogue_id = found
            service = (
                env["ai.service"].browse(service_id)
                if service_id
                else env["ai.service"]._captured_service(catalogue_id, url)
            )
            provider = service._provider()
            path = urlsplit(url).path
            base_path = urlsplit(service.api_base_url).path.rstrip("/")
            endpoint = provider.endpoint_of(path, base_path) or path.strip("/")
            parsed = request_body(headers.get("content-type") or "", body or b"")
            self.call = SdkCall(
                service,
                service._start_values(
                    **dict({"request_type": "other"}, **context_values())
                ),
                method,
                endpoint,
                parsed,
                # not sent by us: given so that no error text keeps it
                request_key(headers, url) or None,
                measured=measured,
                check_limits=enforce,
                model=provider.request_model(endpoint, parsed or {}, "native"),
            )
            # its own cursor (not the caller's), which only read: no
            # transaction left open while the request is in flight
            self.cr.commit()  # pylint: disable=invalid-commit
        except Exception:
            self.cr.close()
            raise
        self.answer = self.call.answer
        if self.answer is not None:
            self._release()

    def _release(self):
        # committed, not rolled back: in a test, the cursor is a savepoint
        # of the test's transaction, which the call's own writes are in
        try:
            self.cr.commit()  # pylint: disable=invalid-commit
        finally:
            self.cr.close()

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        try:
            return self.call.__exit__(kind, error, traceback)
        finally:
            if error is not None:
                self._release()

    def received(self, status, headers):
        self.call.received(status, headers)

    def chunk(self, data):
        self.call.chunk(data)

    def closed(self, complete, error):
        try:
            self.call.closed(complete, error)
        finally:
            self._release()
