from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import AiUsageCase

PARAMS = "ir.config_parameter"


@tagged("post_install", "-at_install")
class TestSettings(AiUsageCase):
    def save(self, **values):
        settings = self.env["res.config.settings"].create(values)
        settings.execute()
        return settings

    def test_settings_are_the_system_parameters(self):
        self.save(
            ai_usage_retention_days=90,
            ai_usage_alert_error_rate=12.5,
            ai_usage_alert_min_calls=4,
            ai_usage_alert_spike_factor=2.5,
            ai_usage_interrupted_margin=120,
        )
        params = self.env[PARAMS]
        self.assertEqual(params.get_param("ai_usage_log.retention_days"), "90")
        self.assertEqual(
            params.get_param("ai_usage_log.alert_error_rate_percent"), "12.5"
        )
        self.assertEqual(
            params.get_param("ai_usage_log.interrupted_margin_seconds"), "120"
        )
        # what the add-on reads is what Settings wrote
        alerts = self.env["ai.usage.alert"]
        self.assertEqual(alerts._param(("ai_usage_log.alert_min_calls", 10)), 4)
        self.assertEqual(
            alerts._param(("ai_usage_log.alert_token_spike_factor", 3.0)), 2.5
        )
        # and Settings shows the parameters as they are
        params.set_param("ai_usage_log.retention_days", "7")
        self.assertEqual(
            self.env["res.config.settings"].create({}).ai_usage_retention_days, 7
        )

    def test_invalid_values_are_refused_and_change_nothing(self):
        self.save(ai_usage_retention_days=30)
        for values, message in (
            ({"ai_usage_retention_days": -1}, "negative"),
            ({"ai_usage_interrupted_margin": -5}, "negative"),
            ({"ai_usage_alert_spike_factor": 0.5}, "1 or more"),
            ({"ai_usage_alert_error_rate": 150}, "0 to 100"),
            ({"ai_usage_otel_endpoint": "collector:4318"}, "http"),
        ):
            with (
                self.subTest(values=values),
                self.assertRaisesRegex(ValidationError, message),
            ):
                self.save(**values)
        self.assertEqual(
            self.env[PARAMS].get_param("ai_usage_log.retention_days"), "30"
        )

    def test_metrics_token_is_generated_shown_once_rotated_and_revoked(self):
        settings = self.env["res.config.settings"].create({})
        shown = settings.action_ai_usage_new_metrics_token()
        token = self.env[PARAMS].get_param("ai_usage_log.metrics_token")
        self.assertGreaterEqual(len(token), 40)
        self.assertIn(token, shown["params"]["message"])
        self.assertTrue(
            self.env["res.config.settings"].create({}).ai_usage_metrics_enabled
        )
        settings.action_ai_usage_new_metrics_token()
        rotated = self.env[PARAMS].get_param("ai_usage_log.metrics_token")
        self.assertNotEqual(rotated, token)
        settings.action_ai_usage_revoke_metrics_token()
        self.assertFalse(self.env[PARAMS].get_param("ai_usage_log.metrics_token"))
        self.assertFalse(
            self.env["res.config.settings"].create({}).ai_usage_metrics_enabled
        )

    def test_only_administrators_touch_the_token(self):
        ai_admin = new_test_user(
            self.env,
            login="ai_admin_not_system",
            groups="base.group_user,ai_usage_log.group_ai_usage_admin",
        )
        settings = self.env["res.config.settings"].create({})
        with self.assertRaises(AccessError):
            settings.with_user(ai_admin).action_ai_usage_new_metrics_token()
        with self.assertRaises(AccessError):
            settings.with_user(ai_admin).action_ai_usage_revoke_metrics_token()
