"""Fallbacks between AI services: a service's ordered backups
(ai.service.fallback), and the chain a call runs through them when the
service is out (tools.fallbacks says what an outage is). Every attempt is a
log of its own, linked to the chain's first; a superseded attempt is logged
as fell back, which no call count nor error rate counts."""

import logging

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..exceptions import AiCallError
from ..recorder import SdkCall
from ..rights import ADMIN_GROUP
from ..tools import fallbacks
from ..tools.providers import OPENAI_DIALECT

_logger = logging.getLogger(__name__)


class AiServiceFallback(models.Model):
    _name = "ai.service.fallback"
    _description = "AI Service Fallback"
    _order = "service_id, sequence, id"

    service_id = fields.Many2one(
        "ai.service", required=True, ondelete="cascade", index=True
    )
    sequence = fields.Integer(default=10)
    company_id = fields.Many2one(related="service_id.company_id")
    backup_id = fields.Many2one(
        "ai.service",
        "Backup Service",
        required=True,
        ondelete="cascade",
        domain="[('id', '!=', service_id), ('company_id', '=', company_id),"
        " ('is_captured', '=', False)]",
        help="Takes the call when the services before it are out (5xx, 529, "
        "429 after the retries, no connection, a timeout).",
    )
    model = fields.Char(
        "Model on the Backup",
        help="The model the backup is asked for. Empty: the model of the call "
        "(the backup's default when the call names none).",
    )
    model_map = fields.Text(
        help="One line per model: 'requested model = backup model'. It wins over "
        "the model above for the models it names.",
    )

    @api.constrains("service_id", "backup_id")
    def _check_backup(self):
        for line in self:
            service, backup = line.service_id, line.backup_id
            if backup == service:
                raise ValidationError(
                    self.env._("%s cannot be its own backup.", service.name)
                )
            if backup.company_id != service.company_id:
                raise ValidationError(
                    self.env._(
                        "The backup %(backup)s belongs to another company than "
                        "%(service)s.",
                        backup=backup.name,
                        service=service.name,
                    )
                )
            if backup.is_captured or service.is_captured:
                raise ValidationError(
                    self.env._(
                        "Captured calls are someone else's code: they never fall back."
                    )
                )
            mine, theirs = service._provider(), backup._provider()
            if mine.code != theirs.code and not (
                mine.speaks_openai and theirs.speaks_openai
            ):
                raise ValidationError(
                    self.env._(
                        "%(backup)s (%(theirs)s) cannot take the calls of "
                        "%(service)s (%(mine)s): a backup needs the same provider, "
                        "or both must have the OpenAI API.",
                        backup=backup.name,
                        theirs=theirs.label,
                        service=service.name,
                        mine=mine.label,
                    )
                )

    @api.constrains("model_map")
    def _check_model_map(self):
        for line in self:
            try:
                fallbacks.parse_model_map(line.model_map)
            except ValueError as error:
                raise ValidationError(
                    self.env._(
                        "The model map takes lines 'requested model = backup model'; "
                        "not %s.",
                        error,
                    )
                ) from None

    def _model_for(self, asked, named):
        """The model this backup is asked for (None: its default), of a call
        that asked its service for ``asked`` and named ``named`` itself."""
        self.ensure_one()
        return fallbacks.backup_model(
            asked, fallbacks.parse_model_map(self.model_map), self.model, named
        )


