from datetime import UTC, datetime

from odoo import api, fields, models

from ..tools.pricing import pricing_inputs
from ..tools.redaction import redact_secrets
from ..tools.usage import UsageError, extract_response_info, extract_usage


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
            info = extract_response_info(result.body)
            vals.update({k: v for k, v in info.items() if v})
            if not result.succeeded:
                vals.update(
                    status="failed",
                    error_code=result.error_code,
                    error_message=redact_secrets(result.error_message, secrets),
                    usage_state="missing",
                )
                vals_list.append(vals)
                continue
            try:
                usage = extract_usage(result.body)
            except UsageError as error:
                usage = None
                vals.update(error_code="usage_invalid", error_message=str(error))
            model_name = vals.get("response_model") or vals["model"]
            call_inputs = dict(inputs, service_tier=vals.get("service_tier"))
            vals["status"] = "success"
            vals.update(self._usage_vals(usage, model_name, call_inputs))
            vals_list.append(vals)
        created = logs.create(vals_list)
        unpriced = created.filtered(lambda log: log.price_missing)
        if unpriced:
            unpriced._clear_cost()
        return created
