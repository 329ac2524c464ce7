"""Who may run the public methods that spend the company key or write what
the logs say: every public method is callable over RPC, so they check."""

from odoo.exceptions import AccessError

ADMIN_GROUP = "ai_usage_log.group_ai_usage_admin"


def is_ai_admin(env):
    return env.su or env.user.has_group(ADMIN_GROUP)


def check_ai_admin(env, message):
    """Raise AccessError(``message``) unless ``env`` is an AI administrator's
    (or the superuser's)."""
    if not is_ai_admin(env):
        raise AccessError(message)
