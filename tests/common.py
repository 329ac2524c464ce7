import json
import threading
import unittest
from unittest.mock import patch
from urllib.parse import urlsplit

from odoo import Command, api
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, HttpCase, TransactionCase, new_test_user
from odoo.tests.common import _super_send, get_db_name
from odoo.tools import mute_logger

from ..compat import enter_registry_test_mode
from .fake_openai import FakeOpenAI
from .fake_providers import PROVIDER_ROUTES

TEST_API_KEY = "sk-test-ABCDEF0123456789abcdef0123456789"

_fake_openai = None
_fake_openai_lock = threading.Lock()


def fake_openai():
    """The fake OpenAI server shared by the test run, started on first use;
    it fakes the other providers too."""
    global _fake_openai
    with _fake_openai_lock:
        if _fake_openai is None:
            _fake_openai = FakeOpenAI(routes=PROVIDER_ROUTES)
    return _fake_openai


def fast_retries():
    """Retry backoff of milliseconds, so retry tests run quickly."""
    return patch("odoo.addons.ai_usage_log.tools.http_client.RETRY_BACKOFF_BASE", 0.005)


class LocalTimeouts:
    """Odoo's test harness raises any timeout under 10 s to 10 s (and so
    refuses a (connect, read) pair): requests to the local fake servers keep
    the timeouts the add-on sets, which are under test. Other hosts stay
    blocked by Odoo."""

    @classmethod
    def _request_handler(cls, session, request, /, **kwargs):
        if urlsplit(request.url).hostname in ("127.0.0.1", "localhost"):
            return _super_send(session, request, **kwargs)
        return super()._request_handler(session, request, **kwargs)


class AiUsageCase(LocalTimeouts, TransactionCase):
    """Logs are written through their own cursor: in registry test mode that
    cursor is a TestCursor on the test transaction, as in Odoo's HttpCase."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        enter_registry_test_mode(cls)
        cls.fake = fake_openai()
        cls.startClassPatcher(fast_retries())
        cls.company = cls.env.company
        cls.service = cls.env["ai.service"].create(
            {
                "name": "Test OpenAI",
                "api_base_url": cls.fake.url,
                "api_key": TEST_API_KEY,
                "default_model": "gpt-4o-mini",
                "timeout": 20,
                "max_retries": 2,
                "company_id": cls.company.id,
            }
        )
        cls.user = new_test_user(
            cls.env,
            login="ai_user",
            groups="base.group_user,ai_usage_log.group_ai_usage_user",
        )
        cls.other_user = new_test_user(
            cls.env,
            login="ai_user2",
            groups="base.group_user,ai_usage_log.group_ai_usage_user",
        )
        cls.admin = new_test_user(
            cls.env,
            login="ai_admin",
            groups="base.group_user,base.group_allow_export,ai_usage_log.group_ai_usage_admin",
        )
        cls.Log = cls.env["ai.usage.log"]

    def setUp(self):
        super().setUp()
        self.fake.reset()

    def assertCallFails(self, pattern=""):
        """assertRaisesRegex(UserError) without the savepoint rollback of
        Odoo's version: in production the failed call's log lives in its own
        committed transaction, which no rollback of the caller undoes; here
        it lives in the test transaction, so it must not be rolled back."""
        return unittest.TestCase.assertRaisesRegex(self, UserError, pattern)

    def logs(self, service=None):
        """The logs of a service, newest first, read afresh."""
        self.env.invalidate_all()
        return self.Log.search(
            [("service_id", "=", (service or self.service).id)], order="id desc"
        )

    def last_log(self, service=None):
        return self.logs(service)[:1]


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def acquire(self, *args, **kwargs):
        return True

    def release(self):
        pass


class CommittedCase(LocalTimeouts, BaseCase):
    """Tests that need real, separate transactions (durability, concurrency).

    Each test works in cursors of its own that really commit, like Odoo
    workers do; the records it made are deleted afterwards."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Odoo's runner (odoo-bin --test-enable) holds the registry lock while
        # the tests run, and the threads of these tests open environments of
        # their own, which take it: they would wait forever. Registry test mode
        # lifts it the same way for HttpCase; the registry exists already.
        saved_lock = Registry._lock
        Registry._lock = _NoLock()
        cls.addClassCleanup(setattr, Registry, "_lock", saved_lock)
        cls.registry = Registry(get_db_name())
        cls.fake = fake_openai()
        cls.startClassPatcher(fast_retries())
        cls.created = []  # (model, id) to delete at the end, newest first
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            cls.company_ids = [env.ref("base.main_company").id]
            cls.service_ids = [
                cls._create(
                    env,
                    "ai.service",
                    {
                        "name": "Committed test service",
                        "api_base_url": cls.fake.url,
                        "api_key": TEST_API_KEY,
                        "timeout": 30,
                        "company_id": cls.company_ids[0],
                    },
                )
            ]
            second_company = cls._create(
                env, "res.company", {"name": "AI Second Company"}
            )
            cls.company_ids.append(second_company)
            cls.service_ids.append(
                cls._create(
                    env,
                    "ai.service",
                    {
                        "name": "Committed test service 2",
                        "api_base_url": cls.fake.url,
                        "api_key": TEST_API_KEY,
                        "timeout": 30,
                        "company_id": second_company,
                    },
                )
            )
            env.ref("base.user_admin").write(
                {"company_ids": [Command.link(second_company)]}
            )
        cls.addClassCleanup(cls._cleanup)

    @classmethod
    def _create(cls, env, model, vals):
        record_id = env[model].create(vals).id
        cls.created.insert(0, (model, record_id))
        return record_id

    @classmethod
    def _delete_logs(cls):
        with cls.registry.cursor() as cr:
            cr.execute(
                "DELETE FROM ai_usage_log WHERE service_id IN %s",
                [tuple(cls.service_ids)],
            )

    @classmethod
    def _cleanup(cls):
        cls._delete_logs()
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            env.ref("base.user_admin").write(
                {"company_ids": [Command.unlink(cls.company_ids[1])]}
            )
            for model, record_id in cls.created:
                try:
                    with cr.savepoint():
                        env[model].browse(record_id).unlink()
                except Exception:  # noqa: BLE001 - a company may be referenced; archive it then
                    env[model].browse(record_id).write({"active": False})

    def setUp(self):
        super().setUp()
        self.fake.reset()
        self.addCleanup(self._delete_logs)

    def env_for(self, cr, uid=None, company_id=None):
        context = {"allowed_company_ids": [company_id]} if company_id else {}
        return api.Environment(cr, uid or api.SUPERUSER_ID, context)

    def count_logs(self, service_id=None, **conditions):
        where = " AND ".join(
            ["service_id = %s"] + [f"{name} = %s" for name in conditions]
        )
        with self.registry.cursor() as cr:
            cr.execute(
                f"SELECT count(*) FROM ai_usage_log WHERE {where}",
                [service_id or self.service_ids[0], *conditions.values()],
            )
            return cr.fetchone()[0]


