"""Every public method of every model of the add-on, abstract ones too,
called over JSON-RPC by a plain AI user, as a hostile or careless client
would: it works, or refuses with an error meant for a user (AccessError,
UserError, ValidationError, MissingError), never a programming error
(ValueError, TypeError, AttributeError...) that says the method was not
meant to be called so."""

import inspect

from odoo.tests import tagged

from ..compat import is_model_method
from .common import AiHttpCase, RpcRefused

ADDON = "odoo.addons.ai_usage_log."
USER_ERRORS = (
    "odoo.exceptions.AccessError",
    "odoo.exceptions.UserError",
    "odoo.exceptions.ValidationError",
    "odoo.exceptions.MissingError",
)
# What a client would pass for an argument of that name; anything else: "x".
ARGUMENTS = {
    "endpoint": "chat/completions",
    "method": "POST",
    "data": {"messages": [{"role": "user", "content": "hello"}]},
    "vals": {},
    "vals_list": [{}],
    "values": {},
    "transcript": "A short call.",
    "prompt": "What is on the picture?",
    "fields": [],
}


def addon_methods(env):
    """(model, method name, function) of each public method that a class of
    this add-on defines, on every model it defines or extends."""
    for model_name in sorted(env.registry):
        seen = set()
        for cls in type(env[model_name]).__mro__:
            if not cls.__module__.startswith(ADDON):
                continue
            for name, function in vars(cls).items():
                if (
                    name.startswith("_")
                    or name in seen
                    or not callable(function)
                    or getattr(function, "_api_private", False)
                ):
                    continue
                seen.add(name)
                yield model_name, name, function


@tagged("post_install", "-at_install")
class TestRpcSurface(AiHttpCase):
    login = "ai_surface_user"

    def test_every_public_method_answers_a_plain_user_over_rpc(self):
        methods = list(addon_methods(self.env))
        self.assertGreater(len(methods), 20, "the add-on's public methods are found")
        # a log of the user's own, so that record methods get a record
        self.rpc(
            "ai.service",
            "make_openai_api_call",
            [self.service.ids, "chat/completions"],
            {"data": ARGUMENTS["data"]},
        )
        access = self.env["ir.model.access"].with_user(self.user)
        tried = set()
        for model_name, name, function in methods:
            model = self.env[model_name]
            if not model._abstract and not access.check(
                model_name, "read", raise_exception=False
            ):
                continue  # the rule is for those who can read the model
            parameters = [
                parameter
                for parameter in list(inspect.signature(function).parameters.values())[
                    1:
                ]
                if parameter.default is inspect.Parameter.empty
                and parameter.kind
                in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
            ]
            args = [ARGUMENTS.get(parameter.name, "x") for parameter in parameters]
            if not is_model_method(function):
                # a record method gets a record the user can see, if any
                records = (
                    model.browse()  # an abstract model has no records
                    if model._abstract
                    else model.with_user(self.user).search([], limit=1)
                )
                if model_name == "ai.service":
                    records = self.service
                if not records:
                    continue
                args.insert(0, records.ids)
            with self.subTest(model=model_name, method=name):
                try:
                    self.rpc(model_name, name, args)
                except RpcRefused as refused:
                    error = str(refused).split(":", 1)[0]
                    self.assertIn(error, USER_ERRORS, str(refused))
            tried.add(f"{model_name}.{name}")
        # the entry points a client uses are among them
        for expected in (
            "ai.service.make_openai_api_call",
            "ai.service.make_api_call",
            "ai.service.generate_summary",
            "ai.service.action_test_connection",
            "ai.usage.dashboard.get_dashboard_data",
        ):
            self.assertIn(expected, tried)
        # the helpers are ai.service's own, not models that fail alone
        self.assertNotIn("ai.service.calls", self.env.registry)
        self.assertNotIn("ai.service.helpers", self.env.registry)
