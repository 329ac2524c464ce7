"""The output and error files of an OpenAI Batch API job: one JSON object
per line, the API reference's BatchRequestOutput
(``{"id", "custom_id", "response": {"status_code", "request_id", "body"},
"error"}``), successes in the output file, failures in the error file.
No Odoo in here."""

import json
from dataclasses import dataclass

from .http_client import extract_error


class BatchOutputError(ValueError):
    """A batch file that is not what the Batch API writes."""


@dataclass(frozen=True)
class BatchResult:
    request_id: str  # batch_req_..., the line's own id
    custom_id: str  # the caller's id of the request
    status_code: int | None
    body: dict  # the response the request would have had
    error_code: str | None = None
    error_message: str | None = None

    @property
    def succeeded(self):
        return self.error_code is None


def read_results(*files):
    """[BatchResult] of the lines of a batch's output and error files
    (texts; None for a file the batch does not have)."""
    results = []
    for text in files:
        for number, line in enumerate((text or "").splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                raise BatchOutputError(f"line {number} is not JSON") from None
            if not isinstance(item, dict) or "custom_id" not in item:
                raise BatchOutputError(f"line {number} is not a batch request output")
            response = item.get("response") or {}
            body = response.get("body")
            body = body if isinstance(body, dict) else {}
            status = response.get("status_code")
            code = message = None
            if item.get("error") or not response or (status or 0) >= 400:
                code, message = extract_error(
                    {"error": item["error"]} if item.get("error") else body, status
                )
            results.append(
                BatchResult(
                    request_id=item.get("id") or "",
                    custom_id=str(item["custom_id"]),
                    status_code=status,
                    body=body,
                    error_code=code,
                    error_message=message,
                )
            )
    return results
