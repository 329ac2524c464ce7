"""The web client actions the add-on's buttons answer with, built in one
place: a notification, and the Usage Logs list of some logs."""


def notification(title, message, kind, sticky=False, reload=False):
    """A notification the web client shows; ``sticky`` when it lists or
    holds something to read (a once-shown token, what was added), else it
    passes; ``reload``: the screen behind it shows the new figures."""
    params = {"title": title, "message": message, "type": kind, "sticky": sticky}
    if reload:
        params["next"] = {"type": "ir.actions.client", "tag": "soft_reload"}
    return {
        "type": "ir.actions.client",
        "tag": "display_notification",
        "params": params,
    }


def logs_action(env, domain, name=None, context=None):
    """The Usage Logs list of the logs of ``domain``, titled ``name``."""
    action = env["ir.actions.act_window"]._for_xml_id(
        "ai_usage_log.action_ai_usage_log"
    )
    action.update(domain=domain, context=context or {})
    if name:
        action["name"] = name
    return action
