from . import ai_model_price
from . import ai_service
from . import ai_usage_log
