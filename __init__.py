from . import controllers
from . import models
from . import tools


def uninstall_hook(env):
    """Logs keep their service from being deleted (ondelete restrict); on
    uninstall everything goes, so the logs go first."""
    env.cr.execute("DELETE FROM ai_usage_log")