class AiService(models.Model):
    _inherit = "ai.service"

    fallback_ids = fields.One2many(
        "ai.service.fallback",
        "service_id",
        "Fallbacks",
        groups=ADMIN_GROUP,
        help="The services that take a call, in order, when this one is out.",
    )

    def _fallback_attempts(self, dialect, endpoint, method, data, stream=False):
        """The requests of a call's chain: [(service, dialect, endpoint, body,
        model)], this service's first (``endpoint``, ``data``: as the caller
        gave them; UserError when this service refuses them), then each
        backup's that can take them, and the reasons of those skipped."""
        prepared = self._prepared_request(dialect, endpoint, method, data, stream)
        attempts, skipped = [(self, dialect, *prepared)], []
        shape = fallbacks.request_shape(self._provider(), dialect)
        asked = prepared[2]
        named = self._provider().request_model(endpoint.strip("/"), data, dialect)
        named = named if isinstance(named, str) and named else None
        for line in self.sudo().fallback_ids:
            backup = line.backup_id.with_env(self.env)
            backup_dialect = fallbacks.backup_dialect(shape, backup._provider())
            if not backup.active or backup_dialect is None:
                skipped.append(
                    self.env._(
                        "%(backup)s skipped: %(why)s",
                        backup=backup.name,
                        why=self.env._("archived")
                        if not backup.active
                        else self.env._("it cannot take this request shape"),
                    )
                )
                continue
            backup_endpoint, backup_data = fallbacks.with_model(
                backup._provider(),
                backup_dialect,
                endpoint,
                data,
                line._model_for(asked, named),
            )
            try:
                request = backup._prepared_request(
                    backup_dialect, backup_endpoint, method, backup_data, stream
                )
            except UserError as error:
                skipped.append(
                    self.env._(
                        "%(backup)s skipped: %(why)s", backup=backup.name, why=error
                    )
                )
                continue
            attempts.append((backup, backup_dialect, *request))
        return attempts, skipped

    def _prepared_request(self, dialect, endpoint, method, data, stream):
        """(endpoint, body, model) of a request as this service sends it."""
        endpoint, method, body = self._validate_request(
            endpoint, method, data, dialect, stream=stream
        )
        if stream:
            endpoint, body = self._provider().streaming(endpoint, body, dialect)
        model = self._provider().request_model(endpoint, body, dialect)
        return endpoint, body, model

    def _through_fallbacks(self, attempts, skipped, custom_api_key, options, send):
        """Run ``send(service, dialect, endpoint, body, recorder, key)`` (it
        owns the recorder: ``with`` it) on each attempt until one does not
        fail with an outage; return what it returns. A refusal by a limit
        (AiCallRefused) or a failure that is no outage ends the chain."""
        if custom_api_key:
            # the caller pays with its own key: a backup would spend the
            # company's instead
            attempts, skipped = attempts[:1], []
        failures, first_log = [], None
        for number, (service, dialect, endpoint, body, model) in enumerate(attempts):
            measured = (
                {"fallback_of_id": first_log.id, "fallback_attempt": number}
                if number and first_log
                else None
            )
            key = custom_api_key if number == 0 else None
            recorder = service._recorded_call(
                key,
                body,
                measured=measured,
                endpoint=endpoint,
                model=model,
                **options,
            )
            recorder.falls_back = number + 1 < len(attempts)
            try:
                return send(service, dialect, endpoint, body, recorder, key)
            except AiCallError as error:
                failures.append((service, error))
                if not recorder.fell_back:
                    raise self._chain_error(failures, skipped) from None
            finally:
                first_log = first_log or recorder.log
        raise AssertionError("the last attempt of a chain never falls back")

    def _chain_error(self, failures, skipped):
        """The one error of a chain: the only attempt's, or one naming each
        attempt's service and outcome (their messages have no key), with the
        last attempt's log."""
        last = failures[-1][1]
        outage = fallbacks.is_outage(last.error_code, last.http_status)
        if len(failures) == 1 and not (skipped and outage):
            return last
        for reason in skipped:
            _logger.warning("ai_usage_log: fallback of %s: %s", self.name, reason)
        lines = [
            self.env._(
                "%(number)s. %(service)s: %(message)s",
                number=number,
                service=service.name,
                message=str(error),
            )
            for number, (service, error) in enumerate(failures, 1)
        ]
        return AiCallError(
            self.env._(
                "Every service of the fallback chain of %(service)s failed:\n"
                "%(attempts)s",
                service=self.name,
                attempts="\n".join(lines + skipped),
            ),
            error_code=last.error_code,
            http_status=last.http_status,
            log_id=last.log_id,
        )

    # ------------------------------------------------------------------
    # openai_client: the transport reroutes the SDK's last attempt
    # ------------------------------------------------------------------
    def _sdk_backup_calls(self, method, endpoint, body, headers):
        """The backups' requests of an SDK request that may fall back:
        [(backup service, url, headers, body)] (an OpenAI-shape request: the
        backups with the OpenAI API)."""
        if not isinstance(body, dict):
            return []  # a form (an upload) is not rerouted
        try:
            attempts, _skipped = self._fallback_attempts(
                OPENAI_DIALECT, endpoint, method, body
            )
        except UserError:
            return []
        requests = []
        for backup, dialect, backup_endpoint, backup_body, model in attempts[1:]:
            provider = backup._provider()
            sent = {
                name: value
                for name, value in headers.items()
                if name.lower() in ("content-type", "accept")
            }
            sent.update(
                provider.headers(
                    backup.sudo().api_key, OPENAI_DIALECT, backup.api_version
                )
            )
            url = provider.url(
                backup.api_base_url,
                backup_endpoint,
                dialect,
                model=model,
                api_version=backup.api_version,
            )
            requests.append((backup, url, sent, backup_endpoint, backup_body))
        return requests

    def _sdk_reroute(self, call, start_values, method, backups):
        """Give ``call`` (recorder.SdkCall) the next backup of its chain, once
        it falls back: ``call.reroute()`` is (url, headers, body, its call)."""
        if not backups:
            return call
        call.recorder.falls_back = True
        first_log = call.first_log or call.recorder.log

        def reroute():
            backup, url, headers, endpoint, body = backups[0]
            measured = {
                "fallback_of_id": first_log.id if first_log else None,
                "fallback_attempt": call.attempt + 1,
            }
            following = SdkCall(
                backup,
                start_values,
                method,
                endpoint,
                body,
                None,
                measured={k: v for k, v in measured.items() if v},
            )
            following.attempt = call.attempt + 1
            following.first_log = first_log
            return (
                url,
                headers,
                body,
                self._sdk_reroute(following, start_values, method, backups[1:]),
            )

        call.reroute = reroute
        return call