class RpcRefused(Exception):
    """Odoo answered an RPC call with an error."""


class AiHttpCase(LocalTimeouts, HttpCase):
    """Requests to a real Odoo HTTP server, with the only active AI service
    on the fake OpenAI server, an AI user (login = password = ``login``)
    and an AI administrator (``admin_login``, also a system administrator)."""

    login = "ai_http_user"
    admin_login = "ai_http_admin"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.fake = fake_openai()
        cls.startClassPatcher(fast_retries())
        cls.env["ai.service"].search([]).action_archive()
        cls.service = cls.env["ai.service"].create(
            {
                "name": "HTTP service",
                "api_base_url": cls.fake.url,
                "api_key": TEST_API_KEY,
            }
        )
        cls.user = new_test_user(
            cls.env,
            login=cls.login,
            groups="base.group_user,ai_usage_log.group_ai_usage_user",
        )
        cls.admin = new_test_user(
            cls.env,
            login=cls.admin_login,
            groups="base.group_user,base.group_system,ai_usage_log.group_ai_usage_admin",
        )

    def setUp(self):
        super().setUp()
        self.fake.reset()

    def logs(self):
        self.env.invalidate_all()
        return self.env["ai.usage.log"].search([("service_id", "=", self.service.id)])

    def rpc(self, model, method, args=(), kwargs=None, login=None):
        """Call ``method`` through /web/dataset/call_kw as ``login`` (this
        case's user by default); return its result, or raise RpcRefused with
        Odoo's error name and message."""
        login = login or self.login
        self.authenticate(login, login)
        params = {
            "model": model,
            "method": method,
            "args": list(args),
            "kwargs": kwargs or {},
        }
        with mute_logger("odoo.http"):
            response = self.url_open(
                "/web/dataset/call_kw",
                data=json.dumps({"jsonrpc": "2.0", "method": "call", "params": params}),
                headers={"Content-Type": "application/json"},
            )
        answer = response.json()
        if "error" in answer:
            data = answer["error"]["data"]
            raise RpcRefused(f"{data['name']}: {data['message']}")
        return answer["result"]
