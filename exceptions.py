"""The errors the add-on raises to its callers, in one place."""

from odoo.exceptions import UserError


class AiCallError(UserError):
    """OpenAI (or the network to it) failed the call; the call is logged.
    ``error_code``: as the log's (``connection_error``, ``invalid_api_key``...);
    ``log_id``: the log of the call, when it was recorded."""

    def __init__(self, message, error_code=None, http_status=None, log_id=None):
        super().__init__(message)
        self.error_code = error_code
        self.http_status = http_status
        self.log_id = log_id


class AiCallRefused(UserError):
    """A rate limit or a hard budget refused the call before it was sent;
    ``error_code``: ``rate_limited`` or ``budget_exceeded``."""

    def __init__(self, message, error_code="budget_exceeded"):
        super().__init__(message)
        self.error_code = error_code


class AiPayloadTooLarge(UserError):
    """A file sent for analysis is larger than OpenAI accepts."""
