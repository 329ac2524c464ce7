from . import test_usage_parsing
from . import test_make_call
from . import test_ensure_usage_logging
from . import test_cost
from . import test_security
