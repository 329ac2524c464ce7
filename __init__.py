from . import controllers
from . import models
from . import tools
from . import captured_calls

# Process-wide, on import (whatever loads the add-on: the server, a test
# runner): each request is then decided by its database (captured_calls).
tools.capture.install(captured_calls.open_captured)


def uninstall_hook(env):
    """Logs keep their service from being deleted (ondelete restrict); on
    uninstall everything goes, so the logs go first."""
    env.cr.execute("DELETE FROM ai_usage_log")
