"""What a caller may say about a call, in one list with one check: the rest
of a log is measured by the call machinery."""

from odoo.exceptions import UserError

# attribution a caller did not give is recorded as unknown, never dropped
ATTRIBUTION_FIELDS = ("location_id", "message_id", "contact_id", "conversation_id")
# what the caller of a call gives with it, and a key of its own to send it with
CALL_OPTIONS = frozenset(
    (*ATTRIBUTION_FIELDS, "request_type", "partner_id", "metadata", "custom_api_key")
)
# what a log's start takes: the caller's options but its key, and what the
# call machinery adds
CALLER_FIELDS = (CALL_OPTIONS - {"custom_api_key"}) | {
    "endpoint",
    "model",
    "is_stream",
    "is_batch",
}


def check_caller_values(env, values, allowed):
    """Raise UserError naming what a caller gave beyond ``allowed``
    (CALL_OPTIONS or CALLER_FIELDS), before anything is sent or written."""
    unknown = set(values) - allowed
    if unknown:
        raise UserError(
            env._(
                "A call cannot be given %(unknown)s; it takes: %(allowed)s.",
                unknown=", ".join(sorted(unknown)),
                allowed=", ".join(sorted(allowed)),
            )
        )
