from datetime import UTC, datetime

from odoo import api, fields, models

from ..tools.pricing import pricing_inputs
from ..tools.redaction import redact_secrets
from ..tools.usage import extract_response_info


class AiUsageLog(models.Model):
    """The logs of a finished Batch API job, written at once (one model
    split over files, as mail's models are)."""

    _inherit = "ai.usage.log"

    @api.model
    def _record_batch(self, service, batch, results, start_values):
        """Log each request of a finished Batch API job (``batch``: the
        Batch object as a dict; ``results``: its BatchResults), priced at
        the batch rate of the day it was created, with its custom_id as
        message id."""
        logs = self.sudo()
        started = datetime.fromtimestamp(batch["created_at"], UTC).replace(tzinfo=None)
        ended = batch.get("completed_at") or batch.get("failed_at")
        ended = (
            datetime.fromtimestamp(ended, UTC).replace(tzinfo=None)
            if ended
            else fields.Datetime.now()
        )
        inputs = pricing_inputs(started, service, service.company_id, is_batch=True)
        secrets = self._service_secrets(service.id)
        vals_list = []
        for result in results:
            vals = dict(
                start_values,
                service_id=service.id,
                provider=service.provider,
                company_id=service.company_id.id,
                endpoint=batch.get("endpoint", "").removeprefix("/v1/"),
                model=result.body.get("model") or batch.get("model") or False,
                message_id=result.custom_id,
                batch_id=batch["id"],
                is_batch=True,
                request_time=started,
                response_time=ended,
                duration_ms=int((ended - started).total_seconds() * 1000),
                http_status=result.status_code or 0,
            )
            if not result.succeeded:
                info = extract_response_info(result.body)
                vals.update({key: value for key, value in info.items() if value})
                vals.update(
                    status="failed",
                    error_code=result.error_code,
                    error_message=redact_secrets(result.error_message, secrets),
                    usage_state="missing",
                )
                vals_list.append(vals)
                continue
            # the response says what the batch line does not (its model...)
            start = dict(inputs, model=vals["model"])
            vals.update(self._success_vals(result.body, start))
            vals_list.append(vals)
        created = logs.create(vals_list)
        unpriced = created.filtered(lambda log: log.price_missing)
        if unpriced:
            unpriced._clear_cost()
        return created
