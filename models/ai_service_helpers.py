from odoo import api, models
from odoo.exceptions import UserError

from ..exceptions import AiPayloadTooLarge
from ..tools import attachments
from ..tools.batch_output import BatchOutputError, read_results

SUMMARY_PROMPT = (
    "Summarise this call transcript for a CRM: the caller's request, decisions taken, "
    "follow-up actions with owners, and the caller's sentiment. Be concise."
)
# a batch in these states has written all it ever will
BATCH_ENDED = ("completed", "expired", "cancelled", "failed")


class AiService(models.Model):
    """The ready-made calls of ai.service (summaries, vision, Batch API
    results), built on its call pipeline."""

    _inherit = "ai.service"

    def generate_summary(
        self,
        message_id,
        contact_id,
        transcript,
        custom_prompt=None,
        custom_api_key=None,
        location_id=None,
    ):
        """Summarise a call transcript; return the summary text."""
        if not transcript or not str(transcript).strip():
            raise UserError(self.env._("There is no transcript to summarise."))
        return self._chat_answer(
            [
                {"role": "system", "content": custom_prompt or SUMMARY_PROMPT},
                {"role": "user", "content": str(transcript)},
            ],
            request_type="call_summary",
            message_id=message_id,
            contact_id=contact_id,
            location_id=location_id,
            custom_api_key=custom_api_key,
        )

    def analyze_image(
        self,
        prompt,
        image_url=None,
        image_base64=None,
        image_mime="image/png",
        pdf_base64=None,
        pdf_page=1,
        **attribution,
    ):
        """Ask the default model about one image (a URL or base64 data) or
        one page of a PDF (base64); return the answer text. Logged with
        request type vision_analysis; ``attribution``: the keywords of
        make_openai_api_call (message_id, contact_id, location_id...).
        A file over MAX_BYTES raises AiPayloadTooLarge."""
        if not prompt or not str(prompt).strip():
            raise UserError(self.env._("A prompt is needed to analyse an image."))
        try:
            attachment = attachments.content_part(
                image_url=image_url,
                image_base64=image_base64,
                image_mime=image_mime,
                pdf_base64=pdf_base64,
                pdf_page=pdf_page,
            )
        except attachments.AttachmentError as error:
            kind = AiPayloadTooLarge if error.too_large else UserError
            failure = kind(self._attachment_error_message(error))
            failure.field = error.field  # what an HTTP caller is told to fix
            raise failure from None
        return self._chat_answer(
            [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": str(prompt)}, attachment],
                }
            ],
            request_type="vision_analysis",
            **attribution,
        )

    def _attachment_error_message(self, error):
        _ = self.env._
        messages = {
            "one_source": _("Give exactly one of an image URL, an image or a PDF."),
            "bad_url": _("The image URL must be http(s) or a data URL."),
            "bad_mime": _("Unsupported image type %r.", error.values.get("mime")),
            "not_text": _("Base64 data must be text."),
            "not_base64": _("The file is not valid base64."),
            "too_large": _(
                "The file is larger than %s MB.", error.values.get("megabytes")
            ),
            "bad_pdf": _("The PDF cannot be read."),
            "no_page": _(
                "The PDF has no page %(page)s (it has %(count)s).",
                page=error.values.get("page"),
                count=error.values.get("count"),
            ),
        }
        return messages[error.reason]

    def _chat_answer(self, messages, **call_options):
        """Send ``messages`` (chat completions messages) to the default model
        in the provider's request shape; return the answer text."""
        service = self._get_service()
        provider = service._provider()
        dialect, endpoint, body = provider.chat_request(service.default_model, messages)
        payload = service._json_call(dialect, endpoint, "POST", body, **call_options)
        return provider.answer_text(payload)

    @api.private
    def record_batch(self, batch_id, request_type="other", **attribution):
        """Log every request of the finished Batch API job ``batch_id`` (one
        log each, priced at the batch rate, its custom_id as message id) and
        return the logs. Python only; needs the openai package. Recording a
        batch twice returns the logs of the first time."""
        logs = self.env["ai.usage.log"].sudo().search([("batch_id", "=", batch_id)])
        if logs:
            return logs
        service = self._get_service()
        start_values = service._start_values(request_type=request_type, **attribution)
        client = service.openai_client(request_type=request_type, **attribution)
        batch = client.batches.retrieve(batch_id)
        if batch.status not in BATCH_ENDED:
            raise UserError(
                self.env._(
                    "Batch %(batch)s is %(status)s: record it once it has ended.",
                    batch=batch_id,
                    status=batch.status,
                )
            )
        files = [
            client.files.content(file_id).text
            for file_id in (batch.output_file_id, batch.error_file_id)
            if file_id
        ]
        try:
            results = read_results(*files)
        except BatchOutputError as error:
            raise UserError(
                self.env._("Batch %(batch)s: %(error)s", batch=batch_id, error=error)
            ) from None
        return self.env["ai.usage.log"]._record_batch(
            service, batch.model_dump(), results, start_values
        )
