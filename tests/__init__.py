from . import test_usage_parsing
from . import test_make_call
from . import test_ensure_usage_logging
from . import test_cost
from . import test_security
from . import test_durability
from . import test_concurrency
from . import test_streaming
