from . import ai_usage_cached_config
from . import ai_model_price
from . import ai_service
from . import ai_usage_budget
from . import ai_usage_alert
from . import ai_usage_log
from . import ai_usage_log_daily
from . import ai_usage_log_total
